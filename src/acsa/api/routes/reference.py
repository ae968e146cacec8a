"""Reference data: agreements, parties, units, officials, users, activities and exchange rates.

What a viewer reads is scoped to their party: the agreements it is a party to (others are
404), its partners, its own units, officials and users, the activities under its agreements
and the rates those agreements use. Administrators add units, officials and users of their own
party only, and activities under their party's agreements; finance officials and
administrators record rates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from acsa import errors, money
from acsa.activities import service as activities
from acsa.activities.models import Activity
from acsa.agreements import service as agreements
from acsa.agreements.domain import Agreement
from acsa.api import deps
from acsa.api.routes.orders import today
from acsa.api.schemas import (
    PROBLEM_RESPONSES,
    ActivityIn,
    ActivityOut,
    AgreementOut,
    AgreementSummary,
    Identifier,
    OfficialChangeIn,
    OfficialDeactivateIn,
    OfficialIn,
    OfficialOut,
    Page,
    PartyOut,
    RateIn,
    RateOut,
    UnitIn,
    UnitOut,
    UserIn,
    UserOut,
    refuse_nul,
)
from acsa.audit.models import Event
from acsa.db.base import utcnow
from acsa.parties import service as parties
from acsa.parties.models import Official, Unit
from acsa.rates import service as rates
from acsa.rates.models import Rate
from acsa.users import service as users
from acsa.users.models import User
from acsa.users.service import Viewer

router = APIRouter(tags=["reference"], responses=PROBLEM_RESPONSES)

USERNAME_LENGTH = Event.__table__.c.actor.type.length  # type: ignore[attr-defined]
# a rate's date, and the fiscal year around it, must be a real calendar date
RATE_DATES = (dt.date(1900, 1, 1), dt.date(2199, 12, 31))

T = TypeVar("T")
Direction = Literal["asc", "desc"]


def _page_no() -> Any:
    return Query(1, ge=1, le=1_000_000)


def _page_size() -> Any:
    return Query(50, ge=1, le=500)


def _page(items: Sequence[T], page: int, page_size: int) -> Page[T]:
    """A page of a short list the service has already scoped to the viewer's party."""
    start = (page - 1) * page_size
    return Page[T](items=list(items[start:start + page_size]), page=page,
                   page_size=page_size, total=len(items))


def _sorted(items: list[T], key: Callable[[T], Any], order: Direction) -> list[T]:
    return sorted(items, key=key, reverse=order == "desc")


# --- agreements ----------------------------------------------------------------------------
def _agreement_summary(a: Agreement) -> AgreementSummary:
    try:
        a.check_in_force(today())
        status = "in force"
    except errors.AcsaError as e:
        status = e.message
    return AgreementSummary(code=a.code, version=a.version, title=a.title,
                            short_name=a.short_name, parties=list(a.parties),
                            signed_on=a.signed_on, in_force_on=a.in_force_on,
                            ends_on=a.end_on(), status=status)


@router.get("/agreements", response_model=Page[AgreementSummary])
def list_agreements(request: Request, viewer: Viewer = deps.ViewerDep,
                    sort: Literal["code", "signed_on"] = "code", order: Direction = "asc",
                    page: int = _page_no(),
                    page_size: int = _page_size()) -> Page[AgreementSummary]:
    """The agreements the viewer's party is a party to, with their in-force status."""
    def go(s: Session) -> Page[AgreementSummary]:
        found = [_agreement_summary(a) for _, a in agreements.list_for_party(s, viewer.party)]
        return _page(_sorted(found, lambda a: getattr(a, sort), order), page, page_size)
    return deps.run(request, go)


@router.get("/agreements/{code}", response_model=AgreementOut)
def get_agreement(code: Identifier, request: Request,
                  viewer: Viewer = deps.ViewerDep) -> AgreementOut:
    """An agreement's terms: categories, activity types, settlement rules, rate policy,
    fiscal years, ceilings, and which values are unconfirmed."""
    def go(s: Session) -> AgreementOut:
        a = agreements.get_for_party(s, code, viewer.party)
        return AgreementOut(**_agreement_summary(a).model_dump(),
                            definition=a.model_dump(mode="json"))
    return deps.run(request, go)


# --- parties -------------------------------------------------------------------------------
@router.get("/parties", response_model=Page[PartyOut])
def list_parties(request: Request, viewer: Viewer = deps.ViewerDep,
                 page: int = _page_no(), page_size: int = _page_size()) -> Page[PartyOut]:
    """The viewer's party and its partners (the parties to its agreements), by code."""
    def go(s: Session) -> Page[PartyOut]:
        known = {viewer.party} | {p for _, a in agreements.list_for_party(s, viewer.party)
                                  for p in a.parties}
        found = [PartyOut(code=p.code, name=p.name, force=p.force, currency=p.currency)
                 for p in parties.list_parties(s) if p.code in known]
        return _page(found, page, page_size)
    return deps.run(request, go)


# --- units ---------------------------------------------------------------------------------
def _unit_out(u: Unit) -> UnitOut:
    return UnitOut(code=u.code, party=u.party_code, name=u.name, address=u.address)


@router.get("/units", response_model=Page[UnitOut])
def list_units(request: Request, viewer: Viewer = deps.ViewerDep,
               sort: Literal["code", "name"] = "code", order: Direction = "asc",
               page: int = _page_no(), page_size: int = _page_size()) -> Page[UnitOut]:
    """The units of the viewer's party."""
    def go(s: Session) -> Page[UnitOut]:
        found = [_unit_out(u) for u in parties.list_units(s, viewer.party)]
        return _page(_sorted(found, lambda u: getattr(u, sort), order), page, page_size)
    return deps.run(request, go)


@router.post("/units", response_model=UnitOut, status_code=201)
def add_unit(body: UnitIn, request: Request,
             viewer: Viewer = deps.ViewerDep) -> UnitOut:
    """Add a unit of the administrator's own party."""
    deps.require_admin(viewer)
    refuse_nul(body)

    def go(s: Session) -> UnitOut:
        unit = parties.add_unit(s, code=body.code, party=viewer.party, name=body.name,
                                address=body.address, actor=viewer.username)
        return _unit_out(unit)
    return deps.run(request, go)


# --- officials -----------------------------------------------------------------------------
def _official_out(s: Session, o: Official) -> OfficialOut:
    unit = s.get(Unit, o.unit_id) if o.unit_id else None
    limit = money.Money(o.limit_minor, o.limit_currency) \
        if o.limit_minor is not None and o.limit_currency else None
    return OfficialOut(code=o.code, name=o.name, person=o.person, party=o.party_code,
                       role=o.role, unit=unit.code if unit else None, rank_title=o.rank_title,
                       email=o.email, limit=str(limit) if limit else None,
                       limit_minor=limit.minor if limit else None,
                       limit_currency=limit.currency if limit else None,
                       valid_from=o.valid_from, valid_to=o.valid_to)


@router.get("/officials", response_model=Page[OfficialOut])
def list_officials(request: Request, viewer: Viewer = deps.ViewerDep,
                   role: Literal["requesting", "approving", "supplying", "receiving",
                                 "finance", "auditor"] | None = None,
                   sort: Literal["code", "name", "role", "valid_to"] = "code",
                   order: Direction = "asc", page: int = _page_no(),
                   page_size: int = _page_size()) -> Page[OfficialOut]:
    """The officials of the viewer's party, with their roles, delegated limits and validity."""
    def go(s: Session) -> Page[OfficialOut]:
        found = [_official_out(s, o) for o in parties.list_officials(s, viewer.party, role)]
        return _page(_sorted(found, lambda o: (str(getattr(o, sort) or ""), o.code), order),
                     page, page_size)
    return deps.run(request, go)


def _own(get: Callable[[str], Any], code: str, viewer: Viewer, what: str, field: str) -> Any:
    """A unit or official (`what`) of the viewer's party, by `get`; one of another party is
    not found, exactly like one that does not exist."""
    try:
        found = get(code)
    except errors.NotFound:
        found = None
    if found is None or found.party_code != viewer.party:
        raise errors.NotFound(f"no {what} {code!r} of {viewer.party}", field=field,
                              hint=f"List your party's {what}s at GET /api/v1/{what}s.")
    return found


def _own_unit(s: Session, code: str, viewer: Viewer) -> str:
    """A unit of the viewer's party; one of another party is not found."""
    return str(_own(lambda c: parties.get_unit(s, c), code, viewer, "unit", "unit").code)


@router.post("/officials", response_model=OfficialOut, status_code=201)
def add_official(body: OfficialIn, request: Request,
                 viewer: Viewer = deps.ViewerDep) -> OfficialOut:
    """Add an authorised official of the administrator's own party. A value limit is in the
    party's currency unless another is given."""
    deps.require_admin(viewer)
    refuse_nul(body)
    if body.limit_currency is not None and body.limit_amount is None:
        raise errors.InvalidInput("limit_currency without limit_amount", field="limit_amount",
                                  hint="Give the limit's amount, or leave both out.")

    def go(s: Session) -> OfficialOut:
        limit = None
        if body.limit_amount is not None:
            currency = body.limit_currency or parties.get_party(s, viewer.party).currency
            limit = money.Money.of(body.limit_amount, currency)
        unit = _own_unit(s, body.unit, viewer) if body.unit else None
        official = parties.add_official(
            s, code=body.code, name=body.name, party=viewer.party, role=body.role,
            valid_from=body.valid_from, valid_to=body.valid_to, limit=limit, unit=unit,
            person=body.person, rank_title=body.rank_title, email=body.email,
            actor=viewer.username)
        return _official_out(s, official)
    return deps.run(request, go)


def _own_official(s: Session, code: str, viewer: Viewer) -> Official:
    """An official of the viewer's party; one of another party is not found."""
    official: Official = _own(lambda c: parties.get_official(s, c), code, viewer, "official",
                              "code")
    return official


@router.patch("/officials/{code}", response_model=OfficialOut)
def change_official(code: str, body: OfficialChangeIn, request: Request,
                    viewer: Viewer = deps.ViewerDep) -> OfficialOut:
    """Change an official of the administrator's own party: the delegated limit, the validity
    or the unit, from now on (what the official already signed stays valid). Only the fields
    sent change; null clears the limit, the end of the validity or the unit. A limit is in the
    party's currency unless another is given. The change reaches every partner node
    (`official.changed`). The role is not changeable: add another official."""
    deps.require_admin(viewer)
    refuse_nul(body)
    sent = body.model_fields_set
    if "limit_currency" in sent and body.limit_currency is not None and \
            body.limit_amount is None:
        raise errors.InvalidInput("limit_currency without limit_amount", field="limit_amount",
                                  hint="Give the limit's amount, or leave both out.")
    if "valid_from" in sent and body.valid_from is None:
        raise errors.InvalidInput("valid_from: a validity has a start date", field="valid_from")

    def go(s: Session) -> OfficialOut:
        official = _own_official(s, code, viewer)
        kw: dict[str, Any] = {}
        if "limit_amount" in sent:
            currency = body.limit_currency or parties.get_party(s, viewer.party).currency
            kw["limit"] = money.Money.of(body.limit_amount, currency) \
                if body.limit_amount is not None else None
        for name in ("valid_from", "valid_to"):
            if name in sent:
                kw[name] = getattr(body, name)
        if "unit" in sent:
            kw["unit"] = _own_unit(s, body.unit, viewer) if body.unit else None
        parties.change_official(s, code=official.code, by_party=viewer.party,
                                actor=viewer.username, **kw)
        return _official_out(s, official)
    return deps.run(request, go)


@router.post("/officials/{code}/deactivate", response_model=OfficialOut)
def deactivate_official(code: str, body: OfficialDeactivateIn, request: Request,
                        viewer: Viewer = deps.ViewerDep) -> OfficialOut:
    """End the authority of an official of the administrator's own party after `on` (it only
    shortens the validity); what they signed up to then stays valid."""
    deps.require_admin(viewer)

    def go(s: Session) -> OfficialOut:
        official = _own_official(s, code, viewer)
        parties.deactivate_official(s, code=official.code, on=body.on, by_party=viewer.party,
                                    actor=viewer.username)
        return _official_out(s, official)
    return deps.run(request, go)


# --- users ---------------------------------------------------------------------------------
def _user_out(s: Session, u: User) -> UserOut:
    v = users.viewer_of(s, u)
    return UserOut(username=u.username, display_name=u.display_name, party=u.party_code,
                   official=v.official, role=v.role, is_admin=u.is_admin, disabled=u.disabled,
                   locked=u.locked_until is not None and u.locked_until > utcnow())


@router.get("/users", response_model=Page[UserOut])
def list_users(request: Request, viewer: Viewer = deps.ViewerDep,
               order: Direction = "asc", page: int = _page_no(),
               page_size: int = _page_size()) -> Page[UserOut]:
    """The users of the viewer's party and the official each signs as, by username."""
    def go(s: Session) -> Page[UserOut]:
        found = [_user_out(s, u) for u in users.list_users(s, viewer.party)]
        return _page(_sorted(found, lambda u: u.username, order), page, page_size)
    return deps.run(request, go)


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(body: UserIn, request: Request,
             viewer: Viewer = deps.ViewerDep) -> UserOut:
    """Add a user of the administrator's own party, optionally signing as one of its
    officials. The password is never shown again. A username has at most 40 characters, so
    the audit chain can name who acts."""
    deps.require_admin(viewer)
    refuse_nul(body)
    if len(body.username) > USERNAME_LENGTH:
        raise errors.InvalidInput(f"username: at most {USERNAME_LENGTH} characters",
                                  field="username")

    def go(s: Session) -> UserOut:
        if body.official:
            try:
                official = parties.get_official(s, body.official)
            except errors.NotFound:
                official = None
            if official is None or official.party_code != viewer.party:
                raise errors.NotFound(f"no official {body.official!r} of {viewer.party}",
                                      field="official",
                                      hint="List your party's officials at GET "
                                      "/api/v1/officials.")
        user = users.add_user(s, username=body.username, password=body.password,
                              party=viewer.party, official=body.official,
                              is_admin=body.is_admin, display_name=body.display_name,
                              actor=viewer.username)
        return _user_out(s, user)
    return deps.run(request, go)


# --- activities ----------------------------------------------------------------------------
def _activity_out(a: Activity, visible: set[str]) -> ActivityOut:
    return ActivityOut(code=a.code, name=a.name, type=a.type, place=a.place,
                       starts_on=a.starts_on, ends_on=a.ends_on,
                       agreements=sorted(r.code for r in a.agreements if r.code in visible))


def _own_codes(s: Session, viewer: Viewer) -> set[str]:
    return {a.code for _, a in agreements.list_for_party(s, viewer.party)}


@router.get("/activities", response_model=Page[ActivityOut])
def list_activities(request: Request, viewer: Viewer = deps.ViewerDep,
                    agreement: Identifier | None = None,
                    activity_type: Literal["exercise", "training", "peacekeeping", "hadr",
                                           "disaster_response", "evacuation", "liaison",
                                           "other"] | None = Query(None, alias="type"),
                    sort: Literal["starts_on", "code", "name"] = "starts_on",
                    order: Direction = "asc", page: int = _page_no(),
                    page_size: int = _page_size()) -> Page[ActivityOut]:
    """Exercises and missions under an agreement of the viewer's party (each listing only
    the agreements of that party)."""
    def go(s: Session) -> Page[ActivityOut]:
        own = _own_codes(s, viewer)
        codes = sorted(own & {agreement.upper()}) if agreement else sorted(own)
        found = [_activity_out(a, own) for a in activities.list_activities_under(s, codes)
                 if activity_type is None or a.type == activity_type]
        return _page(_sorted(found, lambda a: (getattr(a, sort), a.code), order),
                     page, page_size)
    return deps.run(request, go)


@router.post("/activities", response_model=ActivityOut, status_code=201)
def add_activity(body: ActivityIn, request: Request,
                 viewer: Viewer = deps.ViewerDep) -> ActivityOut:
    """Register an exercise or mission (administrators) under agreements of their party."""
    deps.require_admin(viewer)
    refuse_nul(body)
    if len({c.upper() for c in body.agreements}) != len(body.agreements):
        raise errors.InvalidInput("an agreement appears twice", field="agreements")

    def go(s: Session) -> ActivityOut:
        codes = [agreements.get_for_party(s, c, viewer.party).code for c in body.agreements]
        activity = activities.add_activity(
            s, code=body.code, name=body.name, type=body.type, place=body.place,
            starts_on=body.starts_on, ends_on=body.ends_on, agreement_codes=codes,
            actor=viewer.username)
        return _activity_out(activity, _own_codes(s, viewer))
    return deps.run(request, go)


# --- rates ---------------------------------------------------------------------------------
def _rate_out(r: Rate) -> RateOut:
    return RateOut(id=r.id, base=r.base, quote=r.quote, rate=r.rate,
                   effective_on=r.effective_on, kind=r.kind, agreement=r.agreement_code,
                   fiscal_year=r.fiscal_year, source=r.source)


@router.get("/rates", response_model=Page[RateOut])
def list_rates(request: Request, viewer: Viewer = deps.ViewerDep,
               currency: str | None = Query(None, pattern=r"^[A-Za-z]{3}$",
                                            description="Rates to or from this currency."),
               kind: Literal["market", "agreement_fy"] | None = None,
               agreement: Identifier | None = None,
               page: int = _page_no(), page_size: int = _page_size()) -> Page[RateOut]:
    """The rate table, oldest first: market rates, and the fixed fiscal-year rates of the
    viewer's party's agreements."""
    def go(s: Session) -> Page[RateOut]:
        own = sorted(_own_codes(s, viewer))
        rows, count = rates.search_rates(s, agreement_codes=own, currency=currency, kind=kind,
                                         agreement=agreement, offset=(page - 1) * page_size,
                                         limit=page_size)
        return Page[RateOut](items=[_rate_out(r) for r in rows], page=page,
                             page_size=page_size, total=count)
    return deps.run(request, go)


@router.post("/rates", response_model=RateOut, status_code=201)
def add_rate(body: RateIn, request: Request,
             viewer: Viewer = deps.ViewerDep) -> RateOut:
    """Record an exchange rate (finance officials and administrators): a market rate, or a
    fixed fiscal-year rate of an agreement of the viewer's party."""
    if not (viewer.is_admin or viewer.role == "finance"):
        raise deps.Forbidden("only a finance official or an administrator may record rates")
    refuse_nul(body)
    if not RATE_DATES[0] <= body.on <= RATE_DATES[1]:
        raise errors.InvalidInput(f"on: a rate is dated between {RATE_DATES[0].year} and "
                                  f"{RATE_DATES[1].year}", field="on")

    def go(s: Session) -> RateOut:
        agreement = agreements.get_for_party(s, body.agreement, viewer.party) \
            if body.agreement else None
        row = rates.add_rate(s, base=body.base, quote=body.quote, rate=format(body.rate, "f"),
                             on=body.on, source=body.source, kind=body.kind,
                             agreement=agreement, recorded_by=viewer.username)
        return _rate_out(row)
    return deps.run(request, go)
