"""Audit packs over HTTP: the zip of one order or one activity as the viewer's party may see
it (its own orders only, nothing internal to the other party; 404 for anyone else's), built
in one read transaction, then streamed. The manifest's SHA-256 is sent in X-Manifest-SHA256
so the receiver can record what it was given."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from typing import IO, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from acsa.api import deps
from acsa.api.schemas import PROBLEM_RESPONSES
from acsa.audit import pack as packs
from acsa.users.service import Viewer

router = APIRouter(tags=["audit"], responses=PROBLEM_RESPONSES)

CHUNK = 256 * 1024
ZIP_RESPONSE: dict[int | str, dict[str, Any]] = {200: {
    "description": "The audit pack (zip): order forms, source documents, the event history "
                   "and a manifest of SHA-256 hashes. Check it with `acsa audit verify-pack`.",
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    "headers": {
        "Content-Disposition": {"schema": {"type": "string"},
                                "description": "attachment; the pack's file name"},
        "X-Manifest-SHA256": {"schema": {"type": "string"},
                              "description": "SHA-256 of the pack's manifest.json: record it "
                              "to identify this pack later"},
    }}}
Lang = Query("ja", description="The order forms' second language beside English: ja "
             "(Japanese) or fil (Filipino).")


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()


def _send(request: Request, viewer: Viewer, name: str, **scope: Any) -> StreamingResponse:
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)

    def go(s: Session) -> packs.PackSummary:
        return packs.write_pack(s, spool, viewer_party=viewer.party, user=viewer.username,
                                **scope)
    try:
        summary = deps.run(request, go)
    except BaseException:
        spool.close()
        raise
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return StreamingResponse(_chunks(spool), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="acsa-audit-pack-{safe}.zip"',
        "X-Manifest-SHA256": summary.manifest_sha256})


@router.get("/orders/{number}/audit-pack.zip", response_class=StreamingResponse,
            responses=ZIP_RESPONSE)
def order_audit_pack(number: str, request: Request, viewer: Viewer = deps.ViewerDep,
                     lang: Literal["ja", "fil"] = Lang) -> StreamingResponse:
    """The audit pack of one order of the viewer's party, verifiable offline."""
    return _send(request, viewer, number, order=number, lang=lang)


@router.get("/activities/{code}/audit-pack.zip", response_class=StreamingResponse,
            responses=ZIP_RESPONSE)
def activity_audit_pack(code: str, request: Request, viewer: Viewer = deps.ViewerDep,
                        lang: Literal["ja", "fil"] = Lang) -> StreamingResponse:
    """The audit pack of every order of the viewer's party under one activity (run under an
    agreement of that party), verifiable offline."""
    return _send(request, viewer, code, activity=code, lang=lang)
