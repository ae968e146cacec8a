"""Settling claims: cash bills (due dates, partial payments, other currencies, overpayment),
returns in kind (unit conversion, the same item), equal-value exchanges (the same service),
and the order settling only once every claim is settled. The books are checked throughout."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from acsa import errors
from acsa.audit import service as audit
from acsa.db.engine import unit_of_work
from acsa.ledger.models import LedgerLine
from acsa.money import Money
from acsa.orders import service as orders
from acsa.rates.models import Rate
from acsa.settlement import service as settlement
from tests.factories import D, airlift_line, fuel_line
from tests.integration.helpers import (
    assert_books_ok,
    assert_refused,
    books_checked,
    claim,
    claim_numbers,
    make_order,
)

PAID_ON = D(2026, 6, 1)
STOCK = "9140-00-273-2377"


def pay(ref, amount, currency="PHP", on=PAID_ON):
    return lambda s: settlement.pay(s, claim_ref=ref, by="jp-finance", on=on,
                                    amount=Money.of(amount, currency))


def give_back(ref, qty, unit="L", stock=STOCK):
    return lambda s: settlement.return_in_kind(s, claim_ref=ref, by="jp-supplying", on=PAID_ON,
                                               quantity=Decimal(qty), unit=unit,
                                               stock_number=stock)


def exchange(ref, value, category="transportation", currency="PHP"):
    return lambda s: settlement.exchange(s, claim_ref=ref, by="jp-supplying", on=PAID_ON,
                                         value=Money.of(value, currency), category=category,
                                         description="CH-47 airlift to Tacloban")


@pytest.mark.parametrize("received_on, due_on", [
    (D(2026, 5, 20), D(2026, 6, 19)),  # 30 days to pay from the bill
    (D(2027, 5, 1), D(2027, 5, 12)),  # but never past 12 months from delivery
])
def test_cash_bill_issued_at_receipt_and_due_days_to_pay_later(world, received_on, due_on):
    number = make_order(world, "delivered")  # delivered 2026-05-12
    with unit_of_work(world) as s:
        orders.record_receipt(s, number=number, by="jp-receiving", on=received_on, lines={})
    with unit_of_work(world) as s:
        (c,) = settlement.claims_of(s, orders.get_order(s, number))
        assert (c.method, c.creditor_party, c.debtor_party) == ("cash", "PH", "JP")
        assert (c.issued_on, c.due_on, c.amount_minor) == (received_on, due_on, 95_500_000)
        issued = [e for e in audit.history(s, number) if e.action == "claim.issued"]
        assert len(issued) == 1 and c.number in issued[0].payload


def test_partial_payments(world):
    number = make_order(world, "received")
    (ref,) = claim_numbers(world, number)
    with books_checked(world), unit_of_work(world) as s:
        pay(ref, "300000")(s)
    with unit_of_work(world) as s:
        assert settlement.outstanding(claim(s, ref)).minor == 65_500_000
        assert claim(s, ref).state == "open"
        assert orders.get_order(s, number).state == "received"
    assert_refused(world, errors.SettlementInvalid, pay(ref, "655000.01"))
    with books_checked(world), unit_of_work(world) as s:
        pay(ref, "655000")(s)
    with unit_of_work(world) as s:
        c = claim(s, ref)
        assert (c.state, c.settled_on) == ("settled", PAID_ON)
        assert [r.applied_minor for r in c.settlements] == [30_000_000, 65_500_000]
        assert orders.get_order(s, number).state == "settled"


def test_payment_in_another_currency_through_the_agreements_rate(world):
    number = make_order(world, "received")
    (ref,) = claim_numbers(world, number)
    with books_checked(world), unit_of_work(world) as s:
        record = pay(ref, "1000000", "JPY")(s)
        fy_rate = s.scalar(select(Rate).where(Rate.agreement_code == "PHJP",
                                              Rate.fiscal_year == 2026))
        assert (record.rate, record.rate_id) == ("0.3744", fy_rate.id)
        assert (record.tendered_minor, record.tendered_currency) == (1_000_000, "JPY")
        assert record.applied_minor == 37_440_000
        cash = s.execute(select(LedgerLine.book, LedgerLine.commodity, LedgerLine.amount)
                         .where(LedgerLine.account == "assets:cash")).all()
        assert sorted(cash) == [("JP", "JPY", -1_000_000), ("PH", "JPY", 1_000_000)]
    with unit_of_work(world) as s:
        assert settlement.outstanding(claim(s, ref)).minor == 95_500_000 - 37_440_000
    # 2,000,000 JPY = 748,800.00 PHP is more than the 580,600.00 PHP left
    assert_refused(world, errors.SettlementInvalid, pay(ref, "2000000", "JPY"))
    # PHJP converts at its fixed FY rate only: the market USD/PHP rate does not count
    assert_refused(world, errors.RateMissing, pay(ref, "100", "USD"))


def test_overpayment_refused(world):
    number = make_order(world, "received")
    (ref,) = claim_numbers(world, number)
    assert_refused(world, errors.SettlementInvalid, pay(ref, "955000.01"))
    assert_refused(world, errors.InvalidAmount, pay(ref, "0"))
    assert_refused(world, errors.InvalidInput, pay(ref, "1", on=D(2026, 5, 11)))  # before bill


def test_return_in_kind_in_another_unit(world):
    number = make_order(world, "received", lines=[fuel_line("rik")])
    (ref,) = claim_numbers(world, number)
    with unit_of_work(world) as s:
        c = claim(s, ref)
        assert (c.quantity, c.unit, c.commodity) == (10000, "L", f"RIK:FUEL:{STOCK}[L]")
    with books_checked(world), unit_of_work(world) as s:
        record = give_back(ref, "1000", "gal")(s)
        assert (record.applied_quantity, record.tendered_quantity, record.tendered_unit) == (
            Decimal("3785.412"), 1000, "gal")
    with unit_of_work(world) as s:
        assert settlement.outstanding(claim(s, ref)).quantity == Decimal("6214.588")
    assert_refused(world, errors.SettlementInvalid, give_back(ref, "100", stock="9130-01-000"))
    assert_refused(world, errors.SettlementInvalid, give_back(ref, "100", stock=""))
    assert_refused(world, errors.IncompatibleUnits, give_back(ref, "100", unit="kg"))
    assert_refused(world, errors.SettlementInvalid, give_back(ref, "6214.589"))
    assert_refused(world, errors.WrongParty, lambda s: settlement.return_in_kind(
        s, claim_ref=ref, by="ph-supplying", on=PAID_ON, quantity=Decimal(1), unit="L",
        stock_number=STOCK))
    with books_checked(world), unit_of_work(world) as s:
        give_back(ref, "6214.588")(s)
    with unit_of_work(world) as s:
        assert claim(s, ref).state == "settled"
        assert orders.get_order(s, number).state == "settled"


def test_equal_value_exchange_of_the_same_service(world):
    number = make_order(world, "received", lines=[airlift_line("eve")])
    (ref,) = claim_numbers(world, number)
    assert_refused(world, errors.SettlementInvalid, exchange(ref, "400000", category="medical"))
    with books_checked(world), unit_of_work(world) as s:
        exchange(ref, "400000")(s)
    assert_refused(world, errors.SettlementInvalid, exchange(ref, "600000.01"))
    with books_checked(world), unit_of_work(world) as s:
        record = exchange(ref, "1602564", currency="JPY")(s)  # = 599,999.96 PHP at 0.3744
        assert (record.applied_minor, record.rate) == (59_999_996, "0.3744")
    with unit_of_work(world) as s:
        assert settlement.outstanding(claim(s, ref)).minor == 4
        exchange(ref, "0.04")(s)
    with unit_of_work(world) as s:
        assert claim(s, ref).state == "settled"
        assert orders.get_order(s, number).state == "settled"


def test_settlement_method_must_match_the_claim(world):
    number = make_order(world, "received", lines=[fuel_line("rik"), airlift_line("eve"),
                                                  fuel_line("cash")])
    rik, eve, cash = claim_numbers(world, number)
    assert_refused(world, errors.SettlementInvalid, pay(rik, "1"))
    assert_refused(world, errors.SettlementInvalid, give_back(eve, "1"))
    assert_refused(world, errors.SettlementInvalid, exchange(cash, "1"))


def test_the_order_settles_when_every_claim_is_settled_then_closes(world):
    number = make_order(world, "received", lines=[fuel_line("rik"), airlift_line("eve"),
                                                  fuel_line("cash"), airlift_line("cash")])
    rik, eve, cash = claim_numbers(world, number)
    with unit_of_work(world) as s:
        assert claim(s, cash).amount_minor == 95_500_000 + 100_000_000

    def close(s):
        return orders.close_order(s, number=number, by="ph-finance", on=D(2026, 6, 2))

    for step in (pay(cash, "1955000"), give_back(rik, "10000"), exchange(eve, "1000000")):
        with unit_of_work(world) as s:
            assert orders.get_order(s, number).state == "received"
        assert_refused(world, errors.NotTiedOut, close)
        with books_checked(world), unit_of_work(world) as s:
            step(s)
    with unit_of_work(world) as s:
        assert orders.get_order(s, number).state == "settled"
        assert close(s).state == "closed"
    with unit_of_work(world) as s:
        assert_books_ok(s)
        actions = [e.action for e in audit.history(s, number)]
        assert actions[-2:] == ["order.settled", "order.closed"]
