"""Defects a second review of orders and the audit chain found, each with its test: acts dated
before the act they follow, and the reason `acsa audit verify` gives for an inserted event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import insert

from acsa import errors
from acsa.audit import chain
from acsa.audit.models import Event
from acsa.db.engine import unit_of_work
from acsa.orders import service as orders
from tests.factories import D, draft, official
from tests.integration.helpers import assert_refused, claim_numbers, make_order, pay_in_full
from tests.integration.test_audit import busy, tamper, verify  # noqa: F401 (busy: a fixture)

ORDER_ON = D(2026, 5, 10)
REQUESTED_ON = D(2026, 5, 15)  # five days after the order's own date
POC, UNIT = "Cdr Cruz, +63 47 000 0000", "PN-NFSL"


def requested_later(engine) -> str:
    """A draft of ORDER_ON requested on REQUESTED_ON."""
    with unit_of_work(engine) as s:
        number = draft(s, on=ORDER_ON).number
        orders.request_order(s, number=number, by=official("JP", "requesting"), on=REQUESTED_ON)
    return number


def accept(number: str, on: dt.date):
    return lambda s: orders.accept_order(s, number=number, by=official("PH", "approving"),
                                         on=on, supplier_poc=POC, supplying_unit=UNIT)


def deliver(number: str, on: dt.date):
    return lambda s: orders.record_delivery(
        s, number=number, by=official("PH", "supplying"), on=on, quantities={1: Decimal(10000)},
        document_name="slip.pdf", document=f"slip {number}".encode())


def refused_on(engine, command, *dates: str) -> errors.AcsaError:
    """`command` refused with InvalidInput naming `on`, its message giving `dates`."""
    e = assert_refused(engine, errors.InvalidInput, command)
    assert e.field == "on"
    for d in dates:
        assert d in e.message, e.message
    return e


# --- 1. acts dated before the act they follow ------------------------------------------------
def test_an_acceptance_dated_before_the_request_is_refused(world):
    """orders/service.py `accept_order`: accepted on 12 May an order requested on 15 May (but
    dated 10 May): only the order's own date was checked; the request's date is kept only in
    its audit event. Refused now, naming `on` and the request's date; its date is accepted."""
    number = requested_later(world)
    refused_on(world, accept(number, D(2026, 5, 12)), "2026-05-15", "requested")
    with unit_of_work(world) as s:
        accept(number, REQUESTED_ON)(s)
        assert orders.get_order(s, number).state == "accepted"


def test_a_delivery_dated_before_the_acceptance_is_refused(world):
    """`record_delivery`: a delivery dated between the order's date and its acceptance was
    taken, though nothing may be delivered before the order is accepted."""
    number = requested_later(world)
    with unit_of_work(world) as s:
        accept(number, D(2026, 5, 20))(s)
    refused_on(world, deliver(number, D(2026, 5, 18)), "2026-05-20", "accepted")
    with unit_of_work(world) as s:
        deliver(number, D(2026, 5, 20))(s)
        assert orders.get_order(s, number).state == "delivered"


def test_a_later_partial_delivery_is_still_checked_against_the_acceptance(world):
    number = requested_later(world)
    with unit_of_work(world) as s:
        accept(number, D(2026, 5, 20))(s)
        orders.record_delivery(s, number=number, by=official("PH", "supplying"),
                               on=D(2026, 5, 22), quantities={1: Decimal(4000)},
                               document_name="slip-1.pdf", document=b"slip 1")
    refused_on(world, lambda s: orders.record_delivery(
        s, number=number, by=official("PH", "supplying"), on=D(2026, 5, 19),
        quantities={1: Decimal(6000)}, document_name="slip-2.pdf", document=b"slip 2"),
        "2026-05-20")


def test_a_close_dated_before_the_last_settlement_is_refused(world):
    """`close_order`: an order whose claim was paid on 1 June could be closed on 20 May."""
    number = make_order(world, "received")  # ordered, delivered and received by 12 May
    with unit_of_work(world) as s:
        pay_in_full(s, claim_numbers(world, number)[0], on=D(2026, 6, 1))

    def close(on):
        return lambda s: orders.close_order(s, number=number, by=official("PH", "finance"),
                                            on=on)

    refused_on(world, close(D(2026, 5, 20)), "2026-06-01")
    with unit_of_work(world) as s:
        close(D(2026, 6, 1))(s)
        assert orders.get_order(s, number).state == "closed"


def test_a_cancellation_dated_before_the_order_or_its_signature_is_refused(world):
    """`cancel_order`: a cancellation dated before the order, or before the request or
    acceptance it undoes."""
    with unit_of_work(world) as s:
        number = draft(s, on=ORDER_ON).number

    def cancel(n, on, by=official("JP", "requesting")):
        return lambda s: orders.cancel_order(s, number=n, by=by, on=on, reason="not needed")

    refused_on(world, cancel(number, D(2026, 5, 9)), "2026-05-10")
    number = requested_later(world)
    refused_on(world, cancel(number, D(2026, 5, 12)), "2026-05-15")
    with unit_of_work(world) as s:
        accept(number, D(2026, 5, 20))(s)
    refused_on(world, cancel(number, D(2026, 5, 18), official("PH", "approving")), "2026-05-20")
    with unit_of_work(world) as s:
        cancel(number, D(2026, 5, 20), official("PH", "approving"))(s)
        assert orders.get_order(s, number).state == "cancelled"


def test_a_dispute_before_the_order_or_a_resolution_before_the_dispute_is_refused(world):
    """`dispute_order` took a date before the order's request, `resolve_dispute` one before
    the dispute it resolves."""
    number = requested_later(world)
    dispute = lambda on: lambda s: orders.dispute_order(  # noqa: E731
        s, number=number, by=official("PH", "approving"), on=on, reason="price")
    resolve = lambda on: lambda s: orders.resolve_dispute(  # noqa: E731
        s, number=number, by=official("JP", "finance"), on=on, resolution="agreed")
    refused_on(world, dispute(D(2026, 5, 12)), "2026-05-15")
    with unit_of_work(world) as s:
        dispute(D(2026, 5, 25))(s)
    refused_on(world, resolve(D(2026, 5, 24)), "2026-05-25")
    with unit_of_work(world) as s:
        resolve(D(2026, 5, 25))(s)
        assert orders.get_order(s, number).state == "requested"


# --- 2. the reason verify gives ----------------------------------------------------------------
def insert_event(engine, seq: int, prev_hash: str) -> None:
    """An intruder's event at `seq`, hashed right for its place after `prev_hash`."""
    fields = dict(seq=seq, at="2026-05-01T00:00:00.000000+00:00", party="PH", actor="intruder",
                  action="order.accepted", subject="PHJP-JP-2026-0001", order_hash="",
                  payload="{}")
    digest = chain.link(prev_hash, chain.body(*fields.values()))  # type: ignore[arg-type]
    with engine.begin() as conn:
        conn.execute(insert(Event), [dict(fields, prev_hash=prev_hash, hash=digest)])


@pytest.mark.parametrize("seq", [0, -3])
def test_an_event_inserted_before_the_first_is_named_as_inserted(world, busy, seq):  # noqa: F811
    """verify named the event at seq 0 but said "event 1 is missing", which is there."""
    insert_event(world, seq, chain.GENESIS)
    result = verify(world)
    assert result.broken_at == seq
    assert "missing" not in result.reason
    assert f"event {seq}" in result.reason and "inserted" in result.reason


def test_several_missing_events_are_named_as_several(world, busy):  # noqa: F811
    """verify said "event 5 is missing" when events 5 to 7 were all gone."""
    seq = verify(world).events // 2
    tamper(world, f"DELETE FROM audit_events WHERE seq BETWEEN {seq} AND {seq + 2}")
    result = verify(world)
    assert (result.broken_at, result.reason) == (
        seq + 3, f"events {seq} to {seq + 2} are missing (next stored event is {seq + 3})")


# --- 3. refusals of a date that say which date would do ----------------------------------------
@pytest.mark.parametrize("act", ["receive", "deliver"])
def test_a_receipt_or_delivery_too_early_says_the_date_that_would_do(world, act):
    """`record_receipt` said only "a receipt cannot be dated before the delivery it
    receives", not which delivery date; neither it nor a delivery dated before the order said
    how to fix it (a hint with the earliest date that would do)."""
    number = make_order(world, "delivered" if act == "receive" else "accepted")
    # delivered (by order_to) on 12 May; ordered on 10 May
    earliest = "2026-05-12" if act == "receive" else "2026-05-10"
    command = (lambda s: orders.record_receipt(s, number=number, by=official("JP", "receiving"),
                                               on=D(2026, 5, 11), lines={})) \
        if act == "receive" else deliver(number, D(2026, 5, 9))
    e = refused_on(world, command, earliest)
    assert e.hint == f"Give a date on or after {earliest}."
