"""The two-node sync of issue #6 as its node's people see it: `/sync` and a reconciliation
against a partner's signed summary file (`POST /sync/reconcile`).

For the node's own party's auditors, finance officials and administrators (as the audit
chain's verification). A shared database (no node party, `acsa.sync.node.own_party`) says so.
The figures are `acsa.sync.service.status`, `quarantine` and `conflicts`, as `acsa sync
status`; the reconciliation is `acsa.sync.reconcile` as `acsa reconcile --from FILE`: the file's
signature is checked against the partner's registered node key, our book is summarised as of
the file's date, and the months whose roots differ are compared order by order.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from acsa import errors
from acsa.agreements import service as agreements
from acsa.api import deps as api_deps
from acsa.sync import node
from acsa.sync import reconcile as rc
from acsa.sync import service as sync
from acsa.sync.models import Conflict, Quarantined
from acsa.users import service as users
from acsa.web import deps

router = APIRouter(include_in_schema=False)
SHOWN = 100  # quarantined events and conflicts shown, newest first
DIFFERENCES = 500  # differences shown of a reconciliation (all are counted)
MAX_SUMMARY = 64 * 1024 * 1024  # bytes of an uploaded summary file


def may_see(viewer: users.Viewer) -> bool:
    """As the audit chain's verification: auditors, finance officials and administrators."""
    return viewer.is_auditor or viewer.role == "finance" or viewer.is_admin


def _node_context(s: Session, p: deps.Page) -> dict[str, Any]:
    """Raises Forbidden for anyone but the node party's auditors, finance, administrators."""
    if not may_see(p.viewer):
        raise api_deps.Forbidden(
            "only auditors, finance officials and administrators see the node's sync")
    party = node.own_party(s)
    if party is None:
        return {"node": None}
    if party != p.viewer.party:
        raise api_deps.Forbidden(f"this is {party}'s node: only its own people see its sync")
    status = sync.status(s)
    quarantined = sync.quarantine(s, limit=SHOWN)
    conflicts = [{"subject": c.subject, "winner": c.winner, "loser": c.loser, "rule": c.rule,
                  "at": c.at.isoformat()}
                 for c in s.scalars(select(Conflict).order_by(Conflict.id.desc()).limit(SHOWN))]
    partners = sorted({p["party"] for p in status["partners"]}
                      | {q for _, a in agreements.list_for_party(s, party)
                         for q in a.parties if q != party})
    return {"node": party, "status": status, "quarantined": quarantined,
            "quarantined_count": s.scalar(select(func.count()).select_from(Quarantined)) or 0,
            "conflicts": conflicts, "partners": partners, "report": None,
            "report_error": None}


def _render(request: Request, p: deps.Page, build: Any, *, status: int = 200) -> Response:
    try:
        with api_deps.transaction(request, read_only=True) as s:
            context = build(s)
    except errors.AcsaError as e:
        return deps.respond_error(request, p, e)
    return deps.render(request, "sync.html", {"p": p, **context}, lang=p.lang, status=status)


@router.get("/sync")
def sync_page(request: Request) -> Response:
    p = deps.page(request)
    return _render(request, p, lambda s: _node_context(s, p))


def _agreement_between(s: Session, ours: str, partner: str, code: str) -> str:
    found = [a.code for _, a in agreements.list_agreements(s) if set(a.parties) == {ours, partner}]
    if code not in found:
        raise errors.InvalidInput(f"{code} is not an agreement between {ours} and {partner}",
                                  field="summary",
                                  hint=f"Agreements between them: {', '.join(found) or '-'}")
    return code


def reconcile_file(request: Request, raw: bytes) -> tuple[rc.Report, str]:
    """Our book against the partner's signed summary `raw` (its `acsa reconcile
    --export-summary FILE --for US`): the report and the partner."""
    doc = rc.loads(raw)
    if not isinstance(doc, dict) or not isinstance(doc.get("party"), str):
        raise errors.BundleInvalid("not a reconciliation summary")
    partner = doc["party"].upper()
    with api_deps.transaction(request, read_only=True) as s:
        ours = node.require_party(s)
        if partner == ours:
            raise errors.InvalidInput(f"the summary is {ours}'s own, not a partner's",
                                      field="summary")
        code = _agreement_between(s, ours, partner, str(doc.get("agreement") or ""))
        theirs = rc.verify(s, doc, party=partner, agreement=code, to=ours)
    try:
        on = dt.date.fromisoformat(str(theirs["as_of"]))
    except ValueError:
        raise errors.BundleInvalid(f"the summary's date {theirs['as_of']!r} is not a date"
                                   ) from None

    def ours_fetch(months: list[str] | None) -> dict[str, Any]:
        with api_deps.transaction(request, read_only=True) as s:
            rc.repeatable_read(s)
            return rc.summary(s, agreement=code, as_of=on, party_pair=(ours, partner),
                              months=months)
    return rc.reconcile(ours_fetch, lambda months: theirs), partner


def _reconcile(request: Request, csrf: str, raw: bytes | None) -> Response:
    p = deps.page(request)
    try:
        deps.check_csrf(csrf, p.csrf)
    except deps.CsrfRefused:
        return deps.render(request, "error.html", {"p": p, "csrf_refused": True},
                           lang=p.lang, status=403)
    with api_deps.transaction(request, read_only=True) as s:
        try:
            context = _node_context(s, p)
        except errors.AcsaError as e:
            return deps.respond_error(request, p, e)
    if context["node"] is None:
        return deps.render(request, "sync.html", {"p": p, **context}, lang=p.lang, status=409)
    try:
        if not raw:
            raise errors.InvalidInput("choose the partner's summary file", field="summary")
        if len(raw) > MAX_SUMMARY:
            raise errors.InvalidInput(f"the file is larger than {MAX_SUMMARY >> 20} MB",
                                      field="summary")
        report, partner = reconcile_file(request, raw)
    except errors.AcsaError as e:
        info = deps.refusal(e)
        if info["status"] >= 500:  # a bad signature or form: the file sent is at fault
            info["status"] = 422
        context["report_error"] = info
        return deps.render(request, "sync.html", {"p": p, **context}, lang=p.lang,
                           status=info["status"])
    context["report"] = report
    context["partner"] = partner
    context["differences"] = report.differences[:DIFFERENCES]
    return deps.render(request, "sync.html", {"p": p, **context}, lang=p.lang)


@router.post("/sync/reconcile")
async def reconcile(request: Request) -> Response:
    """Compare our book with the partner's summary file (one request: the file, then our
    book summarised as of its date)."""
    try:
        deps.page(request)
    except deps.NeedsSignIn as e:
        return deps.signin_redirect(e.next_path)
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get("summary")
    raw = await upload.read(MAX_SUMMARY + 1) if hasattr(upload, "read") else None
    return await run_in_threadpool(_reconcile, request, str(form.get("csrf_token") or ""), raw)
