"""What an agreement allows: in force, activities, categories, ammunition, settlement methods."""

from __future__ import annotations

import datetime as dt

import pytest

from acsa.agreements.domain import CATEGORIES, Kind, Method
from acsa.errors import (
    ActivityNotEligible,
    AgreementExpired,
    AgreementNotInForce,
    AmmunitionNotAllowed,
    CategoryNotEligible,
    MethodNotAllowed,
    WeaponsExcluded,
    WrongParty,
)
from tests.unit.agreements.samples import agreement

D = dt.date


class TestInForce:
    def test_unknown_entry_into_force_refuses_every_date(self):
        ag = agreement(in_force_on=None)
        with pytest.raises(AgreementNotInForce) as e:
            ag.check_in_force(D(2030, 1, 1))
        assert "no known entry-into-force date" in e.value.message
        assert e.value.field == "agreement"
        assert 'amends = "TEST"' in e.value.hint

    def test_before_entry_into_force_is_refused(self):
        with pytest.raises(AgreementNotInForce) as e:
            agreement().check_in_force(D(2026, 4, 24))
        assert "enters into force on 2026-04-25" in e.value.message
        assert e.value.field == "order_on"

    def test_from_entry_into_force_to_the_last_day_of_the_term(self):
        ag = agreement()
        ag.check_in_force(D(2026, 4, 25))
        ag.check_in_force(D(2036, 4, 24))  # 10 years, ending the day before the anniversary

    def test_after_the_term_it_has_expired(self):
        with pytest.raises(AgreementExpired) as e:
            agreement().check_in_force(D(2036, 4, 25))
        assert "expired on 2036-04-24" in e.value.message
        assert e.value.field == "order_on"

    def test_an_explicit_end_date_wins_over_the_term(self):
        ag = agreement(ends_on=D(2027, 1, 31))
        ag.check_in_force(D(2027, 1, 31))
        with pytest.raises(AgreementExpired):
            ag.check_in_force(D(2027, 2, 1))

    def test_an_auto_renewing_agreement_does_not_expire(self):
        agreement(auto_renew=True).check_in_force(D(2099, 1, 1))
        agreement(term_years=None).check_in_force(D(2099, 1, 1))

    def test_a_term_from_29_february_ends_on_28_february(self):
        ag = agreement(signed_on=D(2024, 1, 1), in_force_on=D(2024, 2, 29), term_years=1)
        assert ag.end_on() == D(2025, 2, 28)


class TestActivityType:
    def test_an_eligible_type_passes(self):
        agreement().check_activity_type("hadr")

    @pytest.mark.parametrize("activity_type", ["peacekeeping", "war", ""])
    def test_other_types_are_refused(self, activity_type):
        with pytest.raises(ActivityNotEligible) as e:
            agreement().check_activity_type(activity_type)
        assert repr(activity_type) in e.value.message
        assert e.value.field == "activity"
        assert "exercise, training, hadr" in e.value.hint


class TestCategory:
    @pytest.mark.parametrize("category", ["weapon", "weapons", "Weapons", "ARMS",
                                          "weapon_systems"])
    def test_weapons_are_always_excluded(self, category):
        with pytest.raises(WeaponsExcluded) as e:
            agreement().check_category(category, "exercise")
        assert "weapons are excluded" in e.value.message
        assert e.value.field == "category"

    def test_weapons_are_excluded_even_if_a_file_could_list_everything(self):
        ag = agreement(categories=list(CATEGORIES))
        with pytest.raises(WeaponsExcluded):
            ag.check_category("weapons", "exercise")

    @pytest.mark.parametrize(("category", "kind"), [
        ("food", Kind.SUPPLY), ("fuel", Kind.SUPPLY), ("transportation", Kind.SERVICE),
        ("medical", Kind.SERVICE),
    ])
    def test_an_eligible_category_returns_whether_supply_or_service(self, category, kind):
        assert agreement().check_category(category, "hadr") is kind

    def test_a_category_left_out_of_the_agreement_is_refused(self):
        with pytest.raises(CategoryNotEligible) as e:
            agreement().check_category("water", "exercise")
        assert "'water' is not eligible under TEST" in e.value.message

    def test_something_that_is_no_acsa_category_is_refused(self):
        with pytest.raises(CategoryNotEligible) as e:
            agreement().check_category("vehicles", "exercise")
        assert "'vehicles' is not an ACSA category" in e.value.message

    @pytest.mark.parametrize("activity_type", ["exercise", "training"])
    def test_ammunition_for_an_allowed_activity(self, activity_type):
        assert agreement().check_category("ammunition", activity_type) is Kind.SUPPLY

    def test_ammunition_for_another_activity_is_refused(self):
        with pytest.raises(AmmunitionNotAllowed) as e:
            agreement().check_category("ammunition", "hadr")
        assert "only for exercise, training" in e.value.message
        assert "not for 'hadr'" in e.value.message

    def test_ammunition_under_an_agreement_that_excludes_it(self):
        ag = agreement(ammunition={"allowed": False, "activity_types": []},
                       categories=["food", "fuel"])
        with pytest.raises(AmmunitionNotAllowed, match="does not allow ammunition"):
            ag.check_category("ammunition", "exercise")


class TestMethod:
    @pytest.mark.parametrize(("kind", "method"), [
        (Kind.SUPPLY, "cash"), (Kind.SUPPLY, "rik"), (Kind.SERVICE, "cash"),
        (Kind.SERVICE, "eve"),
    ])
    def test_allowed_methods(self, kind, method):
        assert agreement().check_method(kind, method) is Method(method)

    @pytest.mark.parametrize(("kind", "method"), [
        (Kind.SUPPLY, "eve"), (Kind.SERVICE, "rik"), (Kind.SUPPLY, "barter"),
    ])
    def test_methods_the_kind_cannot_use_are_refused(self, kind, method):
        with pytest.raises(MethodNotAllowed) as e:
            agreement().check_method(kind, method)
        assert f"a {kind.value} cannot be settled by {method!r}" in e.value.message
        assert e.value.field == "method"

    def test_an_agreement_may_narrow_the_methods(self):
        ag = agreement(settlement={"supply_methods": ["cash"]})
        with pytest.raises(MethodNotAllowed) as e:
            ag.check_method(Kind.SUPPLY, "rik")
        assert e.value.hint == "Allowed for a supply: cash."


class TestParties:
    def test_other_party(self):
        ag = agreement()
        assert ag.other_party("PH") == "JP"
        assert ag.other_party("JP") == "PH"

    def test_a_stranger_is_not_a_party(self):
        with pytest.raises(WrongParty, match="US is not a party to TEST"):
            agreement().other_party("US")

    def test_fiscal_year_is_the_named_party_s(self):
        ag = agreement()
        assert ag.fiscal_year("JP", D(2026, 3, 31)) == 2025
        assert ag.fiscal_year("PH", D(2026, 3, 31)) == 2026
