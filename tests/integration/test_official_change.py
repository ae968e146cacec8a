"""Changing an official's delegated limit, validity or unit, and deactivating them
(`parties.change_official`, `parties.deactivate_official`): only by their own party, validated
like their appointment (a refusal names the field and changes nothing), audited with the terms
before and after, and never undoing what the official already signed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from acsa import errors
from acsa.audit.models import Event
from acsa.db.engine import unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.parties import service as parties
from tests.factories import D
from tests.integration.helpers import assert_refused, make_order

ON = D(2026, 5, 10)


def terms(engine, code="ph-approving"):
    with unit_of_work(engine) as s:
        return parties.official_terms(s, parties.get_official(s, code))


def priced(amount: str) -> list[orders.LineInput]:
    return [orders.LineInput(category="fuel", description="Diesel, bulk", quantity=Decimal(1),
                             unit="L", unit_price=Money.of(amount, "PHP"), method="cash",
                             stock_number="9140-00-273-2377")]


def accept(number: str, by: str = "ph-approving", on=ON):
    return lambda s: orders.accept_order(s, number=number, by=by, on=on,
                                         supplier_poc="Cdr Cruz", supplying_unit="PN-NFSL")


def test_change_limit_validity_and_unit_is_audited_with_before_and_after(world):
    with unit_of_work(world) as s:
        parties.add_unit(s, code="PN-2", party="PH", name="second unit")
        parties.change_official(s, code="ph-approving", by_party="PH",
                                limit=Money.of(2_000_000, "PHP"), valid_from=D(2026, 2, 1),
                                valid_to=D(2027, 1, 31), unit="PN-2", actor="ph-admin")
    assert terms(world) == {"limit": "2,000,000.00 PHP", "valid_from": "2026-02-01",
                            "valid_to": "2027-01-31", "unit": "PN-2"}
    with unit_of_work(world) as s:
        ev = s.scalars(select(Event).where(Event.action == "official.changed")).one()
        assert (ev.party, ev.actor, ev.subject) == ("PH", "ph-admin", "official:ph-approving")
        payload = json.loads(ev.payload)
        assert payload["before"] == {"limit": "50,000,000.00 PHP", "valid_from": "2026-01-01",
                                     "valid_to": "2030-12-31", "unit": "PN-NFSL"}
        assert payload["after"]["limit"] == "2,000,000.00 PHP"
        assert payload["changed"] == ["limit", "valid_from", "valid_to", "unit"]


def test_only_the_fields_given_change(world):
    with unit_of_work(world) as s:
        parties.change_official(s, code="ph-approving", by_party="PH",
                                limit=Money.of(100, "USD"))
    t = terms(world)
    assert t["limit"] == "100.00 USD" and t["valid_to"] == "2030-12-31" and t["unit"] == "PN-NFSL"
    with unit_of_work(world) as s:  # None: no limit, no end, no unit
        parties.change_official(s, code="ph-approving", by_party=None, limit=None,
                                valid_to=None, unit=None)
    assert terms(world) == {"limit": None, "valid_from": "2026-01-01", "valid_to": None,
                            "unit": None}


@pytest.mark.parametrize("kw, error, field", [
    ({"valid_to": D(2025, 12, 31)}, errors.InvalidInput, "valid_to"),
    ({"valid_from": D(2031, 1, 1)}, errors.InvalidInput, "valid_to"),
    ({"limit": Money(0, "PHP")}, errors.InvalidAmount, "limit"),
    ({"limit": Money(-5, "PHP")}, errors.InvalidAmount, "limit"),
    ({"unit": "NO-SUCH"}, errors.NotFound, "unit"),
    ({"unit": "JMSDF-ESC1"}, errors.NotFound, "unit"),  # JP's unit, not PH's
    ({"valid_to": D(2030, 12, 31)}, errors.InvalidInput, "valid_to"),  # nothing changes
    ({}, errors.InvalidInput, "valid_to"),
])
def test_bad_changes_are_refused_naming_the_field(world, kw, error, field):
    before = terms(world)
    err = assert_refused(world, error, lambda s: parties.change_official(
        s, code="ph-approving", by_party="PH", **kw))
    assert err.field == field
    assert terms(world) == before



def test_unknown_official(world):
    err = assert_refused(world, errors.NotFound, lambda s: parties.change_official(
        s, code="ph-nobody", by_party="PH", limit=Money.of(1, "PHP")))
    assert err.field == "code"


def test_another_partys_administrator_is_refused(world):
    before = terms(world, "jp-approving")
    err = assert_refused(world, errors.NotOwner, lambda s: parties.change_official(
        s, code="jp-approving", by_party="PH", limit=Money.of(1, "JPY")))
    assert err.field == "code" and "JP" in err.message
    assert_refused(world, errors.NotOwner, lambda s: parties.deactivate_official(
        s, code="jp-approving", by_party="ph", on=ON))
    assert terms(world, "jp-approving") == before


def test_acts_already_taken_stay_valid_and_later_acts_see_the_new_terms(world):
    """ph-approving accepted a 40,000,000 PHP order under a 50,000,000 PHP limit; lowered to
    1,000,000 PHP the acceptance stands, and the next large order is refused."""
    first = make_order(world, "requested", lines=priced("40000000"))
    with unit_of_work(world) as s:
        accept(first)(s)
        parties.change_official(s, code="ph-approving", by_party="PH",
                                limit=Money.of(1_000_000, "PHP"))
    with unit_of_work(world) as s:
        order = orders.get_order(s, first)
        assert order.state == "accepted"
        assert order.accepted_by_id == parties.get_official(s, "ph-approving").id
    second = make_order(world, "requested", lines=priced("40000000"))
    assert_refused(world, errors.ValueLimitExceeded, accept(second))


def test_deactivated_official_can_no_longer_sign(world):
    number = make_order(world, "requested", lines=priced("1000"))
    with unit_of_work(world) as s:
        parties.deactivate_official(s, code="ph-approving", on=D(2026, 5, 11), by_party="PH")
    assert terms(world)["valid_to"] == "2026-05-11"
    assert_refused(world, errors.AuthorityNotValid, accept(number, on=D(2026, 5, 12)))
    with unit_of_work(world) as s:  # up to the last day their authority still holds
        accept(number, on=D(2026, 5, 11))(s)


@pytest.mark.parametrize("on", [D(2025, 12, 31), D(2030, 12, 31), D(2031, 6, 1)])
def test_deactivation_only_shortens(world, on):
    err = assert_refused(world, errors.InvalidInput, lambda s: parties.deactivate_official(
        s, code="ph-approving", on=on, by_party="PH"))
    assert err.field == "on"
