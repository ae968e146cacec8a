"""Who may act: roles, and the checks of an official's authority. Pure."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Set as AbstractSet

from acsa import errors
from acsa.money import Money


class Role(enum.StrEnum):
    REQUESTING = "requesting"
    APPROVING = "approving"
    SUPPLYING = "supplying"
    RECEIVING = "receiving"
    FINANCE = "finance"
    AUDITOR = "auditor"


PARTIES = {
    "PH": ("Republic of the Philippines", "Armed Forces of the Philippines (AFP)", "PHP"),
    "JP": ("Japan", "Japan Self-Defense Forces (JSDF)", "JPY"),
    "US": ("United States of America", "United States Armed Forces", "USD"),
}


def check_authority(*, official_code: str, official_role: str, official_party: str,
                    valid_from: dt.date, valid_to: dt.date | None, roles: AbstractSet[Role],
                    party: str, on: dt.date, action: str) -> None:
    if official_role not in roles:
        want = " or ".join(sorted(r.value for r in roles))
        raise errors.WrongRole(
            f"{official_code} is a{'n' if official_role[0] in 'aeiou' else ''} {official_role} "
            f"official; to {action} needs {'an' if want[0] in 'aeiou' else 'a'} {want} official",
            hint=f"Name a {want} official of {party} with --by.", field="by",
            official=official_code, role=official_role, roles=sorted(r.value for r in roles),
            task=action, party=party)
    if official_party != party:
        raise errors.WrongParty(
            f"{official_code} acts for {official_party}; to {action} this order needs an "
            f"official of {party}", hint=f"Name an official of {party} with --by.", field="by",
            official=official_code, acts_for=official_party, task=action, party=party)
    if on < valid_from or (valid_to is not None and on > valid_to):
        until = f" to {valid_to}" if valid_to else ""
        raise errors.AuthorityNotValid(
            f"{official_code}'s authority runs from {valid_from}{until}, not on {on}",
            hint="Renew the official's delegation or name another official.", field="by",
            official=official_code, valid_from=valid_from.isoformat(),
            valid_to=valid_to.isoformat() if valid_to else None, on=on.isoformat())


def check_value_limit(*, official_code: str, limit: Money | None, value: Money,
                      rate_note: str) -> None:
    if limit is None:
        return
    if value > limit:
        raise errors.ValueLimitExceeded(
            f"{official_code} may sign up to {limit}; this order is worth {value}{rate_note}",
            hint="Have an official with a higher delegated limit sign, or split the order.",
            field="by", official=official_code, limit=str(limit), value=str(value))


def check_separation(*, first_person: str | None, second_person: str, first_act: str,
                     second_act: str, number: str) -> None:
    if first_person is not None and first_person == second_person:
        raise errors.SeparationOfDuties(
            f"{second_person} {first_act} order {number} and so may not also {second_act} it",
            hint=f"Another person must {second_act} it.", field="by", person=second_person,
            first_act=first_act, second_act=second_act, number=number)
