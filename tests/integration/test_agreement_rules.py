"""The agreement's rules on creating an order (in force, activity, category, weapons,
ammunition, settlement method): each refusal is its named error and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acsa import errors
from acsa.activities import service as activities
from acsa.db.engine import unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.rates import service as rates
from tests import factories
from tests.factories import D, airlift_line, draft, fuel_line, setup_world
from tests.integration.helpers import amend, assert_refused


def line(category: str, method: str = "cash", unit: str = "each") -> orders.LineInput:
    return orders.LineInput(category=category, description=f"{category} item",
                            quantity=Decimal(10), unit=unit, unit_price=Money.of("100", "PHP"),
                            method=method, stock_number="1305-01-000-0001")


AMMO = line("ammunition")

CREATE_REFUSALS = {
    "dated the day before entry into force": (
        errors.AgreementNotInForce, dict(on=D(2026, 2, 28))),
    "activity runs under another agreement": (
        errors.ActivityNotCovered, dict(activity="PORTCALL-YOKO")),
    "not an ACSA category": (errors.CategoryNotEligible, dict(lines=[line("vehicles")])),
    "weapons": (errors.WeaponsExcluded, dict(lines=[line("weapons")])),
    "weapons in a later line, any case": (
        errors.WeaponsExcluded, dict(lines=[fuel_line(), line("Arms")])),
    "ammunition for disaster relief": (
        errors.AmmunitionNotAllowed, dict(activity="HADR-CEBU", lines=[AMMO])),
    "equal-value exchange for a supply": (errors.MethodNotAllowed, dict(lines=[fuel_line("eve")])),
    "replacement in kind for a service": (
        errors.MethodNotAllowed, dict(lines=[airlift_line("rik")])),
    "a price in another currency than the order's": (
        errors.CurrencyMismatch, dict(lines=[fuel_line(currency="JPY", price="95")])),
}


@pytest.mark.parametrize("case", list(CREATE_REFUSALS))
def test_create_refused(world, case):
    error, kw = CREATE_REFUSALS[case]
    assert_refused(world, error, lambda s: draft(s, **kw))


def test_refusal_names_the_line(world):
    err = assert_refused(world, errors.WeaponsExcluded,
                         lambda s: draft(s, lines=[fuel_line(), line("weapons")]))
    assert err.message.startswith("line 2:")
    assert err.field == "lines[2].category"


def test_order_on_the_entry_into_force_day_is_accepted(session):
    order = draft(session, on=D(2026, 3, 1))
    assert order.state == "draft"


def test_ammunition_allowed_for_an_exercise(session):
    order = factories.order_to(session, "accepted", lines=[AMMO], activity="KAMANDAG-10")
    assert [ln.category for ln in order.lines] == ["ammunition"]


def test_each_settlement_method_its_kind_allows(session):
    order = draft(session, lines=[fuel_line("cash"), fuel_line("rik"), airlift_line("cash"),
                                  airlift_line("eve")])
    assert [(ln.kind, ln.method) for ln in order.lines] == [
        ("supply", "cash"), ("supply", "rik"), ("service", "cash"), ("service", "eve")]


# --- agreements not yet, or no longer, in force -------------------------------------------
@pytest.fixture
def unamended_world(engine, _acsa_home, monkeypatch):
    """The test world with PHJP as signed: no entry-into-force date known."""
    monkeypatch.setattr(factories, "amend_phjp_in_force", lambda home, on=None: None)
    with unit_of_work(engine) as s:
        setup_world(s, _acsa_home)
    return engine


def test_phjp_without_entry_into_force_refuses_every_order(unamended_world, _acsa_home):
    err = assert_refused(unamended_world, errors.AgreementNotInForce,
                         lambda s: draft(s, on=D(2027, 1, 5)))
    assert "no known entry-into-force date" in err.message
    with unit_of_work(unamended_world) as s:  # the other agreements are unaffected
        draft(s, agreement="PHUS", requester="PH", lines=[fuel_line(currency="USD")])
    with unit_of_work(unamended_world) as s:  # once amended into force, orders go through
        amend(s, _acsa_home, "phjp-in-force.toml",
              'amends = "PHJP"\nversion = 2\nin_force_on = 2026-03-01\n')
    with unit_of_work(unamended_world) as s:
        assert draft(s).number == "PHJP-JP-2026-0001"


@pytest.fixture
def jpus_ending(world, _acsa_home):
    """JPUS without renewal: its ten-year term from 2017-04-25 ends on 2027-04-24."""
    with unit_of_work(world) as s:
        amend(s, _acsa_home, "jpus-end.toml", 'amends = "JPUS"\nversion = 2\nauto_renew = false\n')
        rates.add_rate(s, base="USD", quote="JPY", rate="151", on=D(2027, 4, 1),
                       source="MOD FY2027 official rate", kind="agreement_fy",
                       agreement=factories.agreements.get(s, "JPUS"))
    return world


def jpus_draft(s, on):
    return draft(s, agreement="JPUS", activity="PORTCALL-YOKO", on=on,
                 lines=[fuel_line(currency="USD", price="2.50")])


def test_expired_agreement_refuses_new_orders(jpus_ending):
    err = assert_refused(jpus_ending, errors.AgreementExpired,
                         lambda s: jpus_draft(s, D(2027, 4, 25)))
    assert "2027-04-24" in err.message
    with unit_of_work(jpus_ending) as s:
        assert jpus_draft(s, D(2027, 4, 24)).state == "draft"


def test_agreement_expiring_between_request_and_acceptance(jpus_ending):
    with unit_of_work(jpus_ending) as s:
        number = jpus_draft(s, D(2027, 4, 20)).number
        orders.request_order(s, number=number, by="jp-requesting", on=D(2027, 4, 20))
    assert_refused(jpus_ending, errors.AgreementExpired, lambda s: orders.accept_order(
        s, number=number, by="us-approving", on=D(2027, 4, 25), supplier_poc="Lt Smith",
        supplying_unit="USN-CTF73"))


# --- an agreement narrowed by amendment ---------------------------------------------------
NARROWED = """amends = "PHJP"
version = 3
activity_types = ["exercise", "training", "peacekeeping", "disaster_response", "evacuation",
                  "liaison", "other"]
categories = ["food", "water", "billeting", "transportation", "fuel", "clothing",
              "communications", "base_support", "storage", "facilities", "training",
              "spare_parts", "repair", "port_services", "ammunition"]
"""


@pytest.fixture
def narrowed(world, _acsa_home):
    """PHJP amended to drop disaster relief (hadr) activities and medical services."""
    with unit_of_work(world) as s:
        amend(s, _acsa_home, "phjp-v3.toml", NARROWED)
    return world


def test_activity_type_no_longer_eligible(narrowed):
    assert_refused(narrowed, errors.ActivityNotEligible, lambda s: draft(s, activity="HADR-CEBU"))
    assert_refused(narrowed, errors.ActivityNotEligible, lambda s: activities.add_activity(
        s, code="HADR-LEYTE", name="Relief Leyte", type="hadr", place="Tacloban",
        starts_on=D(2026, 10, 1), ends_on=D(2026, 10, 30), agreement_codes=["PHJP"]))


def test_category_not_eligible_under_the_agreement(narrowed):
    err = assert_refused(narrowed, errors.CategoryNotEligible,
                         lambda s: draft(s, lines=[line("medical", unit="h")]))
    assert "PHJP" in err.message
    with unit_of_work(narrowed) as s:  # PHUS still covers medical services
        draft(s, agreement="PHUS", requester="PH",
              lines=[orders.LineInput(category="medical", description="field surgery",
                                      quantity=Decimal(2), unit="h",
                                      unit_price=Money.of(300, "USD"), method="cash")])
