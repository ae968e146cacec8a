"""Offsets as pages: the register of the party's offsets, the form a finance official proposes
one with (beside the open cash claims it would net), an offset's page, its approval by the
other party and its withdrawal by the proposing party.

Reads are scoped exactly as the API's (`search_offsets` and `find_offset` with `viewer_party`:
an offset between two other parties is 404, like one that does not exist). Proposal, approval
and withdrawal sign as the viewer's own official and call `settlement.propose_offset`,
`approve_offset` and `withdraw_offset`, which check the role, party, validity and separation
of duties; a refusal is shown on the page with the service's reason and the status the API
would give, and nothing is written. Every form carries the session's CSRF token.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from acsa import errors
from acsa.agreements import service as agreements
from acsa.agreements.domain import Agreement
from acsa.api import deps as api_deps
from acsa.api.routes.orders import today
from acsa.audit import service as audit
from acsa.orders.models import Order
from acsa.parties import service as parties
from acsa.parties.domain import Role, check_authority
from acsa.parties.models import Official
from acsa.settlement import service as settlement
from acsa.settlement.models import Claim, SettlementRecord
from acsa.web import deps, i18n
from acsa.web.labels import N_
from acsa.web.routes.pages import PAGE_SIZE, Pager

router = APIRouter(include_in_schema=False)
STATES = {"proposed": N_("proposed"), "approved": N_("approved"),
          "withdrawn": N_("withdrawn")}
DONE = {"propose": N_("The offset was proposed. Nothing is netted until the other party's "
                      "finance official approves it."),
        "approve": N_("The offset was approved: the claims it nets are reduced in both "
                      "parties' books."),
        "withdraw": N_("The offset was withdrawn. Nothing was netted, and the claims it named "
                       "can be settled again.")}
PREVIEW_ROWS = 50  # open cash claims shown per agreement and direction beside the form


# --- who may act ---------------------------------------------------------------------------
def _official(s: Session, p: deps.Page) -> Official | None:
    if p.viewer.is_auditor or not p.viewer.official:
        return None
    return parties.get_official(s, p.viewer.official)


def _is_finance_of(official: Official | None, party: str, on: dt.date) -> bool:
    """The finance official of `party`, with authority today: the check the services run
    first (`settlement._finance`); separation of duties is left to the service."""
    if official is None:
        return False
    try:
        check_authority(official_code=official.code, official_role=official.role,
                        official_party=official.party_code, valid_from=official.valid_from,
                        valid_to=official.valid_to, roles={Role.FINANCE}, party=party, on=on,
                        action="offset")
    except errors.AcsaError:
        return False
    return True


# --- the register and the proposal form ----------------------------------------------------
def _preview(s: Session, party: str, a: Agreement) -> dict[str, Any]:
    """The open cash claims under `a`, both ways, oldest first: what a proposal would net (up
    to the smaller side, converted at the agreement's rate), and a proposal still pending."""
    sides: dict[str, list[dict[str, Any]]] = {"owed_to_us": [], "we_owe": []}
    totals: dict[str, dict[str, int]] = {"owed_to_us": defaultdict(int),
                                         "we_owe": defaultdict(int)}
    more = {"owed_to_us": False, "we_owe": False}
    for side in sides:
        q = settlement.ClaimQuery(state="open", method="cash", agreement=a.code,
                                  creditor=party if side == "owed_to_us" else None,
                                  debtor=party if side == "we_owe" else None,
                                  sort="delivered_on")
        rows, count = settlement.search_claims(s, q, viewer_party=party, limit=PREVIEW_ROWS)
        more[side] = count > len(rows)
        numbers = dict(s.execute(select(Order.id, Order.number).where(
            Order.id.in_({c.order_id for c in rows}))).all()) if rows else {}
        for c in rows:
            left = settlement.outstanding(c).minor
            sides[side].append({"c": c, "left": left, "order": numbers.get(c.order_id, "")})
            totals[side][c.currency] += left
    pending, _ = settlement.search_offsets(s, viewer_party=party, agreement=a.code,
                                           state="proposed", limit=1)
    return {"a": a, "sides": sides, "more": more,
            "pending": pending[0].number if pending else None,
            "totals": {k: dict(sorted(v.items())) for k, v in totals.items()},
            "nettable": all(sides.values())}


def _approved_on(s: Session, ids: list[int]) -> dict[int, dt.date]:
    if not ids:
        return {}
    return dict(s.execute(select(SettlementRecord.offset_id, func.max(SettlementRecord.settled_on))
                          .where(SettlementRecord.offset_id.in_(ids))
                          .group_by(SettlementRecord.offset_id)).all())


def register_context(s: Session, p: deps.Page, request: Request,
                     form: dict[str, str] | None = None) -> dict[str, Any]:
    q = request.query_params
    f = {k: (q.get(k) or "").strip()[:60] for k in ("agreement", "state", "dir")}
    f["state"] = f["state"] if f["state"] in STATES else ""
    f["dir"] = f["dir"] if f["dir"] in ("asc", "desc") else "desc"
    try:
        page_no = max(1, min(int(q.get("page") or 1), 1_000_000))
    except ValueError:
        page_no = 1
    party, on = p.viewer.party, today()
    own = [a for _, a in agreements.list_for_party(s, party)]
    f["agreement"] = f["agreement"].upper() if f["agreement"].upper() in \
        {a.code for a in own} else ""
    rows, count = settlement.search_offsets(s, viewer_party=party,
                                            agreement=f["agreement"] or None,
                                            state=f["state"] or None,
                                            descending=f["dir"] == "desc",
                                            offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pager = Pager("/offsets", f, page_no, count, size=PAGE_SIZE)
    official = _official(s, p)
    may_propose = bool(own) and _is_finance_of(official, party, on)
    previews = [_preview(s, party, a) for a in own] if may_propose else []
    currencies = sorted({parties.get_party(s, x).currency for a in own for x in a.parties},
                        key=lambda c: (c != parties.get_party(s, party).currency, c))
    return {"f": f, "items": rows, "pg": pager, "agreements": own,
            "approved_on": _approved_on(s, [o.id for o in rows]),
            "dir_link": "/offsets?" + urlencode({**pager.base, "dir": "asc" if f["dir"] ==
                                                 "desc" else "desc"}),
            "may_propose": may_propose, "currencies": currencies, "today": on,
            "previews": previews, "offset_state": _state_word(p.lang),
            # the agreement chosen before, else the first with claims to net both ways
            "form": {"agreement": next((v["a"].code for v in previews
                                        if v["nettable"] and not v["pending"]), ""),
                     **(form or {})}}


def _state_word(lang: str) -> Any:
    return lambda key: i18n.gettext(lang, STATES[key]) if key in STATES else key


def _show_register(request: Request, p: deps.Page, *, error: dict[str, Any] | None = None,
                   status: int = 200, form: dict[str, str] | None = None) -> Response:
    with api_deps.transaction(request, read_only=True) as s:
        context = register_context(s, p, request, form)
        return deps.render(request, "offsets.html", {"p": p, "error": error, **context},
                           lang=p.lang, status=status)


@router.get("/offsets")
def register(request: Request) -> Response:
    return _show_register(request, deps.page(request))


# --- one offset ----------------------------------------------------------------------------
def offset_context(s: Session, p: deps.Page, number: str) -> dict[str, Any]:
    o = settlement.find_offset(s, number, viewer_party=p.viewer.party)
    claims = {c.id: c for c in s.scalars(select(Claim).where(
        Claim.id.in_([i.claim_id for i in o.items])).execution_options(populate_existing=True))}
    orders = dict(s.execute(select(Order.id, Order.number).where(
        Order.id.in_({c.order_id for c in claims.values()}))).all()) if claims else {}
    items = [{"i": i, "c": claims[i.claim_id], "order": orders.get(claims[i.claim_id].order_id),
              "left": settlement.outstanding(claims[i.claim_id]).minor,
              "rates": _rates(i.rate, claims[i.claim_id].currency, o.currency)}
             for i in o.items]
    officials = {x.id: x for x in s.scalars(select(Official).where(
        Official.id.in_([i for i in (o.proposed_by_id, o.approved_by_id) if i])))}
    events = audit.history(s, f"offset:{o.number}")
    payloads = {}
    for e in events:
        try:
            payloads[e.seq] = json.loads(e.payload)
        except ValueError:
            payloads[e.seq] = {}
    names = dict(s.execute(select(Official.code, Official.name).where(
        Official.code.in_({e.actor for e in events}))).all()) if events else {}
    on = today()
    return {"o": o, "items": items, "proposer": officials.get(o.proposed_by_id),
            "approver": officials.get(o.approved_by_id or 0),
            "approved_on": _approved_on(s, [o.id]).get(o.id), "events": events,
            "payloads": payloads, "names": names, "today": on,
            "may_approve": o.state == "proposed" and _is_finance_of(
                _official(s, p), o.approving_party, on),
            "may_withdraw": o.state == "proposed" and _is_finance_of(
                _official(s, p), o.proposing_party, on),
            "withdrawal": next((payloads[e.seq] for e in reversed(events)
                                if e.action == "offset.withdrawn"), None),
            "offset_state": _state_word(p.lang)}


def _rates(rate: str, claim_currency: str, offset_currency: str) -> tuple[str, str] | None:
    """The rate an item was valued at, both ways and rounded for reading (the exact rate is
    kept on the item and in the offset document): ("1 PHP = 2.67094 JPY", "1 JPY = 0.3744
    PHP"); None in the offset's own currency."""
    if claim_currency == offset_currency:
        return None
    exact = Decimal(rate)
    if exact <= 0:
        return None

    def short(value: Decimal) -> str:
        return format(value.quantize(Decimal("0.000001")).normalize(), "f")
    return (f"1 {claim_currency} = {short(exact)} {offset_currency}",
            f"1 {offset_currency} = {short(1 / exact)} {claim_currency}")


def _show(request: Request, p: deps.Page, number: str, *, error: dict[str, Any] | None = None,
          status: int = 200, done: str | None = None) -> Response:
    with api_deps.transaction(request, read_only=True) as s:
        try:
            context = offset_context(s, p, number)
        except errors.NotFound as e:
            return deps.respond_error(request, p, e, status=404)
        return deps.render(request, "offset.html", {
            "p": p, "error": error, "done": i18n.gettext(p.lang, DONE[done]) if done in DONE
            else None, **context}, lang=p.lang, status=status)


@router.get("/offsets/{number}")
def offset_page(number: str, request: Request, done: str | None = None) -> Response:
    return _show(request, deps.page(request), number, done=done)


# --- actions -------------------------------------------------------------------------------
def _text(form: FormData, key: str, limit: int) -> str:
    value = str(form.get(key) or "").strip()
    if len(value) > limit or "\x00" in value:
        raise errors.InvalidInput(f"{key}: at most {limit} characters", field=key)
    return value


def _on(form: FormData) -> dt.date:
    raw = _text(form, "on", 10)
    try:
        return dt.date.fromisoformat(raw) if raw else today()
    except ValueError:
        raise errors.InvalidInput(f"{raw!r} is not a date (YYYY-MM-DD)", field="on") from None


def _signed_in(request: Request, form: FormData) -> deps.Page | Response:
    """The user, with the form's CSRF token checked; else the response to send instead."""
    try:
        p = deps.page(request)
    except deps.NeedsSignIn as e:
        return deps.signin_redirect(e.next_path)
    try:
        deps.check_csrf(str(form.get("csrf_token") or ""), p.csrf)
    except deps.CsrfRefused:
        return deps.render(request, "error.html", {"p": p, "csrf_refused": True},
                           lang=p.lang, status=403)
    return p


def _propose(request: Request, form: FormData) -> Response:
    p = _signed_in(request, form)
    if isinstance(p, Response):
        return p
    kept = {k: str(form.get(k) or "")[:60] for k in ("agreement", "currency", "on")}
    try:
        by = api_deps.require_official(p.viewer, "propose an offset")
        code = _text(form, "agreement", 20)
        if not code:
            raise errors.InvalidInput("choose the agreement to offset under",
                                      field="agreement")
        currency = _text(form, "currency", 3).upper() or None
        on, note = _on(form), _text(form, "note", 2000)

        def go(s: Session) -> str:
            agreements.get_for_party(s, code, p.viewer.party)  # another's: not found
            return settlement.propose_offset(s, agreement_code=code, by=by, on=on,
                                             currency=currency, note=note).number
        number = api_deps.run(request, go)
    except errors.AcsaError as e:
        info = deps.refusal(e)
        return _show_register(request, p, error=info, status=info["status"], form=kept)
    return RedirectResponse(f"/offsets/{number}?done=propose", status_code=303)


def _approve(request: Request, form: FormData, number: str) -> Response:
    def act(s: Session, p: deps.Page) -> None:
        by, on = api_deps.require_official(p.viewer, "approve an offset"), _on(form)
        settlement.find_offset(s, number, viewer_party=p.viewer.party)  # 404 before 403
        settlement.approve_offset(s, number=number, by=by, on=on)
    return _act(request, form, number, "approve", act)


def _withdraw(request: Request, form: FormData, number: str) -> Response:
    def act(s: Session, p: deps.Page) -> None:
        by = api_deps.require_official(p.viewer, "withdraw an offset")
        on, reason = _on(form), _text(form, "reason", 2000)
        if not reason:
            raise errors.InvalidInput("say why the offset is withdrawn", field="reason")
        settlement.find_offset(s, number, viewer_party=p.viewer.party)  # 404 before 403
        settlement.withdraw_offset(s, number=number, by=by, on=on, reason=reason)
    return _act(request, form, number, "withdraw", act)


def _act(request: Request, form: FormData, number: str, done: str,
         act: Callable[[Session, deps.Page], None]) -> Response:
    """An action on the offset page: the user and CSRF checked, `act` run in one unit of
    work; a refusal is shown on the page (an offset the party may not see: 404), success
    redirects to the page with `done`."""
    p = _signed_in(request, form)
    if isinstance(p, Response):
        return p
    try:
        api_deps.run(request, lambda s: act(s, p))
    except errors.NotFound as e:
        return deps.respond_error(request, p, e, status=404)
    except errors.AcsaError as e:
        info = deps.refusal(e)
        return _show(request, p, number, error=info, status=info["status"])
    return RedirectResponse(f"/offsets/{number}?done={done}", status_code=303)


async def _with_form(request: Request, action: Callable[..., Response], *args: str
                     ) -> Response:
    """Read the posted form (no files, 20 fields at most), run `action(request, form, *args)`
    in the thread pool (it uses the database), and close the form whatever happens."""
    form = await request.form(max_files=0, max_fields=20)
    try:
        return await run_in_threadpool(action, request, form, *args)
    finally:
        await form.close()


@router.post("/offsets")
async def propose(request: Request) -> Response:
    return await _with_form(request, _propose)


@router.post("/offsets/{number}/approve")
async def approve(number: str, request: Request) -> Response:
    return await _with_form(request, _approve, number)


@router.post("/offsets/{number}/withdraw")
async def withdraw(number: str, request: Request) -> Response:
    return await _with_form(request, _withdraw, number)
