"""A property of the books: whatever mix of partial deliveries, receipts with short, over and
damaged quantities, and partial settlements in either currency, every entry balances, both
books agree, and the balances are what the open claims say is owed."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acsa.db.engine import unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.orders.domain import ReceiptLineInput
from acsa.settlement import service as settlement
from tests.factories import D, airlift_line, fuel_line, order_to
from tests.integration.helpers import assert_books_ok

LINES = {"fuel-cash": fuel_line("cash", qty="100"), "fuel-rik": fuel_line("rik", qty="100"),
         "air-cash": airlift_line("cash", price="1000.50"),
         "air-eve": airlift_line("eve", price="999.99")}


@st.composite
def receipt_line(draw, delivered: Decimal) -> ReceiptLineInput:
    received = draw(st.sampled_from([delivered, delivered, delivered * Decimal("0.5"),
                                     delivered + 1, Decimal(0)]))
    damaged = draw(st.sampled_from([Decimal(0), received / 4]))
    return ReceiptLineInput(received, damaged.quantize(Decimal("0.001")), reason="counted")


@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_books_always_balance(world, data):
    kinds = data.draw(st.lists(st.sampled_from(sorted(LINES)), min_size=1, max_size=3))
    with unit_of_work(world) as s:
        order = order_to(s, "accepted", lines=[LINES[k] for k in kinds])
        number, ordered = order.number, {ln.line_no: ln.quantity for ln in order.lines}
    delivered = dict.fromkeys(ordered, Decimal(0))
    for round_no in range(data.draw(st.integers(1, 3), label="rounds")):
        quantities = {}
        for n, q in ordered.items():
            part = data.draw(st.sampled_from(["0", "0.25", "0.5", "1"]), label=f"line {n}")
            qty = min(q * Decimal(part), q - delivered[n]).quantize(Decimal("0.001"))
            if qty > 0:
                quantities[n] = qty
        if not quantities:
            continue
        with unit_of_work(world) as s:
            orders.record_delivery(s, number=number, by="ph-supplying", on=D(2026, 5, 12),
                                   quantities=quantities, document_name="slip.pdf",
                                   document=f"{number} {round_no}".encode())
            lines = {n: data.draw(receipt_line(q)) for n, q in quantities.items()}
            orders.record_receipt(s, number=number, by="jp-receiving", on=D(2026, 5, 13),
                                  lines=lines)
        for n, q in quantities.items():
            delivered[n] += q
        with unit_of_work(world) as s:
            assert_books_ok(s)
    with unit_of_work(world) as s:
        open_claims = [c for c in settlement.claims_of(s, orders.get_order(s, number))
                       if c.state == "open"]
    for c in open_claims:
        share = data.draw(st.sampled_from(["0", "0.3", "1"]), label=f"settle {c.number}")
        with unit_of_work(world) as s:
            left = settlement.outstanding(c)
            if share == "0" or left.minor == 0:
                continue
            if c.method == "cash":
                currency = data.draw(st.sampled_from(["PHP", "JPY"]), label="currency")
                amount = Money(left.minor, "PHP").times(share)
                if currency == "JPY":  # at most what is left, after rounding
                    amount = amount.convert(Decimal(1) / Decimal("0.3744"), "JPY")
                    amount = Money(max(amount.minor - 1, 1), "JPY")
                settlement.pay(s, claim_ref=c.number, by="jp-finance", on=D(2026, 6, 1),
                               amount=amount)
            elif c.method == "rik":
                settlement.return_in_kind(s, claim_ref=c.number, by="jp-supplying",
                                          on=D(2026, 6, 1), unit="L",
                                          quantity=(left.quantity * Decimal(share)).quantize(
                                              Decimal("0.001")) or Decimal("0.001"),
                                          stock_number=c.stock_number)
            else:
                settlement.exchange(s, claim_ref=c.number, by="jp-supplying", on=D(2026, 6, 1),
                                    value=Money(left.minor, "PHP").times(share),
                                    category=c.category, description="return flight")
        with unit_of_work(world) as s:
            assert_books_ok(s)
    with unit_of_work(world) as s:
        settlement.run_deadlines(s, as_of=D(2027, 6, 1))
    with unit_of_work(world) as s:
        assert_books_ok(s)
        for c in settlement.claims_of(s, orders.get_order(s, number)):
            left = settlement.outstanding(c)
            assert left.minor >= 0 and (left.quantity is None or left.quantity >= 0)
