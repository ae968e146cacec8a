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
    unit_id = get_unit(session, unit).id if unit else None
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
