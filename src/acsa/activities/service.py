"""Registering activities (exercises, missions) and finding them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from acsa import errors
from acsa.activities.models import Activity, activity_agreements
from acsa.agreements import service as agreements
from acsa.agreements.domain import ACTIVITY_TYPES
from acsa.agreements.models import AgreementRecord
from acsa.audit import service as audit


def add_activity(session: Session, *, code: str, name: str, type: str, place: str,
                 starts_on: dt.date, ends_on: dt.date, agreement_codes: list[str],
                 actor: str = "admin") -> Activity:
    if type not in ACTIVITY_TYPES:
        raise errors.InvalidInput(f"unknown activity type {type!r}", field="type",
                                  hint=f"Types: {', '.join(ACTIVITY_TYPES)}.")
    if ends_on < starts_on:
        raise errors.InvalidInput("the activity ends before it starts", field="ends_on")
    if not agreement_codes:
        raise errors.InvalidInput("an activity runs under at least one agreement",
                                  field="agreement", hint="Give --agreement CODE (repeatable).")
    if not place.strip():
        raise errors.InvalidInput("an activity needs a place", field="place")
    if session.scalar(select(Activity).where(Activity.code == code)):
        raise errors.AlreadyExists(f"activity {code!r} already exists", field="code")
    records = []
    for c in agreement_codes:
        agreement = agreements.get(session, c)
        agreement.check_activity_type(type)
        record = session.get(AgreementRecord, agreement.code)
        if record not in records:  # an agreement named twice (or in two cases) runs it once
            records.append(record)
    agreement_codes = [r.code for r in records]  # type: ignore[union-attr]
    activity = Activity(code=code, name=name, type=type, place=place, starts_on=starts_on,
                        ends_on=ends_on, agreements=records)
    session.add(activity)
    session.flush()
    audit.append(session, party="", actor=actor, action="activity.added",
                 subject=f"activity:{code}",
                 payload={"name": name, "type": type, "place": place, "starts_on": starts_on,
                          "ends_on": ends_on, "agreements": sorted(agreement_codes)})
    return activity


def get_activity(session: Session, code: str) -> Activity:
    from acsa.parties.service import _cached, _remember  # the same per-session lookup

    activity = _cached(session, Activity, code)
    if activity is not None:
        return activity  # type: ignore[return-value]
    activity = session.scalar(select(Activity).where(Activity.code == code))
    if activity is None:
        raise errors.NotFound(f"no activity {code!r}", field="activity",
                              hint="List activities with `acsa activities list`.")
    _remember(session, activity)
    return activity


def list_activities(session: Session) -> list[Activity]:
    return list(session.scalars(select(Activity).order_by(Activity.starts_on, Activity.code)))


def list_activities_under(session: Session, agreement_codes: list[str]) -> list[Activity]:
    """Activities that run under at least one of these agreements."""
    under = select(activity_agreements.c.activity_id).where(
        activity_agreements.c.agreement_code.in_(agreement_codes))
    return list(session.scalars(select(Activity).where(Activity.id.in_(under))
                                .order_by(Activity.starts_on, Activity.code)))
