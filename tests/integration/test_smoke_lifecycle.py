"""A whole cash order from draft to closed, on each database."""

from acsa.money import Money
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from tests.factories import D, official, order_to


def test_cash_order_runs_to_closed(session):
    order = order_to(session, "received")
    claims = settlement.claims_of(session, order)
    assert [c.method for c in claims] == ["cash"]
    assert claims[0].amount_minor == 10000 * 9550
    settlement.pay(session, claim_ref=claims[0].number, by=official("JP", "finance"),
                   on=D(2026, 6, 1), amount=Money(claims[0].amount_minor, "PHP"))
    assert orders.get_order(session, order.number).state == "settled"
    orders.close_order(session, number=order.number, by=official("PH", "finance"),
                       on=D(2026, 6, 2))
    assert orders.get_order(session, order.number).state == "closed"
