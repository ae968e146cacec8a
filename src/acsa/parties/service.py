"""Parties, units and officials: creating them and finding an official able to act."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from acsa import errors, money
from acsa.audit import service as audit
from acsa.parties.domain import PARTIES, Role
from acsa.parties.models import Official, Party, Unit


def ensure_parties(session: Session) -> None:
    for code, (name, force, currency) in PARTIES.items():
        if session.get(Party, code) is None:
            session.add(Party(code=code, name=name, force=force, currency=currency))
    session.flush()


def get_party(session: Session, code: str) -> Party:
    party = session.get(Party, code.upper())
    if party is None:
        raise errors.NotFound(f"no party {code!r}", field="party",
                              hint=f"Parties: {', '.join(sorted(PARTIES))}.")
    return party


def list_parties(session: Session) -> list[Party]:
    return list(session.scalars(select(Party).order_by(Party.code)))


def add_unit(session: Session, *, code: str, party: str, name: str, address: str = "",
             actor: str = "admin") -> Unit:
    get_party(session, party)
    if session.scalar(select(Unit).where(Unit.code == code)):
        raise errors.AlreadyExists(f"unit {code!r} already exists", field="code")
    unit = Unit(code=code, party_code=party.upper(), name=name, address=address)
    session.add(unit)
    session.flush()
    audit.append(session, party=unit.party_code, actor=actor, action="unit.added",
                 subject=f"unit:{code}", payload={"name": name, "address": address})
    return unit


def _cached(session: Session, model: type, code: str) -> object | None:
    """The `model` row with `code` already loaded in this session, found through the session's
    identity map instead of a query (the ids of rows found by code are remembered per session).
    Flushes first, as the query it replaces would have (autoflush), so what is written and when
    stays the same. A row whose code no longer matches (a rolled-back savepoint that freed the
    id) is not trusted: the caller queries."""
    ident = session.info.get(_BY_CODE, {}).get((model, code))
    if ident is None:
        return None
    if session.autoflush:
        session.flush()
    row = session.get(model, ident)
    return row if row is not None and row.code == code else None  # type: ignore[attr-defined]


def _remember(session: Session, row: object) -> None:
    session.info.setdefault(_BY_CODE, {})[(type(row), row.code)] = row.id  # type: ignore[attr-defined]


_BY_CODE = "acsa_id_by_code"


@functools.cache
def _unit_by_code() -> Select[tuple[Unit]]:
    return select(Unit).where(Unit.code == bindparam("code"))  # built once


def get_unit(session: Session, code: str) -> Unit:
    unit = _cached(session, Unit, code)
    if unit is not None:
        return unit  # type: ignore[return-value]
    unit = session.scalar(_unit_by_code(), {"code": code})
    if unit is None:
        raise errors.NotFound(f"no unit {code!r}", field="unit",
                              hint="List units with `acsa units list`.")
    _remember(session, unit)
    return unit


def list_units(session: Session, party: str | None = None) -> list[Unit]:
    stmt = select(Unit).order_by(Unit.party_code, Unit.code)
    if party:
        stmt = stmt.where(Unit.party_code == party.upper())
    return list(session.scalars(stmt))


def add_official(session: Session, *, code: str, name: str, party: str, role: str,
                 valid_from: dt.date, valid_to: dt.date | None = None,
                 limit: money.Money | None = None, unit: str | None = None,
                 person: str | None = None, rank_title: str = "", email: str = "",
                 actor: str = "admin") -> Official:
    get_party(session, party)
    try:
        role = Role(role).value
    except ValueError:
        raise errors.InvalidInput(f"unknown role {role!r}", field="role",
                                  hint=f"Roles: {', '.join(r.value for r in Role)}.") from None
    if valid_to is not None and valid_to < valid_from:
        raise errors.InvalidInput("valid_to is before valid_from", field="valid_to")
    if limit is not None and limit.minor <= 0:
        raise errors.InvalidAmount("a value limit must be positive", field="limit")
    if session.scalar(select(Official).where(Official.code == code)):
        raise errors.AlreadyExists(f"official {code!r} already exists", field="code")
    unit_id = None
    if unit:
        found = get_unit(session, unit)
        if found.party_code != party.upper():
            raise errors.NotFound(f"no unit {unit!r} of {party.upper()}", field="unit",
                                  hint="Name one of the official's own party's units "
                                  "(`acsa units list`).")
        unit_id = found.id
    official = Official(
        code=code, person=person or code, name=name, party_code=party.upper(), role=role,
        unit_id=unit_id, valid_from=valid_from, valid_to=valid_to, rank_title=rank_title,
        limit_minor=limit.minor if limit else None,
        limit_currency=limit.currency if limit else None,
        email=email)
    session.add(official)
    session.flush()
    audit.append(session, party=official.party_code, actor=actor, action="official.added",
                 subject=f"official:{code}",
                 payload={"name": name, "role": role, "person": official.person,
                          "limit": str(limit) if limit else None, "valid_from": valid_from,
                          "valid_to": valid_to})
    return official


@functools.cache
def _official_by_code() -> Select[tuple[Official]]:
    return select(Official).where(Official.code == bindparam("code"))  # built once


def get_official(session: Session, code: str) -> Official:
    """The official by code; loaded once per session (a command asks for its actor several
    times: the service, the authority check, the separation check)."""
    official = _cached(session, Official, code)
    if official is not None:
        return official  # type: ignore[return-value]
    official = session.scalar(_official_by_code(), {"code": code})
    if official is None:
        raise errors.NotFound(f"no official {code!r}", field="by",
                              hint="List officials with `acsa officials list`.")
    _remember(session, official)
    return official


def list_officials(session: Session, party: str | None = None,
                   role: str | None = None) -> list[Official]:
    stmt = select(Official).order_by(Official.party_code, Official.role, Official.code)
    if party:
        stmt = stmt.where(Official.party_code == party.upper())
    if role:
        stmt = stmt.where(Official.role == role)
    return list(session.scalars(stmt))


# --- changing an official ------------------------------------------------------------------
class _Keep:
    """The value of a field a change leaves as it is (None means "none": no limit, no end,
    no unit)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()
CHANGEABLE = ("limit", "valid_from", "valid_to", "unit")


def official_terms(session: Session, official: Official) -> dict[str, Any]:
    """What a change may alter, as text: the delegated limit ('5000000.00 PHP' or None), the
    validity (ISO dates, `valid_to` None for open-ended) and the unit's code (or None)."""
    limit = (str(money.Money(official.limit_minor, official.limit_currency))
             if official.limit_minor is not None and official.limit_currency else None)
    unit = session.get(Unit, official.unit_id) if official.unit_id else None
    return {"limit": limit, "valid_from": official.valid_from.isoformat(),
            "valid_to": official.valid_to.isoformat() if official.valid_to else None,
            "unit": unit.code if unit else None}


def _official_to_change(session: Session, code: str) -> Official:
    try:
        return get_official(session, code)
    except errors.NotFound:
        raise errors.NotFound(f"no official {code!r}", field="code",
                              hint="List officials with `acsa officials list`.") from None


def _check_own(official: Official, by_party: str | None) -> None:
    if by_party is not None and by_party.upper() != official.party_code:
        raise errors.NotOwner(
            f"an administrator of {by_party.upper()} cannot change {official.code}, an official "
            f"of {official.party_code}", field="code",
            hint=f"Only {official.party_code}'s administrators change its officials; the "
                 "change then reaches every partner.")


def change_official(session: Session, *, code: str, by_party: str | None,
                    limit: money.Money | None | Any = KEEP,
                    valid_from: dt.date | Any = KEEP, valid_to: dt.date | None | Any = KEEP,
                    unit: str | None | Any = KEEP, actor: str = "admin") -> Official:
    """Change an official's delegated limit (None: no limit), validity or unit, from now on.

    `by_party`: the party of the administrator making the change (None only on a database
    shared by every party, with no node party): an administrator changes their own party's
    officials only (`NotOwner`). The role and the person are not changeable: an official's
    other role is another official record (see docs/web.md). Every field is checked before
    anything is written; a refusal names the field and changes nothing. What the official
    already signed stays as it was: acts are checked once, when taken, against the official
    as they were then, and a change never re-checks them. The audit event holds the terms
    before and after."""
    official = _official_to_change(session, code)
    _check_own(official, by_party)
    new_from = official.valid_from if valid_from is KEEP else valid_from
    new_to = official.valid_to if valid_to is KEEP else valid_to
    if not isinstance(new_from, dt.date):
        raise errors.InvalidInput("valid_from: a validity has a start date", field="valid_from")
    if new_to is not None and new_to < new_from:
        raise errors.InvalidInput(f"valid_to: the validity would end on {new_to}, before it "
                                  f"starts on {new_from}", field="valid_to",
                                  hint="Give an end on or after the start.")
    if limit is not KEEP and limit is not None:
        money.check_currency(limit.currency)
        if limit.minor <= 0:
            raise errors.InvalidAmount("limit: a value limit must be positive", field="limit",
                                       hint="Give a positive amount, or no limit at all.")
    unit_id, unit_code = official.unit_id, None
    if unit is not KEEP:
        unit_id = None
        if unit:
            found = get_unit(session, unit)
            if found.party_code != official.party_code:
                raise errors.NotFound(f"no unit {unit!r} of {official.party_code}",
                                      field="unit", hint="Name one of the official's own "
                                      "party's units (`acsa units list`).")
            unit_id, unit_code = found.id, found.code
    before = official_terms(session, official)
    after = {"limit": before["limit"] if limit is KEEP else str(limit) if limit else None,
             "valid_from": new_from.isoformat(),
             "valid_to": new_to.isoformat() if new_to else None,
             "unit": before["unit"] if unit is KEEP else unit_code}
    changed = [k for k in CHANGEABLE if before[k] != after[k]]
    if not changed:
        raise errors.InvalidInput(f"the change leaves {official.code} as they are",
                                  field="limit" if limit is not KEEP else "valid_to",
                                  hint="Give a new limit, validity or unit.")
    if limit is not KEEP:
        official.limit_minor = limit.minor if limit is not None else None
        official.limit_currency = limit.currency if limit is not None else None
    official.valid_from, official.valid_to, official.unit_id = new_from, new_to, unit_id
    session.flush()
    audit.append(session, party=official.party_code, actor=actor, action="official.changed",
                 subject=f"official:{official.code}",
                 payload={"before": before, "after": after, "changed": changed})
    return official


def deactivate_official(session: Session, *, code: str, on: dt.date, by_party: str | None,
                        actor: str = "admin") -> Official:
    """End an official's authority after `on` (their last valid day): a change of `valid_to`
    that may only shorten it (an official whose authority already ends earlier is refused:
    extend it with `change_official`)."""
    official = _official_to_change(session, code)
    _check_own(official, by_party)
    if on < official.valid_from:
        raise errors.InvalidInput(f"on: {official.code}'s authority starts on "
                                  f"{official.valid_from}; it cannot end before, on {on}",
                                  field="on")
    if official.valid_to is not None and official.valid_to <= on:
        raise errors.InvalidInput(f"on: {official.code}'s authority already ends on "
                                  f"{official.valid_to}", field="on",
                                  hint="Deactivation only shortens a validity.")
    return change_official(session, code=code, by_party=by_party, valid_to=on, actor=actor)
