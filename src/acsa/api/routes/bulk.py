"""Bulk data over HTTP: exports of the viewer's party's orders, lines, settlements and book as
CSV or xlsx, the import template, and the import of orders from an uploaded file.

Exports are scoped inside their queries to the viewer's party (an agreement it is not a party
to is 404; its partners' internal fields are blank). An import is made in the signed-in
requesting official's own name: rows of another party are refused row by row, and orders go at
most to `requested` (the partner accepts them itself).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from typing import IO, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from acsa.agreements import service as agreements
from acsa.api import deps
from acsa.api.schemas import PROBLEM_RESPONSES, Identifier
from acsa.documents import bulk_export, bulk_format
from acsa.documents.bulk_check import Acting
from acsa.documents.bulk_import import import_orders
from acsa.users.service import Viewer

router = APIRouter(prefix="/bulk", tags=["bulk"], responses=PROBLEM_RESPONSES)

CHUNK = 64 * 1024
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FILE_RESPONSE: dict[int | str, dict[str, Any]] = {200: {
    "description": "The file.",
    "content": {"text/csv": {"schema": {"type": "string"}},
                MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}}


class ProblemOut(BaseModel):
    row: int
    column: str
    reason: str
    error: str
    order_ref: str


class OrderOutcomeOut(BaseModel):
    order_ref: str
    first_row: int
    last_row: int
    number: str | None
    state: str | None


class ImportReportOut(BaseModel):
    file: str
    status: Literal["imported", "partial", "refused", "checked"]
    all_or_nothing: bool
    dry_run: bool
    written: bool
    rows: int
    orders: int
    imported_count: int
    already_imported_count: int
    rejected_count: int
    problem_count: int
    imported: list[OrderOutcomeOut]
    already_imported: list[OrderOutcomeOut]
    rejected: list[OrderOutcomeOut]
    problems: list[ProblemOut]
    listed_at_most: int


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()


@router.get("/export/{what}", response_class=StreamingResponse, responses=FILE_RESPONSE)
def export(request: Request,
           what: Literal["orders", "lines", "settlements", "ledger"] = Path(
               description="orders (one row per order), lines, settlements, or ledger (the "
               "viewer's party's own book)"),
           viewer: Viewer = deps.ViewerDep,
           fmt: Literal["csv", "xlsx"] = Query("csv", alias="format"),
           agreement: Identifier | None = Query(None, description="Only this agreement."),
           date_from: dt.date | None = Query(None, description="From this date."),
           date_to: dt.date | None = Query(None, description="To this date (inclusive).")
           ) -> StreamingResponse:
    """Export a register of the viewer's party as CSV or xlsx (real numbers and dates, each
    amount with its currency's decimals). Written in one read-only transaction, then sent in
    chunks."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)

    def go(s: Session) -> None:
        code = agreements.get_for_party(s, agreement, viewer.party).code if agreement else None
        query = bulk_export.ExportQuery(party=viewer.party, agreement=code,
                                        date_from=date_from, date_to=date_to)
        bulk_export.export(s, what, fmt, spool, query)  # type: ignore[arg-type]
    try:
        deps.run(request, go)
    except BaseException:
        spool.close()
        raise
    name = f"acsa-{viewer.party}-{what}.{fmt}"
    return StreamingResponse(_chunks(spool), media_type=MEDIA[fmt],
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/import/template", response_class=Response, responses=FILE_RESPONSE)
def template(viewer: Viewer = deps.ViewerDep,
             fmt: Literal["csv", "xlsx"] = Query("csv", alias="format")) -> Response:
    """The import template: the header of every column and one example order."""
    return Response(bulk_format.template_bytes(fmt), media_type=MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="orders-template.{fmt}"'})


@router.post("/import/orders", response_model=ImportReportOut)
def import_file(request: Request, viewer: Viewer = deps.ViewerDep,
                file: UploadFile = File(..., description="A .csv (UTF-8) or .xlsx file in "
                                        "the layout of docs/import-format.md."),
                all_or_nothing: bool = Form(False, description="Import nothing if any row "
                                            "is bad."),
                dry_run: bool = Form(False, description="Check everything, write nothing.")
                ) -> ImportReportOut:
    """Import orders (drafts or requested) of the viewer's party, created and requested in the
    signed-in requesting official's name. Every bad row is reported (row, column, reason); an
    order with a bad row is not imported; orders imported before are reported as such."""
    official = deps.require_official(viewer, "import orders")
    if viewer.role != "requesting":
        raise deps.Forbidden(f"{official} is a{'n' if (viewer.role or 'x')[0] in 'aeiou' else ''}"
                             f" {viewer.role} official; importing orders needs a requesting "
                             "official", hint="Sign in as a requesting official of your party.")
    name = file.filename or "upload.csv"
    size = file.size if file.size is not None else 0
    report = import_orders(deps.engine_of(request), file.file, name=name, size=size,
                           all_or_nothing=all_or_nothing, dry_run=dry_run,
                           acting=Acting(party=viewer.party, official=official))
    return ImportReportOut.model_validate(report.to_dict())
