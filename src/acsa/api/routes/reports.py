"""Statements and reports as files for the viewer's party: the statement of account of its own
book against a partner, the ageing of its open claims, the register of an activity and its
annual report, each as PDF or xlsx (`?format=`), in English or English with Japanese or
Filipino (`?lang=`).

Scoped like the books routes: an agreement the viewer's party is not a party to, or an
activity that runs under none of its agreements, is 404 exactly like one that does not exist;
a statement is always from the viewer's own book, and the ageing and the register keep only
what the party is creditor or debtor, requester or supplier of.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from acsa.agreements import service as agreements
from acsa.api import deps
from acsa.api.routes.orders import today
from acsa.api.schemas import PROBLEM_RESPONSES, Identifier
from acsa.documents import reports
from acsa.users.service import Viewer

router = APIRouter(prefix="/reports", tags=["reports"], responses=PROBLEM_RESPONSES)

FormatParam = Literal["pdf", "xlsx"]
LangParam = Literal["en", "ja", "fil"]


def _document(what: str) -> dict[int | str, dict[str, Any]]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": f"The {what} as PDF or xlsx (`format`).",
                  "content": {media: binary for media in reports.MEDIA_TYPES.values()}}}


def _format() -> Any:
    return Query("pdf", alias="format", description="pdf or xlsx")


def _lang() -> Any:
    return Query("en", description="en (English), or English with ja (Japanese) or fil "
                 "(Filipino)")


def _as_of() -> Any:
    return Query(None, description="As of this date (default: today).")


def _file(content: bytes, fmt: str, name: str) -> Response:
    return Response(content, media_type=reports.MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


@router.get("/statement", response_class=Response, responses=_document("statement"))
def statement(request: Request, viewer: Viewer = deps.ViewerDep,
              agreement: Identifier = Query(..., description="The agreement."),
              as_of: dt.date | None = _as_of(),
              from_on: dt.date | None = Query(None, alias="from", description="Opening "
                                              "balance on this date (default: start of the "
                                              "party's fiscal year, or its first movement)."),
              currency: str | None = Query(None, pattern=r"^[A-Za-z]{3}$",
                                           description="Reporting currency (default: the "
                                           "party's own; given, a missing rate is refused)."),
              fmt: FormatParam = _format(), lang: LangParam = _lang()) -> Response:
    """Statement of account of the viewer's party's own book against its partner under the
    agreement: opening balance, each movement with its running balance, closing balance, and
    the balances in a reporting currency with the rates used."""
    date = as_of or today()

    def go(s: Session) -> tuple[bytes, str]:
        code = agreements.get_for_party(s, agreement, viewer.party).code
        return reports.statement_document(
            s, party=viewer.party, agreement=code, as_of=date, from_on=from_on,
            currency=currency.upper() if currency else None, fmt=fmt, lang=lang), code
    content, code = deps.run(request, go)
    return _file(content, fmt, f"statement-{code}-{viewer.party}-{date.isoformat()}")


@router.get("/ageing", response_class=Response, responses=_document("ageing"))
def ageing(request: Request, viewer: Viewer = deps.ViewerDep, as_of: dt.date | None = _as_of(),
           agreement: Identifier | None = Query(None, description="Only this agreement."),
           fmt: FormatParam = _format(), lang: LangParam = _lang()) -> Response:
    """Ageing of the viewer's party's open claims (owed to it or by it), with each claim's
    12-month and 18-month marks."""
    date = as_of or today()

    def go(s: Session) -> bytes:
        own = [a.code for _, a in agreements.list_for_party(s, viewer.party)]
        code = agreements.get_for_party(s, agreement, viewer.party).code if agreement else None
        return reports.ageing_document(s, as_of=date, agreement=code, party=viewer.party,
                                       agreement_codes=own, fmt=fmt, lang=lang)
    return _file(deps.run(request, go), fmt, f"ageing-{viewer.party}-{date.isoformat()}")


@router.get("/activities/{code}", response_class=Response,
            responses=_document("activity register"))
def activity(request: Request, code: Identifier, viewer: Viewer = deps.ViewerDep,
             fmt: FormatParam = _format(), lang: LangParam = _lang()) -> Response:
    """Register of an activity: the viewer's party's orders under its own agreements, with
    state and value, and totals by category and supplies vs services."""
    def go(s: Session) -> bytes:
        return reports.activity_document(s, code, viewer_party=viewer.party, fmt=fmt,
                                         lang=lang)
    return _file(deps.run(request, go), fmt, f"activity-{code}")


@router.get("/annual", response_class=Response, responses=_document("annual report"))
def annual(request: Request, viewer: Viewer = deps.ViewerDep,
           fiscal_year: int = Query(..., ge=1900, le=2200, description="The viewer's party's "
                                    "fiscal year."),
           agreement: Identifier | None = Query(None, description="Only this agreement."),
           fmt: FormatParam = _format(), lang: LangParam = _lang()) -> Response:
    """Annual report of the viewer's party's fiscal year: support provided and received by
    partner, category, activity and supplies vs services, with ceiling use."""
    def go(s: Session) -> bytes:
        code = agreements.get_for_party(s, agreement, viewer.party).code if agreement else None
        return reports.annual_document(s, party=viewer.party, fiscal_year=fiscal_year,
                                       agreement=code, fmt=fmt, lang=lang)
    return _file(deps.run(request, go), fmt, f"annual-{viewer.party}-FY{fiscal_year}")
