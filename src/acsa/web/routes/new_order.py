"""Creating an order and editing a draft, with the form checked as it is filled in.

* `GET /orders/new`, `POST /orders/new`: the form; its buttons create the draft
  (`orders.service.create_order`), check it now, or add a line (the last two re-show the
  form, so everything works without JavaScript).
* `GET/POST /orders/{number}/edit`: a draft of the viewer's party, changed with
  `orders.service.edit_order` (the fields it allows, the lines replaced, the version the form
  was read at).
* `POST /orders/new/check`: the same check as an HTML fragment, which `order-form.js` fetches
  as the person types (the form's CSRF token included) and puts in the check panel.

A refusal shows the form again with the field the service named marked, its translated
lead-in and the service's own words, and the HTTP status the API would give.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from acsa import errors
from acsa.activities import service as activities
from acsa.agreements import service as agreements
from acsa.agreements.domain import CATEGORIES, Method
from acsa.api import deps as api_deps
from acsa.api.routes.orders import today
from acsa.orders import service
from acsa.orders.domain import State
from acsa.orders.models import Order
from acsa.parties import service as parties
from acsa.parties.models import Unit
from acsa.web import deps, error_text, order_form
from acsa.web.order_form import Draft

router = APIRouter(include_in_schema=False)


def _own_activity(s: Session, code: str, party: str) -> None:
    """An activity under none of the party's agreements is not found (as the API answers),
    so the form never names another pair's agreements."""
    if not code:
        return
    own = {a.code for _, a in agreements.list_for_party(s, party)}
    try:
        act = activities.get_activity(s, code)
    except errors.NotFound:
        act = None
    if act is None or not own & {r.code for r in act.agreements}:
        raise errors.NotFound(f"no activity {code!r}", field="activity")


def _choices(s: Session, p: deps.Page) -> dict[str, Any]:
    covered = [a for _, a in agreements.list_for_party(s, p.viewer.party)]
    return {"agreements": covered,
            "activities": activities.list_activities_under(s, [a.code for a in covered]),
            "units": parties.list_units(s, p.viewer.party),
            "categories": list(CATEGORIES), "methods": [m.value for m in Method],
            "currencies": ["PHP", "JPY", "USD"]}


def _check(s: Session, p: deps.Page, draft: Draft, order: Order | None) -> order_form.Check:
    try:
        _own_activity(s, draft.values["activity"], p.viewer.party)
    except errors.NotFound as e:
        out = order_form.check(s, p.viewer, Draft({**draft.values, "activity": ""},
                                                   draft.lines, draft.version),
                               on=today(), order=order)
        out.findings.insert(0, order_form.Finding("activity_covered", False, "f-activity",
                                                  None, e.message, said=error_text.said(e)))
        return out
    return order_form.check(s, p.viewer, draft, on=today(), order=order)


def _form(request: Request, p: deps.Page, s: Session, draft: Draft, *,
          order: Order | None = None, error: dict[str, Any] | None = None,
          status: int = 200) -> Response:
    context = {"p": p, "d": draft, "order": order, "error": error,
               "check": _check(s, p, draft, order), "today": today(),
               "line_count": len(draft.lines), **_choices(s, p)}
    return deps.render(request, "order_form.html", context, lang=p.lang, status=status)


def _signed_in(request: Request) -> deps.Page | Response:
    try:
        return deps.page(request)
    except deps.NeedsSignIn as e:
        return deps.signin_redirect(e.next_path)


def _csrf_refused(request: Request, p: deps.Page, form: FormData) -> Response | None:
    try:
        deps.check_csrf(str(form.get("csrf_token") or ""), p.csrf)
    except deps.CsrfRefused:
        return deps.render(request, "error.html", {"p": p, "csrf_refused": True},
                           lang=p.lang, status=403)
    return None


# --- a new order ---------------------------------------------------------------------------
@router.get("/orders/new")
def new_order(request: Request) -> Response:
    p = deps.page(request)
    with api_deps.transaction(request, read_only=True) as s:
        official = parties.get_official(s, p.viewer.official) if p.viewer.official else None
        unit = s.get(Unit, official.unit_id) if official and official.unit_id else None
        draft = order_form.blank(p.viewer, official, unit, today())
        return _form(request, p, s, draft)


def _create(request: Request, p: deps.Page, draft: Draft) -> Response:
    v = draft.values
    try:
        by = api_deps.require_official(p.viewer, "create an order")

        def go(s: Session) -> str:
            agreement = agreements.get_for_party(s, v["agreement"] or "-", p.viewer.party)
            _own_activity(s, v["activity"], p.viewer.party)
            order_on = order_form.parse_date(v["order_on"], "order_on")
            if order_on is None:
                raise errors.InvalidInput("the order needs its date", field="order_on")
            currency = (v["currency"] or parties.get_party(
                s, agreement.other_party(p.viewer.party)).currency).upper()
            order = service.create_order(
                s, agreement_code=agreement.code, activity_code=v["activity"], by=by,
                order_on=order_on, lines=order_form.line_inputs(draft, currency),
                currency=currency, delivery_place=v["delivery_place"],
                delivery_on=order_form.parse_date(v["delivery_on"], "delivery_on"),
                fund_citation=v["fund_citation"], billing_address=v["billing_address"] or None,
                requester_poc=v["requester_poc"], requesting_unit=v["requesting_unit"] or None,
                implementing_arrangement=v["implementing_arrangement"], notes=v["notes"])
            return order.number
        number = api_deps.run(request, go)
    except errors.AcsaError as e:
        return _refused(request, p, draft, e)
    return RedirectResponse(f"/orders/{number}?done=create", status_code=303)


def _refused(request: Request, p: deps.Page, draft: Draft, e: errors.AcsaError,
             order: Order | None = None) -> Response:
    info = {**deps.refusal(e), "field": order_form.field_id(e.field)}
    with api_deps.transaction(request, read_only=True) as s:
        if order is not None:
            order = service.get_order(s, order.number)
        return _form(request, p, s, draft, order=order, error=info, status=info["status"])


def _post_new(request: Request, form: FormData) -> Response:
    p = _signed_in(request)
    if not isinstance(p, deps.Page):
        return p
    refused = _csrf_refused(request, p, form)
    if refused is not None:
        return refused
    draft = order_form.read(form)
    op = str(form.get("op") or "create")
    if op == "create":
        return _create(request, p, draft)
    if op == "add_line" and len(draft.lines) < order_form.MAX_LINES:
        draft.lines.append(order_form.blank_line())
    with api_deps.transaction(request, read_only=True) as s:
        return _form(request, p, s, draft)


@router.post("/orders/new")
async def post_new(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=400)
    return await run_in_threadpool(_post_new, request, form)


# --- check as you type ---------------------------------------------------------------------
def _check_fragment(request: Request, form: FormData) -> Response:
    try:
        p = deps.page(request)
    except deps.NeedsSignIn:
        return HTMLResponse("", status_code=401, headers=deps.SECURITY_HEADERS)
    try:
        deps.check_csrf(str(form.get("csrf_token") or ""), p.csrf)
    except deps.CsrfRefused:
        return HTMLResponse("", status_code=403, headers=deps.SECURITY_HEADERS)
    draft = order_form.read(form)
    number = str(form.get("number") or "")
    with api_deps.transaction(request, read_only=True) as s:
        order = None
        if number:
            try:
                order = service.get_order(s, number, viewer_party=p.viewer.party)
            except errors.NotFound:
                return HTMLResponse("", status_code=404, headers=deps.SECURITY_HEADERS)
        return deps.render(request, "order_check.html",
                           {"p": p, "check": _check(s, p, draft, order)}, lang=p.lang)


@router.post("/orders/new/check")
async def check_fragment(request: Request) -> Response:
    """The check panel for the form as it stands (an HTML fragment)."""
    form = await request.form(max_files=0, max_fields=400)
    return await run_in_threadpool(_check_fragment, request, form)


# --- editing a draft -----------------------------------------------------------------------
def _editable(s: Session, p: deps.Page, number: str) -> Order:
    """A draft of the viewer's party as requester. The supplying party never sees the
    requester's internal fields, so the form is not found for it; a state other than draft
    is the service's refusal."""
    order = service.get_order(s, number, viewer_party=p.viewer.party)
    if order.requesting_party != p.viewer.party:
        raise errors.NotFound(f"no draft {number!r} of {p.viewer.party} to edit",
                              field="number")
    if order.state != State.DRAFT.value:
        service.domain.check_transition(order.state, "edit", number)
    return order


@router.get("/orders/{number}/edit")
def edit_page(number: str, request: Request) -> Response:
    p = deps.page(request)
    with api_deps.transaction(request, read_only=True) as s:
        try:
            order = _editable(s, p, number)
        except errors.AcsaError as e:
            return deps.respond_error(request, p, e)
        return _form(request, p, s, order_form.of_order(s, order), order=order)


def _post_edit(request: Request, form: FormData, number: str) -> Response:
    p = _signed_in(request)
    if not isinstance(p, deps.Page):
        return p
    refused = _csrf_refused(request, p, form)
    if refused is not None:
        return refused
    with api_deps.transaction(request, read_only=True) as s:
        try:
            order = _editable(s, p, number)
        except errors.AcsaError as e:
            return deps.respond_error(request, p, e)
        fixed = order_form.of_order(s, order).values
    draft = order_form.read(form)
    for key in ("agreement", "activity", "order_on", "currency"):  # not editable: as stored
        draft.values[key] = fixed[key]
    op = str(form.get("op") or "save")
    if op != "save":
        if op == "add_line" and len(draft.lines) < order_form.MAX_LINES:
            draft.lines.append(order_form.blank_line())
        with api_deps.transaction(request, read_only=True) as s:
            return _form(request, p, s, draft, order=service.get_order(s, number))
    v = draft.values
    try:
        by = api_deps.require_official(p.viewer, "edit an order")
        version = int(draft.version) if draft.version.isdigit() else None

        def go(s: Session) -> None:
            service.get_order(s, number, viewer_party=p.viewer.party)
            changes = {k: v[k] for k in ("delivery_place", "fund_citation", "billing_address",
                                         "requester_poc", "implementing_arrangement", "notes")}
            changes["delivery_on"] = order_form.parse_date(v["delivery_on"], "delivery_on")
            service.edit_order(s, number=number, by=by, on=today(), changes=changes,
                               lines=order_form.line_inputs(draft, fixed["currency"]),
                               requesting_unit=v["requesting_unit"] or None,
                               expected_version=version)
        api_deps.run(request, go)
    except errors.AcsaError as e:
        return _refused(request, p, draft, e, order=order)
    return RedirectResponse(f"/orders/{number}?done=edit", status_code=303)


@router.post("/orders/{number}/edit")
async def post_edit(number: str, request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=400)
    return await run_in_threadpool(_post_edit, request, form, number)
