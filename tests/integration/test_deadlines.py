"""Deadlines: `run_deadlines(as_of=...)` flags overdue claims once, lists those falling due,
and converts an overdue return in kind or equal-value exchange into a cash claim."""

from __future__ import annotations

import pytest

from acsa import errors
from acsa.audit import service as audit
from acsa.db.engine import unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from tests.factories import D, airlift_line, fuel_line
from tests.integration.helpers import (
    assert_books_ok,
    assert_refused,
    claim,
    claim_numbers,
    make_order,
    pay_in_full,
)


def run(engine, as_of):
    with unit_of_work(engine) as s:
        return settlement.run_deadlines(s, as_of=as_of)


def test_cash_bill_overdue_the_day_after_it_falls_due(world):
    number = make_order(world, "received")  # received 2026-05-12: due 2026-06-11
    (ref,) = claim_numbers(world, number)
    assert run(world, D(2026, 5, 11)).due_soon == []  # more than 30 days ahead
    on_due_day = run(world, D(2026, 6, 11))
    assert (on_due_day.newly_overdue, on_due_day.due_soon) == ([], [(ref, D(2026, 6, 11))])
    late = run(world, D(2026, 6, 12))
    assert (late.newly_overdue, late.converted) == ([ref], [])
    assert run(world, D(2026, 6, 13)).newly_overdue == []  # flagged once
    with unit_of_work(world) as s:
        assert claim(s, ref).overdue and orders.get_order(s, number).overdue
        assert [e.action for e in audit.history(s, number)].count("claim.overdue") == 1
        assert orders.list_orders(s, overdue=True)[0].number == number
        pay_in_full(s, ref, D(2026, 6, 20))
    with unit_of_work(world) as s:
        order = orders.get_order(s, number)
        assert (order.state, order.overdue, claim(s, ref).overdue) == ("settled", False, False)


@pytest.mark.parametrize("line, settle_part, left_minor", [
    # 4,000 of 10,000 L returned: the 6,000 L left are worth 6,000 x 95.50 PHP
    (fuel_line("rik"), lambda ref: lambda s: settlement.return_in_kind(
        s, claim_ref=ref, by="jp-supplying", on=D(2026, 9, 1), quantity=4000, unit="L",
        stock_number="9140-00-273-2377"), 57_300_000),
    (airlift_line("eve"), lambda ref: lambda s: settlement.exchange(
        s, claim_ref=ref, by="jp-supplying", on=D(2026, 9, 1),
        value=Money.of(250000, "PHP"), category="transportation",
        description="1 h airlift"), 75_000_000),
])
def test_overdue_in_kind_obligation_becomes_a_cash_claim(world, line, settle_part, left_minor):
    number = make_order(world, "received", lines=[line])  # delivered 2026-05-12
    (ref,) = claim_numbers(world, number)
    with unit_of_work(world) as s:
        settle_part(ref)(s)
    assert run(world, D(2027, 5, 12)).converted == []  # 12 months from delivery: still due
    result = run(world, D(2027, 5, 13))
    assert result.newly_overdue == [ref]
    assert result.converted == [(ref, f"{number}-C2")]
    with unit_of_work(world) as s:
        old, new = claim(s, ref), claim(s, f"{number}-C2")
        assert (old.state, old.settled_on) == ("converted", D(2027, 5, 13))
        conversion = old.settlements[-1]
        assert (conversion.kind, conversion.settled_on, conversion.rate) == (
            "conversion", D(2027, 5, 13), "1")
        assert (new.method, new.state, new.converted_from_id) == ("cash", "open", old.id)
        assert (new.amount_minor, new.currency) == (left_minor, "PHP")
        assert (new.issued_on, new.due_on) == (D(2027, 5, 13), D(2027, 6, 12))
        assert orders.get_order(s, number).state == "received"
        assert_books_ok(s)
    assert run(world, D(2027, 5, 14)).converted == []  # converted once
    assert_refused(world, errors.SettlementInvalid, settle_part(ref))
    with unit_of_work(world) as s:
        pay_in_full(s, new.number, D(2027, 5, 20))
    with unit_of_work(world) as s:
        assert orders.get_order(s, number).state == "settled"
        orders.close_order(s, number=number, by="ph-finance", on=D(2027, 5, 21))
        assert_books_ok(s)


def test_offset_eligibility_after_18_months_under_us_law(world):
    """JPUS lets unpaid credits be offset after 18 months; PHJP needs approved netting."""
    jpus = make_order(world, "received", agreement="JPUS", activity="PORTCALL-YOKO",
                      lines=[fuel_line(currency="USD", price="2.50")])
    make_order(world, "received")
    (jpus_claim,) = claim_numbers(world, jpus)
    assert run(world, D(2027, 11, 12)).offset_eligible == []
    assert run(world, D(2027, 11, 13)).offset_eligible == [jpus_claim]
