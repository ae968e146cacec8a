"""The order register, an order's page, and its actions as forms.

Reads are scoped to the viewer's party exactly as the API's (`search_orders` and `get_order`
with `viewer_party`: another party's order is 404). Every action signs as the viewer's own
official and calls the same service as the API; a refusal re-renders the order's page with the
service's reason and the status the API would give.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from acsa import errors, money
from acsa.activities import service as activities
from acsa.agreements import service as agreements
from acsa.api import deps as api_deps
from acsa.api.routes.orders import ALLOWED_TYPES, MAGIC, check_document_name, today
from acsa.audit import service as audit
from acsa.orders import service
from acsa.orders.domain import ReceiptLineInput, State
from acsa.orders.models import Document, Order
from acsa.parties import service as parties
from acsa.parties.models import Official
from acsa.settlement import service as settlement
from acsa.web import actions, deps

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
COUNT_LIMIT = 10_000  # the register counts up to this many, then says "more than"
SORTS = ("number", "order_on", "state", "agreement")


# --- the register --------------------------------------------------------------------------
def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/orders")
def register(request: Request) -> Response:
    p = deps.page(request)
    q = request.query_params
    f = {k: (q.get(k) or "").strip()[:100] for k in (
        "state", "activity", "agreement", "overdue", "q", "date_from", "date_to", "sort",
        "order")}
    if f["state"] not in {s.value for s in State}:
        f["state"] = ""
    if f["sort"] not in SORTS:
        f["sort"] = "number"
    if f["order"] not in ("asc", "desc"):
        f["order"] = "asc"
    try:
        page_no = max(1, min(int(q.get("page") or 1), 1_000_000))
    except ValueError:
        page_no = 1
    with api_deps.transaction(request, read_only=True) as s:
        covered = [a for _, a in agreements.list_for_party(s, p.viewer.party)]
        acts = activities.list_activities_under(s, [a.code for a in covered])
        query = service.OrderQuery(
            agreement=f["agreement"] or None, state=f["state"] or None,
            activity=f["activity"] or None,
            overdue={"yes": True, "no": False}.get(f["overdue"]),
            date_from=_date(f["date_from"]), date_to=_date(f["date_to"]),
            text=f["q"] or None, sort=f["sort"], descending=f["order"] == "desc")
        error = None
        try:
            rows, count = service.search_orders(s, query, viewer_party=p.viewer.party,
                                                offset=(page_no - 1) * PAGE_SIZE,
                                                limit=PAGE_SIZE, count_limit=COUNT_LIMIT + 1)
        except errors.AcsaError as e:
            rows, count, error = [], 0, deps.refusal(e)
        act_codes = {a.id: a.code for a in acts}
        # counted up to 10,001 only: "more than 10,000", and paging to the 400th page
        more = count > COUNT_LIMIT
        pages = max(1, math.ceil(min(count, COUNT_LIMIT) / PAGE_SIZE))
        if more:  # a next page while this one is full
            pages = max(pages, page_no + (len(rows) == PAGE_SIZE))
        base = {k: v for k, v in f.items() if v}

        def link(n: int) -> str:
            return "/orders?" + urlencode({**base, "page": n})

        def sort_link(key: str) -> str:
            flip = "desc" if f["sort"] == key and f["order"] == "asc" else "asc"
            return "/orders?" + urlencode({**base, "sort": key, "order": flip})
        items = [{"o": o, "activity": act_codes.get(o.activity_id, ""),
                  "total": service.total(o)} for o in rows]
        return deps.render(request, "orders.html", {
            "p": p, "f": f, "items": items, "count": min(count, COUNT_LIMIT), "more": more,
            "page": page_no, "pages": pages,
            "link": link, "sort_link": sort_link, "states": [s.value for s in State],
            "agreements": covered, "activities": acts, "error": error,
            "first": (page_no - 1) * PAGE_SIZE + 1 if count else 0,
            "last": (page_no - 1) * PAGE_SIZE + len(rows)}, lang=p.lang)


# --- one order -----------------------------------------------------------------------------
def _officials(s: Session, codes: set[str]) -> dict[str, str]:
    codes.discard("")
    if not codes:
        return {}
    return {code: name for code, name in s.execute(
        select(Official.code, Official.name).where(Official.code.in_(codes)))}


def order_context(s: Session, p: deps.Page, number: str) -> dict[str, Any]:
    order = service.get_order(s, number, viewer_party=p.viewer.party)
    view = service.order_view(s, order, viewer_party=p.viewer.party)
    claims = settlement.claims_of(s, order)
    events = audit.history(s, number)
    official = parties.get_official(s, p.viewer.official) if p.viewer.official else None
    on = today()
    shas = {d["document"] for d in view["deliveries"]}
    docs = {sha: name for sha, name in s.execute(
        select(Document.sha256, Document.filename).where(Document.sha256.in_(shas)))}
    who = {e.actor for e in events} | {view.get(k) or "" for k in ("requested_by",
                                                                  "accepted_by")}
    who |= {d["delivered_by"] or "" for d in view["deliveries"]}
    who |= {r["received_by"] or "" for r in view["receipts"]}
    progress = service.line_progress(order)
    activity = s.get(activities.Activity, order.activity_id)
    units = parties.list_units(s, order.supplying_party)
    return {
        "p": p, "order": order, "v": view, "claims": claims, "events": events,
        "payloads": {e.seq: _payload(e.payload) for e in events},
        "names": _officials(s, who), "docs": docs, "activity": activity,
        "actions": actions.order_actions(order, official, on),
        "payable": {c.number for c in claims if actions.can_pay(c, official, on)},
        "returnable": {c.number for c in claims if actions.can_return(c, official, on)},
        "exchangeable": {c.number for c in claims if actions.can_exchange(c, official, on)},
        "outstanding": {c.number: settlement.outstanding(c) for c in claims},
        "progress": progress, "units": units, "today": on,
        "to_receive": _to_receive(order),
    }


def _payload(text: str) -> dict[str, Any]:
    import json
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _to_receive(order: Order) -> dict[int, Decimal]:
    """Per line, what the deliveries not yet received brought."""
    by_id = {ln.id: ln.line_no for ln in order.lines}
    out: dict[int, Decimal] = {}
    for d in order.deliveries:
        if d.receipt_id is None:
            for x in d.lines:
                out[by_id[x.line_id]] = out.get(by_id[x.line_id], Decimal(0)) + x.quantity
    return out


def _show(request: Request, p: deps.Page, number: str, *, error: dict[str, Any] | None = None,
          status: int = 200, done: str | None = None) -> Response:
    with api_deps.transaction(request, read_only=True) as s:
        try:
            context = order_context(s, p, number)
        except errors.NotFound as e:
            return deps.respond_error(request, p, e, status=404)
        return deps.render(request, "order.html", {**context, "error": error, "done": done},
                           lang=p.lang, status=status)


@router.get("/orders/{number}")
def order_page(number: str, request: Request, done: str | None = None) -> Response:
    p = deps.page(request)
    return _show(request, p, number,
                 done=done if done in actions.ORDER + ("pay", "return", "exchange", "create",
                                                       "edit") else None)


# --- actions -------------------------------------------------------------------------------
def _on(form: FormData) -> dt.date:
    raw = str(form.get("on") or "")
    if not raw:
        return today()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise errors.InvalidInput(f"{raw!r} is not a date (YYYY-MM-DD)", field="on") from None


def _version(form: FormData) -> int | None:
    raw = str(form.get("version") or "")
    return int(raw) if raw.isdigit() else None


def _text(form: FormData, key: str, limit: int = 2000) -> str:
    value = str(form.get(key) or "")
    if len(value) > limit or "\x00" in value:
        raise errors.InvalidInput(f"{key}: at most {limit} characters", field=key)
    return value


def _decimal(raw: str, field: str) -> Decimal:
    try:
        value = Decimal(raw.strip().replace(",", ""))
    except InvalidOperation:
        raise errors.InvalidInput(f"{field}: {raw!r} is not a number", field=field) from None
    if not value.is_finite():
        raise errors.InvalidInput(f"{field}: {raw!r} is not a number", field=field)
    return value


def _act(request: Request, form: FormData, number: str,
         call: Callable[[Session, str, FormData], object], done: str) -> Response:
    """Check the CSRF token, sign as the viewer's official, run `call` in one unit of work;
    then back to the order's page, or the page again with the refusal."""
    try:
        p = deps.page(request)
    except deps.NeedsSignIn as e:
        return deps.signin_redirect(e.next_path)
    try:
        deps.check_csrf(str(form.get("csrf_token") or ""), p.csrf)
    except deps.CsrfRefused:
        return deps.render(request, "error.html", {"p": p, "csrf_refused": True},
                           lang=p.lang, status=403)
    try:
        by = api_deps.require_official(p.viewer, done)

        def go(s: Session) -> None:
            service.get_order(s, number, viewer_party=p.viewer.party)  # 404 before any 403
            call(s, by, form)
        api_deps.run(request, go)
    except errors.NotFound as e:
        return deps.respond_error(request, p, e, status=404)
    except errors.AcsaError as e:
        info = deps.refusal(e)
        return _show(request, p, number, error=info, status=info["status"])
    return RedirectResponse(f"/orders/{number}?done={done}", status_code=303)


async def _form_act(request: Request, number: str, done: str,
                    call: Callable[[Session, str, FormData], object]) -> Response:
    form = await request.form(max_files=1, max_fields=500)
    try:
        return await run_in_threadpool(_act, request, form, number, call, done)
    finally:
        await form.close()


@router.post("/orders/{number}/request")
async def request_order(number: str, request: Request) -> Response:
    return await _form_act(request, number, "request", lambda s, by, f: service.request_order(
        s, number=number, by=by, on=_on(f), expected_version=_version(f)))


@router.post("/orders/{number}/accept")
async def accept_order(number: str, request: Request) -> Response:
    return await _form_act(request, number, "accept", lambda s, by, f: service.accept_order(
        s, number=number, by=by, on=_on(f), supplier_poc=_text(f, "supplier_poc", 300) or None,
        supplying_unit=_text(f, "supplying_unit", 40) or None, expected_version=_version(f)))


@router.post("/orders/{number}/cancel")
async def cancel_order(number: str, request: Request) -> Response:
    return await _form_act(request, number, "cancel", lambda s, by, f: service.cancel_order(
        s, number=number, by=by, on=_on(f), reason=_text(f, "reason"),
        expected_version=_version(f)))


@router.post("/orders/{number}/dispute")
async def dispute_order(number: str, request: Request) -> Response:
    return await _form_act(request, number, "dispute", lambda s, by, f: service.dispute_order(
        s, number=number, by=by, on=_on(f), reason=_text(f, "reason"),
        expected_version=_version(f)))


@router.post("/orders/{number}/resolve")
async def resolve_dispute(number: str, request: Request) -> Response:
    return await _form_act(request, number, "resolve", lambda s, by, f: service.resolve_dispute(
        s, number=number, by=by, on=_on(f), resolution=_text(f, "resolution"),
        expected_version=_version(f)))


@router.post("/orders/{number}/close")
async def close_order(number: str, request: Request) -> Response:
    return await _form_act(request, number, "close", lambda s, by, f: service.close_order(
        s, number=number, by=by, on=_on(f), expected_version=_version(f)))


def _deliver(s: Session, by: str, form: FormData, number: str) -> None:
    upload = form.get("document")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise errors.SourceDocumentMissing("a delivery needs its source document",
                                           field="document",
                                           hint="Attach the signed delivery document.")
    check_document_name(upload.filename)
    content = upload.file.read(service.MAX_DOCUMENT_BYTES + 1)
    ctype = (upload.content_type or "application/octet-stream").split(";")[0].strip()
    if ctype not in ALLOWED_TYPES:
        raise errors.InvalidInput(f"document type {ctype!r} is not accepted", field="document",
                                  hint="Send a PDF, PNG, JPEG, TIFF, text, CSV or XLSX file.")
    if ctype in MAGIC and not content.startswith(MAGIC[ctype]):
        raise errors.InvalidInput(f"the document's content is not {ctype}", field="document")
    order = service.get_order(s, number)
    quantities = {}
    for ln in order.lines:
        raw = str(form.get(f"qty_{ln.line_no}") or "").strip()
        if raw:
            qty = _decimal(raw, f"line {ln.line_no} quantity")
            if qty:
                quantities[ln.line_no] = qty
    service.record_delivery(s, number=number, by=by, on=_on(form), quantities=quantities,
                            document_name=upload.filename, document=content,
                            content_type=ctype, note=_text(form, "note"),
                            expected_version=_version(form))


@router.post("/orders/{number}/deliver")
async def deliver(number: str, request: Request) -> Response:
    return await _form_act(request, number, "deliver",
                           lambda s, by, f: _deliver(s, by, f, number))


def _receive(s: Session, by: str, form: FormData, number: str) -> None:
    order = service.get_order(s, number)
    given = {}
    for n, delivered in _to_receive(order).items():
        raw = str(form.get(f"received_{n}") or "").strip()
        damaged = str(form.get(f"damaged_{n}") or "").strip()
        reason = _text(form, f"reason_{n}", 500)
        received = _decimal(raw, f"line {n} received") if raw else delivered
        given[n] = ReceiptLineInput(received=received,
                                    damaged=_decimal(damaged, f"line {n} damaged")
                                    if damaged else Decimal(0), reason=reason)
    service.record_receipt(s, number=number, by=by, on=_on(form), lines=given,
                           note=_text(form, "note"), expected_version=_version(form))


@router.post("/orders/{number}/receive")
async def receive(number: str, request: Request) -> Response:
    return await _form_act(request, number, "receive",
                           lambda s, by, f: _receive(s, by, f, number))


def _claim(s: Session, form: FormData, number: str) -> Any:
    """One of this order's claims, named in the form: looked up among the order's own."""
    order = service.get_order(s, number)
    ref = _text(form, "claim", 50)
    claim = next((c for c in settlement.claims_of(s, order) if c.number == ref), None)
    if claim is None:
        raise errors.NotFound(f"order {number} has no claim {ref!r}", field="claim")
    return claim


def _pay(s: Session, by: str, form: FormData, number: str) -> None:
    """Pay one of this order's cash bills: the claim is looked up among the order's own."""
    claim = _claim(s, form, number)
    amount = money.Money.of(_decimal(_text(form, "amount", 40), "amount"),
                            _text(form, "currency", 3).upper() or claim.currency)
    settlement.pay(s, claim_ref=claim.number, by=by, on=_on(form), amount=amount,
                   reference=_text(form, "reference", 300))


@router.post("/orders/{number}/pay")
async def pay(number: str, request: Request) -> Response:
    """Pay a cash bill of this order (the debtor's finance official)."""
    return await _form_act(request, number, "pay", lambda s, by, f: _pay(s, by, f, number))


def _return(s: Session, by: str, form: FormData, number: str) -> None:
    """Return items in kind against one of this order's RIK claims (the claim's own stock
    number and category)."""
    claim = _claim(s, form, number)
    settlement.return_in_kind(
        s, claim_ref=claim.number, by=by, on=_on(form),
        quantity=_decimal(_text(form, "quantity", 40), "quantity"),
        unit=_text(form, "unit", 30).strip() or (claim.unit or ""),
        stock_number=claim.stock_number or "", category=claim.category or "",
        description=_text(form, "description", 500))


@router.post("/orders/{number}/return")
async def return_in_kind(number: str, request: Request) -> Response:
    """Return in kind against an RIK claim of this order (the debtor's finance or supplying
    official)."""
    return await _form_act(request, number, "return",
                           lambda s, by, f: _return(s, by, f, number))


def _exchange(s: Session, by: str, form: FormData, number: str) -> None:
    """Settle one of this order's EVE claims by a service of the claim's own category."""
    claim = _claim(s, form, number)
    value = money.Money.of(_decimal(_text(form, "value", 40), "value"),
                           _text(form, "currency", 3).upper() or claim.currency)
    settlement.exchange(s, claim_ref=claim.number, by=by, on=_on(form), value=value,
                        category=claim.category or "",
                        description=_text(form, "description", 500))


@router.post("/orders/{number}/exchange")
async def exchange(number: str, request: Request) -> Response:
    """Settle an EVE claim of this order by an equal-value exchange (the debtor's finance or
    supplying official)."""
    return await _form_act(request, number, "exchange",
                           lambda s, by, f: _exchange(s, by, f, number))
