"""The audit chain: verifying it end to end, and reading the events the viewer's party may see
(its own officials' and users' acts, and every event of an order it is a party to)."""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from acsa.api import deps
from acsa.api.schemas import NO_CONTROL, PROBLEM_RESPONSES, AuditEventOut, Page, VerifyOut
from acsa.audit import service as audit
from acsa.audit.models import Event
from acsa.users.service import Viewer

router = APIRouter(prefix="/audit", tags=["audit"], responses=PROBLEM_RESPONSES)


def _event_out(e: Event) -> AuditEventOut:
    return AuditEventOut(seq=e.seq, at=e.at, party=e.party, actor=e.actor, action=e.action,
                         subject=e.subject, order_hash=e.order_hash,
                         payload=json.loads(e.payload), prev_hash=e.prev_hash, hash=e.hash)


@router.get("/verify", response_model=VerifyOut)
def verify(request: Request, viewer: Viewer = deps.ViewerDep) -> VerifyOut:
    """Recompute the whole hash chain (auditors, finance officials and administrators). A
    broken chain is still a 200, with ok=false, the first broken event and why."""
    if not (viewer.is_auditor or viewer.role == "finance" or viewer.is_admin):
        raise deps.Forbidden("only auditors, finance officials and administrators may verify "
                             "the audit chain")
    result = deps.run(request, audit.verify)
    return VerifyOut(events=result.events, head=result.head, ok=result.ok,
                     broken_at=result.broken_at, reason=result.reason)


@router.get("/events", response_model=Page[AuditEventOut])
def events(request: Request, viewer: Viewer = deps.ViewerDep,
           subject: str | None = Query(None, max_length=60, pattern=NO_CONTROL,
                                       description="An order number, or e.g. "
                                       "offset:PHJP-OFS-0001."),
           action: str | None = Query(None, max_length=40, pattern=NO_CONTROL,
                                      description="e.g. order.accepted"),
           order: Literal["asc", "desc"] = "asc",
           page: int = Query(1, ge=1, le=1_000_000),
           page_size: int = Query(50, ge=1, le=500)) -> Page[AuditEventOut]:
    """Audit events the viewer's party may read, oldest first, with the hash chain."""
    def go(s: Session) -> Page[AuditEventOut]:
        rows, count = audit.search_events(s, viewer_party=viewer.party, subject=subject,
                                          action=action, descending=order == "desc",
                                          offset=(page - 1) * page_size, limit=page_size)
        return Page[AuditEventOut](items=[_event_out(e) for e in rows], page=page,
                                   page_size=page_size, total=count)
    return deps.run(request, go)
