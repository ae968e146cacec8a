"""Who may sign: role, party, period of authority, value limit (also across currencies) and
separation of duties. Each refusal is its named error and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acsa import errors
from acsa.db.engine import unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from tests.factories import D, airlift_line, draft, fuel_line, official
from tests.integration.helpers import (
    add_official,
    assert_refused,
    claim_numbers,
    make_order,
    pay_in_full,
)

ON = D(2026, 5, 10)


def accept(number: str, by: str, on=ON):
    return lambda s: orders.accept_order(s, number=number, by=by, on=on,
                                         supplier_poc="Cdr Cruz", supplying_unit="PN-NFSL")


def request(number: str, by: str = "jp-requesting", on=ON):
    return lambda s: orders.request_order(s, number=number, by=by, on=on)


def priced(amount: str) -> list[orders.LineInput]:
    return [orders.LineInput(category="fuel", description="Diesel, bulk", quantity=Decimal(1),
                             unit="L", unit_price=Money.of(amount, "PHP"), method="cash",
                             stock_number="9140-00-273-2377")]


def test_creating_needs_a_requesting_official(world):
    err = assert_refused(world, errors.WrongRole, lambda s: orders.create_order(
        s, agreement_code="PHJP", activity_code="KAMANDAG-10", by="jp-finance", order_on=ON,
        lines=[fuel_line()]))
    assert err.field == "by"


@pytest.mark.parametrize("by, error", [
    ("ph-requesting", errors.WrongRole),
    ("ph-finance", errors.WrongRole),
    ("jp-approving", errors.WrongParty),  # the requesting party cannot accept its own order
    ("us-approving", errors.WrongParty),  # not a party to PHJP
])
def test_accepting_needs_an_approving_official_of_the_supplier(world, by, error):
    number = make_order(world, "requested")
    assert_refused(world, error, accept(number, by))


def test_requesting_needs_an_official_of_the_requesting_party(world):
    number = make_order(world, "draft")
    assert_refused(world, errors.WrongParty, request(number, by="ph-requesting"))


@pytest.mark.parametrize("valid_from, valid_to, ok", [
    (D(2026, 1, 1), D(2026, 5, 9), False),  # lapsed the day before
    (D(2026, 5, 11), None, False),  # starts the day after
    (D(2026, 1, 1), ON, True),  # the last day still counts
    (ON, None, True),
])
def test_authority_period(world, valid_from, valid_to, ok):
    with unit_of_work(world) as s:
        add_official(s, "ph-appr-temp", "PH", "approving", valid_from=valid_from,
                     valid_to=valid_to)
    number = make_order(world, "requested")
    if ok:
        with unit_of_work(world) as s:
            assert accept(number, "ph-appr-temp")(s).order.state == "accepted"
    else:
        assert_refused(world, errors.AuthorityNotValid, accept(number, "ph-appr-temp"))


@pytest.mark.parametrize("amount, ok", [("50000000.00", True), ("50000000.01", False)])
def test_value_limit_in_the_officials_currency(world, amount, ok):
    """PH's approving official may sign up to 50,000,000.00 PHP."""
    number = make_order(world, "requested", lines=priced(amount))
    if ok:
        with unit_of_work(world) as s:
            accept(number, "ph-approving")(s)
    else:
        assert_refused(world, errors.ValueLimitExceeded, accept(number, "ph-approving"))


@pytest.mark.parametrize("amount, ok", [("56150000", True), ("56170000", False)])
def test_value_limit_in_another_currency_uses_the_agreements_fy_rate(world, amount, ok):
    """JP's requesting official may sign up to 150,000,000 JPY; a PHP order is converted at
    the PHJP FY2026 rate of 0.3744 PHP per JPY, so the limit is 56,160,000 PHP."""
    number = make_order(world, "draft", lines=priced(amount))
    if ok:
        with unit_of_work(world) as s:
            assert request(number)(s).state == "requested"
    else:
        err = assert_refused(world, errors.ValueLimitExceeded, request(number))
        assert "0.3744" in err.message and "JPY" in err.message


def test_no_rate_for_the_fiscal_year_refuses_the_signature(world):
    """2026-03-15 falls in JP FY2025, for which no PHJP rate was recorded."""
    number = make_order(world, "draft", on=D(2026, 3, 15))
    err = assert_refused(world, errors.RateMissing, request(number, on=D(2026, 3, 15)))
    assert "FY2025" in err.message


def test_no_limit_no_conversion(world):
    with unit_of_work(world) as s:
        add_official(s, "jp-req-unlimited", "JP", "requesting")
    number = make_order(world, "draft", on=D(2026, 3, 15))
    with unit_of_work(world) as s:
        request(number, by="jp-req-unlimited", on=D(2026, 3, 15))(s)


def test_same_person_may_not_request_and_accept(world):
    with unit_of_work(world) as s:
        add_official(s, "jp-req-dual", "JP", "requesting", person="dual-hat")
        add_official(s, "ph-appr-dual", "PH", "approving", person="dual-hat")
        number = draft(s).number
        orders.request_order(s, number=number, by="jp-req-dual", on=ON)
    err = assert_refused(world, errors.SeparationOfDuties, accept(number, "ph-appr-dual"))
    assert "dual-hat" in err.message
    with unit_of_work(world) as s:  # another person may
        accept(number, "ph-approving")(s)


@pytest.fixture
def received_by_kato(world):
    """An order with a cash and an in-kind line, received by JP's Kato, who is also a JP
    finance official."""
    with unit_of_work(world) as s:
        add_official(s, "jp-recv-kato", "JP", "receiving", person="kato")
        add_official(s, "jp-fin-kato", "JP", "finance", person="kato")
    number = make_order(world, "delivered", lines=[fuel_line("cash"), fuel_line("rik"),
                                                   airlift_line("eve")])
    with unit_of_work(world) as s:
        orders.record_receipt(s, number=number, by="jp-recv-kato", on=D(2026, 5, 12), lines={})
    return number


def test_same_person_may_not_receive_and_pay(world, received_by_kato):
    rik, eve, cash = claim_numbers(world, received_by_kato)  # in-kind claims first
    on = D(2026, 5, 20)
    assert_refused(world, errors.SeparationOfDuties, lambda s: settlement.pay(
        s, claim_ref=cash, by="jp-fin-kato", on=on, amount=Money.of("955000", "PHP")))
    assert_refused(world, errors.SeparationOfDuties, lambda s: settlement.return_in_kind(
        s, claim_ref=rik, by="jp-fin-kato", on=on, quantity=Decimal(10000), unit="L",
        stock_number="9140-00-273-2377"))
    assert_refused(world, errors.SeparationOfDuties, lambda s: settlement.exchange(
        s, claim_ref=eve, by="jp-fin-kato", on=on, value=Money.of("1000000", "PHP"),
        category="transportation", description="C-130 airlift 4h"))
    with unit_of_work(world) as s:  # another JP finance official may
        pay_in_full(s, cash, on)


def test_only_the_debtors_finance_official_pays(world):
    number = make_order(world, "received")
    (cash,) = claim_numbers(world, number)
    for by, error in (("ph-finance", errors.WrongParty), ("jp-receiving", errors.WrongRole)):
        assert_refused(world, error, lambda s, by=by: settlement.pay(
            s, claim_ref=cash, by=by, on=D(2026, 5, 20), amount=Money.of("100", "PHP")))
    with unit_of_work(world) as s:
        assert settlement.get_claim(s, cash).state == "open"
        pay_in_full(s, cash, D(2026, 5, 20))
        assert settlement.get_claim(s, cash).state == "settled"


def test_a_finance_official_closes_for_either_party(world):
    number = make_order(world, "received")
    with unit_of_work(world) as s:
        pay_in_full(s, claim_numbers(world, number)[0])
    assert_refused(world, errors.WrongRole, lambda s: orders.close_order(
        s, number=number, by=official("PH", "approving"), on=D(2026, 6, 2)))
    with unit_of_work(world) as s:
        orders.close_order(s, number=number, by=official("JP", "finance"), on=D(2026, 6, 2))
