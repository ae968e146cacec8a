"""Defects a review of orders, agreements, parties and activities found, each with its test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from acsa import errors
from acsa.agreements import loader
from acsa.db.engine import unit_of_work
from acsa.orders import service as orders
from acsa.orders.domain import ReceiptLineInput
from acsa.parties import service as parties
from acsa.settlement import service as settlement
from tests import factories as f
from tests.factories import D, draft, order_to
from tests.integration.helpers import assert_refused, make_order

LATER = D(2026, 5, 12)


def receive(number, lines=None, **kw):
    return lambda s: orders.record_receipt(s, number=number, by="jp-receiving", on=LATER,
                                           lines=lines or {}, **kw)


# --- receipts: quantities are checked as a delivery's are ------------------------------------
def test_a_negative_damaged_quantity_bills_more_than_was_delivered(world):
    # 10000 delivered, "10000 received, -500 damaged": billed 10500 without any reason
    number = make_order(world, "delivered")
    assert_refused(world, errors.InvalidQuantity, receive(number, {1: ReceiptLineInput(
        received=Decimal(10000), damaged=Decimal(-500))}))


def test_a_negative_received_quantity_makes_a_negative_claim(world):
    number = make_order(world, "delivered")
    assert_refused(world, errors.InvalidQuantity, receive(number, {1: ReceiptLineInput(
        received=Decimal(-1), reason="lost")}))


@pytest.mark.parametrize("received, damaged", [("NaN", "0"), ("10000", "NaN"),
                                               ("Infinity", "0"), ("9999.0001", "0")])
def test_a_receipt_quantity_that_is_not_a_quantity_is_a_named_refusal(world, received, damaged):
    number = make_order(world, "delivered")
    assert_refused(world, errors.InvalidQuantity, receive(number, {1: ReceiptLineInput(
        received=Decimal(received), damaged=Decimal(damaged), reason="counted")}))


def test_a_receipt_of_zero_with_a_reason_is_still_accepted(world):
    number = make_order(world, "delivered")
    with unit_of_work(world) as s:
        receive(number, {1: ReceiptLineInput(received=Decimal(0), reason="never arrived")})(s)
    with unit_of_work(world) as s:
        line = orders.get_order(s, number).receipts[0].lines[0]
        assert (line.received, line.discrepancy) == (0, "short")


# --- a partner's receipt naming its deliveries --------------------------------------------
def test_a_partners_receipt_naming_no_delivery_is_refused_not_a_crash(world):
    number = make_order(world, "delivered")
    assert_refused(world, errors.InvalidInput, receive(number, deliveries=[]))


def test_a_partners_receipt_naming_a_delivery_twice_is_refused(world):
    # the delivery counted twice: 20000 "delivered", so 20000 received and billed
    number = make_order(world, "delivered")
    assert_refused(world, errors.InvalidTransition, receive(
        number, {1: ReceiptLineInput(received=Decimal(20000))}, deliveries=[0, 0]))


def test_a_partners_receipt_naming_a_negative_position_is_refused(world):
    number = make_order(world, "delivered")
    assert_refused(world, errors.InvalidTransition, receive(number, deliveries=[-1]))


def test_a_partners_receipt_naming_its_delivery_still_works(world):
    number = make_order(world, "delivered")
    with unit_of_work(world) as s:
        receive(number, deliveries=[0])(s)
    with unit_of_work(world) as s:
        order = orders.get_order(s, number)
        assert order.state == "received"
        assert len(settlement.claims_of(s, order)) == 1


# --- numbers taken from the requesting party's node ---------------------------------------
@pytest.mark.parametrize("number", ["PHJP-JP-2026-00001", "PHJP-JP-2026-0000",
                                    "PHJP-JP-2026-\u0663\u0663\u0663\u0663"])
def test_a_number_not_in_the_canonical_form_is_refused(world, number):
    # "-00001" is the same sequence as the existing "-0001": a duplicate order number
    with unit_of_work(world) as s:
        assert draft(s).number == "PHJP-JP-2026-0001"
    assert_refused(world, errors.InvalidInput, lambda s: draft(s, number=number))


def test_a_later_number_from_the_partner_is_taken(world):
    with unit_of_work(world) as s:
        assert draft(s, number="PHJP-JP-2026-0003").number == "PHJP-JP-2026-0003"
        assert draft(s).number == "PHJP-JP-2026-0004"


# --- officials -----------------------------------------------------------------------------
def test_an_official_cannot_be_placed_in_another_partys_unit(world):
    # change_official refuses this; add_official did not
    assert_refused(world, errors.NotFound, lambda s: parties.add_official(
        s, code="ph-in-jp-unit", name="x", party="PH", role="receiving",
        valid_from=D(2026, 1, 1), unit="JMSDF-ESC1"))


# --- agreement files ------------------------------------------------------------------------
def test_an_amendment_may_not_change_the_agreements_code():
    base = loader.bundled_files()
    amendment = ("<test>/rename.toml", b'amends = "JPUS"\nversion = 99\ncode = "JPXX"\n')
    with pytest.raises(errors.AgreementFileInvalid):
        loader.load_all(base + [amendment])


def test_an_agreement_ending_before_it_enters_into_force_is_refused():
    base = loader.bundled_files()
    amendment = ("<test>/ends.toml",
                 b'amends = "JPUS"\nversion = 99\nends_on = 1990-01-01\n')
    with pytest.raises(errors.AgreementFileInvalid):
        loader.load_all(base + [amendment])


def test_order_to_still_reaches_received(session):
    assert order_to(session, "received").state == "received"


# --- activities -----------------------------------------------------------------------------
@pytest.mark.parametrize("codes", [["PHJP", "PHJP"], ["PHJP", "phjp"]])
def test_an_agreement_named_twice_for_an_activity_is_not_a_crash(world, codes):
    from acsa.activities import service as activities

    with unit_of_work(world) as s:
        activities.add_activity(s, code="TWICE", name="Twice", type="exercise", place="Subic",
                                starts_on=D(2026, 5, 1), ends_on=D(2026, 5, 30),
                                agreement_codes=codes)
    with unit_of_work(world) as s:
        assert [a.code for a in activities.get_activity(s, "TWICE").agreements] == ["PHJP"]


# --- text longer than its column: a named refusal on every backend, not a DataError ----------
@pytest.mark.parametrize("field, size", [("delivery_place", 301), ("requester_poc", 301),
                                         ("fund_citation", 301), ("billing_address", 501),
                                         ("implementing_arrangement", 201)])
def test_a_too_long_field_is_refused_on_create(world, field, size):
    assert_refused(world, errors.InvalidInput, lambda s: draft(s, **{field: "x" * size}))


def test_a_too_long_line_description_is_refused(world):
    from tests.factories import fuel_line

    line = fuel_line()
    long_line = orders.LineInput(category=line.category, description="x" * 301,
                                 quantity=line.quantity, unit=line.unit,
                                 unit_price=line.unit_price, method=line.method,
                                 stock_number=line.stock_number)
    assert_refused(world, errors.InvalidInput, lambda s: draft(s, lines=[long_line]))


def test_a_too_long_field_is_refused_on_edit_and_accept(world):
    number = make_order(world, "draft")
    assert_refused(world, errors.InvalidInput, lambda s: orders.edit_order(
        s, number=number, by="jp-requesting", on=D(2026, 5, 10),
        changes={"delivery_place": "x" * 301}))
    number = make_order(world, "requested")
    assert_refused(world, errors.InvalidInput, lambda s: orders.accept_order(
        s, number=number, by="ph-approving", on=D(2026, 5, 10), supplier_poc="x" * 301,
        supplying_unit="PN-NFSL"))


def test_a_changed_definition_under_the_loaded_version_is_refused(world, _acsa_home):
    # orders record the agreement version they were made under: one version, one definition
    from acsa.agreements import service as agreements
    from tests.integration.helpers import amend

    def changed(s):
        amend(s, _acsa_home, "phjp-in-force.toml",
              'amends = "PHJP"\nversion = 2\nin_force_on = 2026-02-01\n')

    assert_refused(world, errors.AgreementFileInvalid, changed)
    with unit_of_work(world) as s:  # with a higher version, the change is loaded
        amend(s, _acsa_home, "phjp-in-force.toml",
              'amends = "PHJP"\nversion = 3\nin_force_on = 2026-02-01\n')
        assert agreements.get(s, "PHJP").in_force_on == D(2026, 2, 1)


@pytest.mark.parametrize("act", ["request", "accept"])
def test_a_signature_dated_before_the_order_is_refused(world, act):
    """orders/service.py (`request_order`, `accept_order`): a request or an acceptance could
    be dated before the order itself (a delivery could not). Refused now, naming `on`, and
    nothing changed; the order's own date is accepted."""
    number = make_order(world, "draft" if act == "request" else "requested")
    with unit_of_work(world) as s:
        order = orders.get_order(s, number)
        day, state = order.order_on, order.state
    party = "JP" if act == "request" else "PH"

    def sign(on):
        def go(s):
            if act == "request":
                orders.request_order(s, number=number, by=f.official(party, "requesting"),
                                     on=on)
            else:
                orders.accept_order(s, number=number, by=f.official(party, "approving"), on=on,
                                    supplying_unit="PN-NFSL", supplier_poc="Lt Reyes")
        return go

    with pytest.raises(errors.InvalidInput) as e, unit_of_work(world) as s:
        sign(day - dt.timedelta(days=1))(s)
    assert e.value.field == "on"
    with unit_of_work(world) as s:
        assert orders.get_order(s, number).state == state
        sign(day)(s)
