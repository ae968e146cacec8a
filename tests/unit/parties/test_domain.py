"""Who may act: an official's role, party and period of authority, value limit, and the
separation of duties."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from acsa.errors import (
    AuthorityNotValid,
    CurrencyMismatch,
    OfficialNotAuthorized,
    SeparationOfDuties,
    ValueLimitExceeded,
    WrongParty,
    WrongRole,
)
from acsa.money import Money
from acsa.parties.domain import Role, check_authority, check_separation, check_value_limit

D = dt.date


def authority(**changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(
        official_code="JP-APP-01", official_role="approving", official_party="JP",
        valid_from=D(2026, 4, 1), valid_to=D(2027, 3, 31), roles={Role.APPROVING},
        party="JP", on=D(2026, 10, 1), action="accept")
    args.update(changes)
    return args


class TestAuthority:
    @pytest.mark.parametrize("on", [D(2026, 4, 1), D(2026, 10, 1), D(2027, 3, 31)])
    def test_the_right_official_within_the_period(self, on):
        check_authority(**authority(on=on))

    def test_any_of_several_roles_will_do(self):
        check_authority(**authority(official_role="supplying",
                                    roles={Role.APPROVING, Role.SUPPLYING}))

    def test_wrong_role(self):
        with pytest.raises(WrongRole) as e:
            check_authority(**authority(official_role="receiving",
                                        roles={Role.SUPPLYING, Role.APPROVING}))
        assert "JP-APP-01 is a receiving official" in e.value.message
        assert "approving or supplying official" in e.value.message
        assert e.value.field == "by"
        assert e.value.kind == "forbidden"

    def test_wrong_party(self):
        with pytest.raises(WrongParty) as e:
            check_authority(**authority(official_party="PH"))
        assert "acts for PH" in e.value.message
        assert "needs an official of JP" in e.value.message

    def test_role_is_checked_before_party(self):
        with pytest.raises(WrongRole):
            check_authority(**authority(official_role="finance", official_party="PH"))

    @pytest.mark.parametrize("on", [D(2026, 3, 31), D(2027, 4, 1)])
    def test_outside_the_period_of_authority(self, on):
        with pytest.raises(AuthorityNotValid) as e:
            check_authority(**authority(on=on))
        assert f"runs from 2026-04-01 to 2027-03-31, not on {on}" in e.value.message

    def test_an_open_ended_authority_starts_but_never_ends(self):
        check_authority(**authority(valid_to=None, on=D(2040, 1, 1)))
        with pytest.raises(AuthorityNotValid) as e:
            check_authority(**authority(valid_to=None, on=D(2026, 3, 31)))
        assert "runs from 2026-04-01, not on 2026-03-31" in e.value.message

    def test_every_refusal_is_an_authorization_failure(self):
        for cls in (WrongRole, WrongParty, AuthorityNotValid, ValueLimitExceeded,
                    SeparationOfDuties):
            assert issubclass(cls, OfficialNotAuthorized)


class TestValueLimit:
    def test_no_limit(self):
        check_value_limit(official_code="X", limit=None, value=Money(10**15, "JPY"),
                          rate_note="")

    def test_up_to_the_limit(self):
        check_value_limit(official_code="X", limit=Money(100_000_000, "JPY"),
                          value=Money(100_000_000, "JPY"), rate_note="")

    def test_above_the_limit(self):
        with pytest.raises(ValueLimitExceeded) as e:
            check_value_limit(official_code="JP-APP-01", limit=Money(100_000_000, "JPY"),
                              value=Money(100_000_001, "JPY"),
                              rate_note=" (at 0.3744 PHP/JPY, MOD FY2026 rate)")
        assert e.value.message == (
            "JP-APP-01 may sign up to 100,000,000 JPY; this order is worth 100,000,001 JPY"
            " (at 0.3744 PHP/JPY, MOD FY2026 rate)")

    def test_a_value_in_another_currency_is_not_compared_unconverted(self):
        with pytest.raises(CurrencyMismatch):
            check_value_limit(official_code="X", limit=Money(100_000, "JPY"),
                              value=Money(100, "USD"), rate_note="")


class TestSeparation:
    def test_different_people(self):
        check_separation(first_person="Maj. Santos", second_person="Col. Reyes",
                         first_act="requested", second_act="approve", number="N")

    def test_nobody_acted_first(self):
        check_separation(first_person=None, second_person="Col. Reyes",
                         first_act="requested", second_act="approve", number="N")

    def test_the_same_person_may_not_do_both(self):
        with pytest.raises(SeparationOfDuties) as e:
            check_separation(first_person="Maj. Santos", second_person="Maj. Santos",
                             first_act="proposed", second_act="approve", number="OFF-1")
        assert e.value.message == "Maj. Santos proposed order OFF-1 and so may not also approve it"
        assert "Another person must approve it." == e.value.hint
