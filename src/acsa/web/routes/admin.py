"""Administration pages: an administrator manages their own party's people and reference data.

* `GET /admin`: what the viewer may administer, and the confirmation of what was just done.
* `GET/POST /admin/officials/new`, `/admin/users/new`, `/admin/units/new`: add an official
  (with a delegated value limit and a validity period), a user, a unit of the administrator's
  own party (`parties.add_official`, `users.add_user`, `parties.add_unit`).
* `GET/POST /admin/officials/{code}`: change an official of the party: the delegated limit,
  the validity (its last day deactivates them) or the unit (`parties.change_official`, sent to
  the partners as `official.changed`).
* `GET /admin/accounts/{username}`, `POST .../password`, `.../disable`, `.../enable`: a user's
  account: reset the password, disable or enable it (`web.admin_forms`). A reset and a
  disabling also revoke all the user's API tokens (in `web.admin_forms`).
* `GET/POST /admin/activities/new`: register an activity under the party's agreements.
* `GET/POST /admin/rates/new`: record an exchange rate (administrators and finance
  officials, as in the API).

Who may do what is the API's (`require_admin`, the finance role for rates), checked before
the form is read; a form naming another party is refused (403). Each form is read into the
API's own input schema, so the web accepts exactly what the API accepts; every bad field is
named, the form comes back with what was entered and the error beside each field (4xx,
nothing written: one unit of work), and a success redirects (303) to `/admin?done=...`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from acsa import errors, money
from acsa.activities import service as activities
from acsa.agreements import service as agreements
from acsa.agreements.domain import ACTIVITY_TYPES
from acsa.api import deps as api_deps
from acsa.api.routes.orders import today
from acsa.api.routes.reference import RATE_DATES, USERNAME_LENGTH
from acsa.api.schemas import ActivityIn, OfficialChangeIn, OfficialIn, RateIn, UnitIn, UserIn
from acsa.db.base import utcnow
from acsa.parties import service as parties
from acsa.parties.domain import Role
from acsa.rates import service as rates
from acsa.users import service as users
from acsa.users.service import Viewer
from acsa.web import admin_forms, deps
from acsa.web.admin_forms import FieldErrors, Form

router = APIRouter(include_in_schema=False, prefix="/admin")
CURRENCIES = ("PHP", "JPY", "USD")
DONE = ("official", "changed", "user", "unit", "activity", "rate", "password", "disabled",
        "enabled")
GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")  # 5,000,000.00: commas group thousands


# --- who may -------------------------------------------------------------------------------
def may_administer(v: Viewer) -> bool:
    return v.is_admin


def may_record_rates(v: Viewer) -> bool:
    """As the API: finance officials and administrators."""
    return v.is_admin or v.role == "finance"


def _admin(v: Viewer, party: str | None) -> None:
    api_deps.require_admin(v, party)


def _rates(v: Viewer, party: str | None) -> None:
    if not may_record_rates(v):
        raise api_deps.Forbidden("only a finance official or an administrator may record rates")
    if party is not None and party.upper() != v.party:
        raise api_deps.Forbidden(f"a user of {v.party} cannot act for {party.upper()}")


class _Errors:
    """Every bad field of a form, gathered before anything is written."""

    def __init__(self) -> None:
        self.bad: dict[str, str] = {}

    def check(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FieldErrors as e:
            self.bad.update({k: v for k, v in e.fields.items() if k not in self.bad})
            return None

    def add(self, name: str, message: str) -> None:
        self.bad.setdefault(name, message)

    def stop(self) -> None:
        if self.bad:
            raise FieldErrors(self.bad)


def _done(kind: str, code: str) -> str:
    return "/admin?" + urlencode({"done": kind, "code": code})


# --- one form, its page and its submission -------------------------------------------------
@dataclass(frozen=True)
class Spec:
    template: str
    fields: tuple[str, ...]
    check: Callable[[Viewer, str | None], None]
    choices: Callable[[Session, deps.Page], dict[str, Any]]
    defaults: Callable[[Session, deps.Page], dict[str, Any]]
    save: Callable[[Session, deps.Page, dict[str, Any]], str]  # -> where to go next
    aliases: dict[str, str] = field(default_factory=dict)  # service field -> form field
    lists: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    secret: tuple[str, ...] = ()  # never written back into the page


def _render(request: Request, p: deps.Page, s: Session, spec: Spec, form: Form,
            status: int = 200) -> Response:
    return deps.render(request, spec.template,
                       {"p": p, "form": form, **spec.choices(s, p)}, lang=p.lang,
                       status=status)


def _page(request: Request, spec: Spec) -> Response:
    p = deps.page(request)
    try:
        spec.check(p.viewer, None)
    except errors.AcsaError as e:
        return deps.respond_error(request, p, e)
    with api_deps.transaction(request, read_only=True) as s:
        return _render(request, p, s, spec, Form(spec.defaults(s, p)))


def _refused(form: Form, e: errors.AcsaError, spec_fields: tuple[str, ...],
             aliases: dict[str, str]) -> None:
    form.refusal = deps.refusal(e)
    if isinstance(e, FieldErrors):
        form.errors = dict(e.fields)
        return
    name = aliases.get(e.field or "", e.field or "")
    if name in spec_fields:
        form.errors = {name: e.message}


def _allowed(request: Request, data: FormData,
             check: Callable[[Viewer, str | None], object]) -> deps.Page | Response:
    """The page of a submitted administration form whose CSRF token holds and whose user
    `check` allows (for the form's party, if it names one); else the response to send."""
    p = deps.page(request)
    try:
        deps.check_csrf(str(data.get("csrf_token") or ""), p.csrf)
    except deps.CsrfRefused:
        return deps.render(request, "error.html", {"p": p, "csrf_refused": True},
                           lang=p.lang, status=403)
    try:
        check(p.viewer, str(data.get("party") or "") or None)
    except errors.AcsaError as e:
        return deps.respond_error(request, p, e)
    return p


def _submit(request: Request, spec: Spec, data: FormData) -> Response:
    p = _allowed(request, data, spec.check)  # before the form is read
    if isinstance(p, Response):
        return p
    values, unreadable = admin_forms.read(data, spec.fields, lists=spec.lists,
                                          checks=spec.checks)
    form = Form({k: v for k, v in values.items() if k not in spec.secret})
    try:
        if unreadable:
            raise FieldErrors(unreadable)
        target = api_deps.run(request, lambda s: spec.save(s, p, values))
    except errors.AcsaError as e:
        _refused(form, e, spec.fields, spec.aliases)
        assert form.refusal is not None
        with api_deps.transaction(request, read_only=True) as s:
            return _render(request, p, s, spec, form, status=form.refusal["status"])
    return RedirectResponse(target, status_code=303)


def _routes(path: str, spec: Spec) -> None:
    """GET and POST of one form at /admin/{path}."""
    def show(request: Request) -> Response:
        return _page(request, spec)

    async def send(request: Request) -> Response:
        data = await request.form(max_files=0, max_fields=100)
        return await run_in_threadpool(_submit, request, spec, data)

    router.add_api_route(f"/{path}", show, methods=["GET"], name=f"admin-{path}")
    router.add_api_route(f"/{path}", send, methods=["POST"], name=f"admin-{path}-post")


# --- choices for the forms -----------------------------------------------------------------
def _units(s: Session, p: deps.Page) -> list[Any]:
    return parties.list_units(s, p.viewer.party)


def _own_agreements(s: Session, p: deps.Page) -> list[Any]:
    return [a for _, a in agreements.list_for_party(s, p.viewer.party)]


# --- officials -----------------------------------------------------------------------------
OFFICIAL_FIELDS = ("code", "name", "rank_title", "role", "unit", "person", "email",
                   "limit_amount", "limit_currency", "valid_from", "valid_to")


def _official_defaults(s: Session, p: deps.Page) -> dict[str, Any]:
    return {**dict.fromkeys(OFFICIAL_FIELDS, ""), "valid_from": today().isoformat(),
            "limit_currency": admin_forms.party_currency(s, p.viewer.party)}


def _limit_fields(v: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The form's fields `names`, the limit's amount without its thousands commas; with no
    amount no currency (the currency is a choice that always has a value: it goes with an
    amount)."""
    amount = v["limit_amount"].strip()
    if GROUPED.match(amount):
        amount = amount.replace(",", "")
    fields = {**{k: v[k] for k in names}, "limit_amount": amount}
    if not amount:
        fields["limit_currency"] = ""
    return fields


def _save_official(s: Session, p: deps.Page, v: dict[str, Any]) -> str:
    party = p.viewer.party
    fields = _limit_fields(v, OFFICIAL_FIELDS)
    found = _Errors()
    body = found.check(admin_forms.parse, OfficialIn, fields, optional=(
        "unit", "person", "valid_to", "limit_amount", "limit_currency"))
    if body is not None and body.unit:
        try:
            admin_forms.own_unit(s, body.unit, party)
        except errors.NotFound as e:
            found.add("unit", e.message)
    limit = None
    if body is not None and body.limit_amount is not None:
        currency = body.limit_currency or admin_forms.party_currency(s, party)
        found.check(admin_forms.check_currencies, limit_currency=currency)
        limit = found.check(admin_forms.money_field, body.limit_amount, currency,
                            "limit_amount")
    if body is not None and body.valid_to is not None and body.valid_to < body.valid_from:
        found.add("valid_to", "valid_to: the validity ends before it starts")
    found.stop()
    assert body is not None
    official = parties.add_official(
        s, code=body.code, name=body.name, party=party, role=body.role,
        valid_from=body.valid_from, valid_to=body.valid_to, limit=limit, unit=body.unit,
        person=body.person, rank_title=body.rank_title, email=body.email,
        actor=p.viewer.username)
    return _done("official", official.code)


OFFICIAL = Spec(
    template="admin_official.html", fields=OFFICIAL_FIELDS, check=_admin,
    choices=lambda s, p: {"units": _units(s, p), "roles": [r.value for r in Role],
                          "currencies": CURRENCIES},
    defaults=_official_defaults, save=_save_official,
    aliases={"limit": "limit_amount", "currency": "limit_currency"})
_routes("officials/new", OFFICIAL)


# --- changing an official ------------------------------------------------------------------
CHANGE_FIELDS = ("limit_amount", "limit_currency", "valid_from", "valid_to", "unit")


def _change_defaults(s: Session, official: Any) -> dict[str, Any]:
    """The official's terms as the form shows them (an empty amount: no limit)."""
    terms = parties.official_terms(s, official)
    return {"limit_amount": format(money.Money(official.limit_minor,
                                               official.limit_currency).amount, "f")
            if terms["limit"] else "",
            "limit_currency": official.limit_currency or admin_forms.party_currency(
                s, official.party_code),
            "valid_from": terms["valid_from"], "valid_to": terms["valid_to"] or "",
            "unit": terms["unit"] or ""}


def _save_change(s: Session, p: deps.Page, code: str, v: dict[str, Any]) -> str:
    """Every field is read and checked (each bad one named) before the service is called with
    the form's whole terms: an empty amount is no limit, an empty end no end, no unit none."""
    party = p.viewer.party
    official = admin_forms.own_official(s, code, party)  # another party's: 404
    fields = _limit_fields(v, CHANGE_FIELDS)
    found = _Errors()
    if not v["valid_from"].strip():
        found.add("valid_from", "valid_from: a validity has a start date")
    body = found.check(admin_forms.parse, OfficialChangeIn, fields, optional=CHANGE_FIELDS)
    unit = fields["unit"].strip()
    if unit and "unit" not in found.bad:  # named even when another field is wrong
        try:
            admin_forms.own_unit(s, unit, party)
        except errors.NotFound as e:
            found.add("unit", e.message)
    limit = None
    if body is not None and body.limit_amount is not None:
        currency = body.limit_currency or admin_forms.party_currency(s, party)
        found.check(admin_forms.check_currencies, limit_currency=currency)
        if "limit_currency" not in found.bad:  # an amount is judged in a known currency
            limit = found.check(admin_forms.money_field, body.limit_amount, currency,
                                "limit_amount")
    if body is not None and body.valid_from is not None and body.valid_to is not None and \
            body.valid_to < body.valid_from:
        found.add("valid_to", "valid_to: the validity ends before it starts")
    found.stop()
    assert body is not None
    parties.change_official(s, code=official.code, by_party=party, limit=limit,
                            valid_from=body.valid_from, valid_to=body.valid_to,
                            unit=body.unit or None, actor=p.viewer.username)
    return _done("changed", official.code)


def _change_page(request: Request, p: deps.Page, code: str, form: Form | None = None,
                 status: int = 200) -> Response:
    with api_deps.transaction(request, read_only=True) as s:
        try:
            official = admin_forms.own_official(s, code, p.viewer.party)
        except errors.NotFound as e:
            return deps.respond_error(request, p, e, status=404)
        return deps.render(request, "admin_official_change.html", {
            "p": p, "o": official, "form": form or Form(_change_defaults(s, official)),
            "units": _units(s, p), "currencies": CURRENCIES}, lang=p.lang, status=status)


@router.get("/officials/{code}")
def official_change_form(code: str, request: Request) -> Response:
    """An official's terms, to change: the limit, the validity (ending it deactivates the
    official) and the unit."""
    p = deps.page(request)
    try:
        _admin(p.viewer, None)
    except errors.AcsaError as e:
        return deps.respond_error(request, p, e)
    return _change_page(request, p, code)


def _change_submit(request: Request, code: str, data: FormData) -> Response:
    p = _allowed(request, data, _admin)
    if isinstance(p, Response):
        return p
    values, unreadable = admin_forms.read(data, CHANGE_FIELDS)
    form = Form(dict(values))
    try:
        if unreadable:
            raise FieldErrors(unreadable)
        target = api_deps.run(request, lambda s: _save_change(s, p, code, values))
    except errors.NotFound as e:
        if e.field != "unit":
            return deps.respond_error(request, p, e, status=404)
        _refused(form, e, CHANGE_FIELDS, {})
        return _change_page(request, p, code, form, form.refusal["status"])  # type: ignore[index]
    except errors.AcsaError as e:
        _refused(form, e, CHANGE_FIELDS, {"limit": "limit_amount", "currency": "limit_currency"})
        assert form.refusal is not None
        return _change_page(request, p, code, form, form.refusal["status"])
    return RedirectResponse(target, status_code=303)


@router.post("/officials/{code}")
async def official_change(code: str, request: Request) -> Response:
    data = await request.form(max_files=0, max_fields=20)
    return await run_in_threadpool(_change_submit, request, code, data)


# --- users ---------------------------------------------------------------------------------
USER_FIELDS = ("username", "display_name", "password", "password_again", "official",
               "is_admin")


def _check_user(s: Session, p: deps.Page, v: dict[str, Any], found: _Errors) -> Any:
    body = found.check(admin_forms.parse, UserIn, {
        k: v[k] for k in ("username", "display_name", "password", "official", "is_admin")},
        optional=("official",))
    if len(v["username"]) > USERNAME_LENGTH:
        found.add("username", f"username: at most {USERNAME_LENGTH} characters")
    found.check(_policy, v["password"])
    if v["password"] != v["password_again"]:
        found.add("password_again", "password_again: the two passwords differ")
    if body is not None and body.official:
        try:
            admin_forms.own_official(s, body.official, p.viewer.party)
        except errors.NotFound as e:
            found.add("official", e.message)
    return body


def _policy(password: str) -> None:
    try:
        users.check_password_policy(password)
    except errors.AcsaError as e:
        raise FieldErrors({"password": f"password: {e.message}"}) from None


def _save_user(s: Session, p: deps.Page, v: dict[str, Any]) -> str:
    found = _Errors()
    body = _check_user(s, p, v, found)
    found.stop()
    assert body is not None
    user = users.add_user(s, username=body.username, password=v["password"],
                          party=p.viewer.party, official=body.official or None,
                          is_admin=body.is_admin, display_name=body.display_name,
                          actor=p.viewer.username)
    return _done("user", user.username)


def _user_choices(s: Session, p: deps.Page) -> dict[str, Any]:
    return {"officials": parties.list_officials(s, p.viewer.party)}


USER = Spec(
    template="admin_user_new.html", fields=USER_FIELDS, check=_admin, choices=_user_choices,
    defaults=lambda s, p: {**dict.fromkeys(USER_FIELDS, ""), "is_admin": False},
    save=_save_user, checks=("is_admin",), secret=("password", "password_again"))
_routes("users/new", USER)


# --- units ---------------------------------------------------------------------------------
UNIT_FIELDS = ("code", "name", "address")


def _save_unit(s: Session, p: deps.Page, v: dict[str, Any]) -> str:
    body = admin_forms.parse(UnitIn, dict(v))
    unit = parties.add_unit(s, code=body.code, party=p.viewer.party, name=body.name,
                            address=body.address, actor=p.viewer.username)
    return _done("unit", unit.code)


UNIT = Spec(template="admin_unit.html", fields=UNIT_FIELDS, check=_admin,
            choices=lambda s, p: {}, defaults=lambda s, p: dict.fromkeys(UNIT_FIELDS, ""),
            save=_save_unit)
_routes("units/new", UNIT)


# --- activities ----------------------------------------------------------------------------
ACTIVITY_FIELDS = ("code", "name", "type", "place", "starts_on", "ends_on", "agreements")


def _save_activity(s: Session, p: deps.Page, v: dict[str, Any]) -> str:
    found = _Errors()
    body = found.check(admin_forms.parse, ActivityIn, dict(v))
    if body is not None:
        if len({c.upper() for c in body.agreements}) != len(body.agreements):
            found.add("agreements", "agreements: an agreement appears twice")
        if body.ends_on < body.starts_on:
            found.add("ends_on", "ends_on: the activity ends before it starts")
        for code in body.agreements:
            try:
                agreements.get_for_party(s, code, p.viewer.party).check_activity_type(body.type)
            except errors.AcsaError as e:
                found.add("type" if isinstance(e, errors.ActivityNotEligible) else "agreements",
                          e.message)
    found.stop()
    assert body is not None
    codes = [agreements.get_for_party(s, c, p.viewer.party).code for c in body.agreements]
    activity = activities.add_activity(
        s, code=body.code, name=body.name, type=body.type, place=body.place,
        starts_on=body.starts_on, ends_on=body.ends_on, agreement_codes=codes,
        actor=p.viewer.username)
    return _done("activity", activity.code)


ACTIVITY = Spec(
    template="admin_activity.html", fields=ACTIVITY_FIELDS, check=_admin,
    choices=lambda s, p: {"agreements": _own_agreements(s, p), "types": list(ACTIVITY_TYPES)},
    defaults=lambda s, p: {**dict.fromkeys(ACTIVITY_FIELDS, ""), "agreements": []},
    save=_save_activity, lists=("agreements",),
    aliases={"agreement": "agreements", "activity": "type"})
_routes("activities/new", ACTIVITY)


# --- exchange rates ------------------------------------------------------------------------
RATE_FIELDS = ("base", "quote", "rate", "on", "source", "kind", "agreement")


def _save_rate(s: Session, p: deps.Page, v: dict[str, Any]) -> str:
    found = _Errors()
    values = {**v, "base": v["base"].upper(), "quote": v["quote"].upper()}
    body = found.check(admin_forms.parse, RateIn, values, optional=("agreement",))
    found.check(admin_forms.check_currencies,
                **{k: values[k] for k in ("base", "quote") if k not in found.bad})
    agreement = None
    if body is not None:
        if not RATE_DATES[0] <= body.on <= RATE_DATES[1]:
            found.add("on", f"on: a rate is dated between {RATE_DATES[0].year} and "
                      f"{RATE_DATES[1].year}")
        if body.base == body.quote:
            found.add("quote", "quote: a rate needs two different currencies")
        if body.agreement:
            try:
                agreement = agreements.get_for_party(s, body.agreement, p.viewer.party)
            except errors.NotFound as e:
                found.add("agreement", e.message)
        elif body.kind == "agreement_fy":
            found.add("agreement", "agreement: a fixed fiscal-year rate belongs to an agreement")
    found.stop()
    assert body is not None
    row = rates.add_rate(s, base=body.base, quote=body.quote, rate=format(body.rate, "f"),
                         on=body.on, source=body.source, kind=body.kind, agreement=agreement,
                         recorded_by=p.viewer.username)
    return _done("rate", f"{row.base}/{row.quote} {row.rate}")


RATE = Spec(
    template="admin_rate.html", fields=RATE_FIELDS, check=_rates,
    choices=lambda s, p: {"agreements": _own_agreements(s, p), "currencies": CURRENCIES,
                          "kinds": rates.KINDS},
    defaults=lambda s, p: {**dict.fromkeys(RATE_FIELDS, ""), "on": today().isoformat(),
                           "kind": "market"},
    save=_save_rate, aliases={"currency": "base"})
_routes("rates/new", RATE)


# --- the administration page ---------------------------------------------------------------
@router.get("")
def index(request: Request, done: str = "", code: str = "") -> Response:
    p = deps.page(request)
    if not (may_administer(p.viewer) or may_record_rates(p.viewer)):
        return deps.respond_error(request, p, api_deps.Forbidden(
            "only administrators and finance officials have administration pages"))
    return deps.render(request, "admin.html", {
        "p": p, "done": done if done in DONE else "", "code": code[:80],
        "admin": may_administer(p.viewer), "rates": may_record_rates(p.viewer)}, lang=p.lang)


# --- a user's account ----------------------------------------------------------------------
PASSWORD_FIELDS = ("password", "password_again")


def _account(request: Request, p: deps.Page, username: str, *, form: Form | None = None,
             refusal: dict[str, Any] | None = None, status: int = 200) -> Response:
    with api_deps.transaction(request, read_only=True) as s:
        try:
            user = admin_forms.own_user(s, username, p.viewer.party)
        except errors.NotFound as e:
            return deps.respond_error(request, p, e, status=404)
        signs_as = users.viewer_of(s, user)
        return deps.render(request, "admin_user.html", {
            "p": p, "u": user, "official": signs_as.official, "role": signs_as.role,
            "locked": user.locked_until is not None and user.locked_until > utcnow(),
            "form": form or Form({}), "refusal": refusal,
            "own": user.username == p.viewer.username}, lang=p.lang, status=status)


@router.get("/accounts/{username}")
def account(username: str, request: Request) -> Response:
    p = deps.page(request)
    try:
        _admin(p.viewer, None)
    except errors.AcsaError as e:
        return deps.respond_error(request, p, e)
    return _account(request, p, username)


def _account_act(request: Request, username: str, data: FormData, done: str,
                 act: Callable[[Session, deps.Page], object]) -> Response:
    p = _allowed(request, data, _admin)
    if isinstance(p, Response):
        return p
    try:
        api_deps.run(request, lambda s: act(s, p))
    except errors.NotFound as e:
        return deps.respond_error(request, p, e, status=404)
    except errors.AcsaError as e:
        form = Form({})
        _refused(form, e, PASSWORD_FIELDS, {})
        assert form.refusal is not None
        return _account(request, p, username, form=form, refusal=form.refusal,
                        status=form.refusal["status"])
    return RedirectResponse(_done(done, username), status_code=303)


def _reset(s: Session, p: deps.Page, username: str, data: FormData) -> None:
    values, unreadable = admin_forms.read(data, PASSWORD_FIELDS)
    found = _Errors()
    for name, message in unreadable.items():
        found.add(name, message)
    admin_forms.own_user(s, username, p.viewer.party)  # 404 before any other answer
    found.check(_policy, values["password"])
    if values["password"] != values["password_again"]:
        found.add("password_again", "password_again: the two passwords differ")
    found.stop()
    admin_forms.reset_password(s, username=username, party=p.viewer.party,
                               password=values["password"], actor=p.viewer.username)


def _disable(s: Session, p: deps.Page, username: str, disabled: bool) -> None:
    admin_forms.set_disabled(s, username=username, party=p.viewer.party, disabled=disabled,
                             actor=p.viewer.username)


@router.post("/accounts/{username}/password")
async def reset_password(username: str, request: Request) -> Response:
    """A new password for a user of the administrator's party (their sessions end and their
    API tokens are revoked)."""
    data = await request.form(max_files=0, max_fields=10)
    return await run_in_threadpool(_account_act, request, username, data, "password",
                                   lambda s, p: _reset(s, p, username, data))


@router.post("/accounts/{username}/disable")
async def disable(username: str, request: Request) -> Response:
    data = await request.form(max_files=0, max_fields=10)
    return await run_in_threadpool(_account_act, request, username, data, "disabled",
                                   lambda s, p: _disable(s, p, username, True))


@router.post("/accounts/{username}/enable")
async def enable(username: str, request: Request) -> Response:
    data = await request.form(max_files=0, max_fields=10)
    return await run_in_threadpool(_account_act, request, username, data, "enabled",
                                   lambda s, p: _disable(s, p, username, False))
