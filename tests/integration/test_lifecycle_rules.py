"""The order's lifecycle rules: data elements before signing, transitions, deliveries and
receipts, tying out before closing, closed orders frozen, no cancelling after delivery."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acsa import errors
from acsa.db.engine import unit_of_work
from acsa.orders import service as orders
from acsa.orders.domain import ReceiptLineInput
from acsa.settlement import service as settlement
from tests.factories import D, airlift_line, draft, fuel_line
from tests.integration.helpers import (
    assert_refused,
    claim_numbers,
    make_order,
    pay_in_full,
)

ON = D(2026, 5, 10)
LATER = D(2026, 5, 12)


def accept(number, **kw):
    return lambda s: orders.accept_order(s, number=number, by="ph-approving", on=ON, **kw)


def deliver(number, qty="10000", line=1, doc=b"issue slip"):
    return lambda s: orders.record_delivery(
        s, number=number, by="ph-supplying", on=LATER, quantities={line: Decimal(qty)},
        document_name="slip.pdf", document=doc)


def receive(number, lines=None):
    return lambda s: orders.record_receipt(s, number=number, by="jp-receiving", on=LATER,
                                           lines=lines or {})


def close(number):
    return lambda s: orders.close_order(s, number=number, by="ph-finance", on=D(2026, 6, 2))


# --- data elements -------------------------------------------------------------------------
def test_request_lists_every_missing_element(world):
    with unit_of_work(world) as s:
        number = draft(s, fund_citation="", delivery_place="",
                       lines=[fuel_line(), orders.LineInput(
                           category="fuel", description="JP-5", quantity=Decimal(5), unit="L",
                           unit_price=fuel_line().unit_price, method="cash")]).number
    err = assert_refused(world, errors.MissingDataElements, lambda s: orders.request_order(
        s, number=number, by="jp-requesting", on=ON))
    assert err.details["missing"] == ["place of delivery", "fund citation",
                                      "line stock number (supplies)"]


def test_accept_lists_the_suppliers_missing_elements(world):
    number = make_order(world, "requested")
    err = assert_refused(world, errors.MissingDataElements, accept(number))
    assert err.details["missing"] == ["supplying unit", "supplier point of contact"]
    err = assert_refused(world, errors.MissingDataElements, accept(number, supplier_poc="Cdr Cruz"))
    assert err.details["missing"] == ["supplying unit"]
    with unit_of_work(world) as s:
        assert orders.get_order(s, number).accepted_by_id is None
        accept(number, supplier_poc="Cdr Cruz", supplying_unit="PN-NFSL")(s)
    with unit_of_work(world) as s:
        order = orders.get_order(s, number)
        assert order.state == "accepted" and order.accepted_hash


def test_supplying_unit_must_belong_to_the_supplier(world):
    number = make_order(world, "requested")
    assert_refused(world, errors.WrongParty,
                   accept(number, supplier_poc="Cdr Cruz", supplying_unit="JMSDF-ESC1"))


# --- transitions ---------------------------------------------------------------------------
@pytest.mark.parametrize("state, command", [
    ("draft", lambda n: accept(n, supplier_poc="x", supplying_unit="PN-NFSL")),
    ("requested", deliver),
    ("accepted", receive),
    ("received", lambda n: lambda s: orders.request_order(s, number=n, by="jp-requesting",
                                                          on=ON)),
])
def test_out_of_order_steps_are_invalid_transitions(world, state, command):
    number = make_order(world, state)
    assert_refused(world, errors.InvalidTransition, command(number))


def test_delivery_beyond_the_ordered_quantity(world):
    number = make_order(world, "accepted")
    with unit_of_work(world) as s:
        deliver(number, "6000")(s)
    assert_refused(world, errors.DeliveryExceedsOrder, deliver(number, "4000.001", doc=b"two"))
    with unit_of_work(world) as s:
        deliver(number, "4000", doc=b"two")(s)


def test_over_receipt_needs_a_reason(world):
    number = make_order(world, "delivered")
    assert_refused(world, errors.OverReceiptWithoutReason,
                   receive(number, {1: ReceiptLineInput(received=Decimal(10500))}))
    with unit_of_work(world) as s:
        receive(number, {1: ReceiptLineInput(received=Decimal(10500),
                                             reason="meter read low at the pier")})(s)
    with unit_of_work(world) as s:
        (c,) = settlement.claims_of(s, orders.get_order(s, number))
        assert c.amount_minor == 10500 * 9550
        line = orders.get_order(s, number).receipts[0].lines[0]
        assert (line.discrepancy, line.reason) == ("over", "meter read low at the pier")


@pytest.mark.parametrize("received, damaged, discrepancy", [
    ("9000", "0", "short"), ("10000", "500", "damaged")])
def test_short_and_damaged_quantities_need_a_reason_and_are_not_billed(
        world, received, damaged, discrepancy):
    number = make_order(world, "delivered")
    given = ReceiptLineInput(received=Decimal(received), damaged=Decimal(damaged))
    assert_refused(world, errors.InvalidInput, receive(number, {1: given}))
    with unit_of_work(world) as s:
        receive(number, {1: ReceiptLineInput(received=given.received, damaged=given.damaged,
                                             reason="seal broken")})(s)
    with unit_of_work(world) as s:
        (c,) = settlement.claims_of(s, orders.get_order(s, number))
        assert c.amount_minor == (Decimal(received) - Decimal(damaged)) * 9550
        assert orders.get_order(s, number).receipts[0].lines[0].discrepancy == discrepancy


@pytest.mark.parametrize("received, kind", [("9000", "short+damaged"),
                                            ("10500", "over+damaged")])
def test_discrepancies_combined_on_one_line(world, received, kind):
    """Regression: 'short+damaged' once overflowed a VARCHAR(10) column on PostgreSQL."""
    number = make_order(world, "delivered")
    with unit_of_work(world) as s:
        receive(number, {1: ReceiptLineInput(received=Decimal(received), damaged=Decimal(500),
                                             reason="counted at the pier; 500 L contaminated")})(s)
    with unit_of_work(world) as s:
        (c,) = settlement.claims_of(s, orders.get_order(s, number))
        assert c.amount_minor == (int(received) - 500) * 9550
        assert orders.get_order(s, number).receipts[0].lines[0].discrepancy == kind


# --- closing -------------------------------------------------------------------------------
def test_closing_before_the_claims_are_settled(world):
    number = make_order(world, "received")
    (cash,) = claim_numbers(world, number)
    err = assert_refused(world, errors.NotTiedOut, close(number))
    assert cash in err.message
    with unit_of_work(world) as s:
        pay_in_full(s, cash)
    with unit_of_work(world) as s:
        assert close(number)(s).state == "closed"


def test_closing_with_a_delivery_not_received(world):
    number = make_order(world, "delivered")
    err = assert_refused(world, errors.NotTiedOut, close(number))
    assert "not yet received" in err.message


def test_closing_with_a_line_never_delivered(world):
    """Line 2 has no delivery and so no source document: the order cannot close even though
    everything delivered was received and paid."""
    number = make_order(world, "accepted", lines=[fuel_line(), airlift_line("cash")])
    with unit_of_work(world) as s:
        deliver(number)(s)
        receive(number)(s)
    with unit_of_work(world) as s:
        pay_in_full(s, claim_numbers(world, number)[0])
        assert orders.get_order(s, number).state == "settled"
    err = assert_refused(world, errors.SourceDocumentMissing, close(number))
    assert "line(s) 2" in err.message


@pytest.fixture
def closed(world):
    number = make_order(world, "received")
    with unit_of_work(world) as s:
        pay_in_full(s, claim_numbers(world, number)[0])
        close(number)(s)
    return number


CLOSED_ACTIONS = {
    "edit": lambda n: lambda s: orders.edit_order(s, number=n, by="jp-requesting", on=ON,
                                                  changes={"notes": "late note"}),
    "request": lambda n: lambda s: orders.request_order(s, number=n, by="jp-requesting", on=ON),
    "accept": lambda n: accept(n, supplier_poc="x", supplying_unit="PN-NFSL"),
    "deliver": lambda n: deliver(n, "1", doc=b"late"),
    "receive": receive,
    "cancel": lambda n: lambda s: orders.cancel_order(s, number=n, by="jp-requesting", on=ON,
                                                      reason="no longer needed"),
    "dispute": lambda n: lambda s: orders.dispute_order(s, number=n, by="jp-receiving", on=ON,
                                                        reason="short"),
    "resolve": lambda n: lambda s: orders.resolve_dispute(s, number=n, by="jp-finance", on=ON,
                                                          resolution="agreed"),
    "close again": close,
}


@pytest.mark.parametrize("action", list(CLOSED_ACTIONS))
def test_a_closed_order_cannot_change(world, closed, action):
    assert_refused(world, errors.OrderClosed, CLOSED_ACTIONS[action](closed))


def test_a_closed_orders_claims_cannot_be_paid_again(world, closed):
    (cash,) = claim_numbers(world, closed)
    assert_refused(world, errors.SettlementInvalid, lambda s: pay_in_full(s, cash))


# --- cancelling ----------------------------------------------------------------------------
def cancel(number, by="jp-requesting"):
    return lambda s: orders.cancel_order(s, number=number, by=by, on=ON, reason="plans changed")


def test_cancel_after_delivery_is_refused(world):
    number = make_order(world, "delivered")
    assert_refused(world, errors.InvalidTransition, cancel(number))
    with unit_of_work(world) as s:
        assert orders.get_order(s, number).state == "delivered"


@pytest.mark.parametrize("state, by", [("draft", "jp-requesting"),
                                       ("requested", "ph-approving"),
                                       ("accepted", "ph-approving")])
def test_cancel_before_delivery(world, state, by):
    number = make_order(world, state)
    with unit_of_work(world) as s:
        assert cancel(number, by)(s).state == "cancelled"
    assert_refused(world, errors.InvalidTransition,
                   lambda s: orders.request_order(s, number=number, by="jp-requesting", on=ON))
