"""Second review of settlement and money: each test shows one defect found in review (it fails
on the code as reviewed and passes once the defect is fixed)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acsa import errors
from acsa.db.engine import unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.rates import service as rates
from acsa.settlement import service as settlement
from tests.factories import D, airlift_line, fuel_line
from tests.integration.helpers import (
    add_official,
    amend,
    assert_books_ok,
    assert_refused,
    claim,
    claim_numbers,
    make_order,
)

STOCK = "9140-00-273-2377"
BIGINT_MAX = 2**63 - 1


# --- 1. amounts past the range of a BIGINT column ------------------------------------------
def test_an_amount_past_the_bigint_range_is_accepted_as_money():
    """money.py (Money.of): an amount is refused as too large only from 10^18 major units,
    whatever the currency's minor unit, so 10^17 PHP (10^19 centavos) is accepted, and the
    order line, payment or exchange made with it fails in the database (PostgreSQL: "bigint
    out of range"; SQLite: OverflowError) instead of being refused as input."""
    for amount, currency in (("100000000000000000", "PHP"),  # 10^19 centavos
                             ("92233720368547758.08", "USD"),  # a cent past the BIGINT range
                             ("-100000000000000000", "USD")):
        with pytest.raises(errors.InvalidAmount, match="too large"):
            Money.of(amount, currency)
    # the largest amounts kept: 18 digits of minor units, with room below the BIGINT range
    assert Money.of("999999999999999999", "JPY").minor == 10**18 - 1 < BIGINT_MAX // 9
    assert Money.of("9999999999999999.99", "PHP").minor == 10**18 - 1


def test_an_order_worth_more_than_a_bigint_is_accepted_and_fails_at_receipt(world):
    """settlement/service.py (check_ceilings at acceptance, create_claims at receipt): each
    unit price fits, but price x quantity does not: 9,000,000,000,000,000 JPY a litre x
    10,000 L is 9 x 10^19 JPY. With officials without a value limit the order is accepted (a
    binding commitment) and delivered; the receipt then fails in the database writing the
    claim. The acceptance must be refused, naming the line, before anyone is bound."""
    with unit_of_work(world) as s:
        add_official(s, "jp-req-open", "JP", "requesting", person="jp-req-open")
        add_official(s, "ph-app-open", "PH", "approving", person="ph-app-open")
        order = orders.create_order(
            s, agreement_code="PHJP", activity_code="KAMANDAG-10", by="jp-req-open",
            order_on=D(2026, 5, 10), delivery_place="Subic Bay", delivery_on=D(2026, 5, 12),
            fund_citation="FY2026 O&M 1234-56", requester_poc="Lt Sato",
            requesting_unit="JMSDF-ESC1",
            lines=[fuel_line(price="9000000000000000", currency="JPY")], currency="JPY")
        number = order.number
        orders.request_order(s, number=number, by="jp-req-open", on=D(2026, 5, 10))
    e = assert_refused(world, errors.InvalidAmount, lambda s: orders.accept_order(
        s, number=number, by="ph-app-open", on=D(2026, 5, 10), supplier_poc="Cdr Cruz",
        supplying_unit="PN-NFSL"))
    assert e.field == "lines[1].quantity"


def test_a_rate_too_long_for_its_column_is_accepted(world):
    """money.py (parse_rate): any positive number is a rate, but rates are kept as text of
    at most 40 characters (rates.rate, settlements.rate, offset_items.rate). A rate of
    1E-45 (47 characters written out) is accepted and fails in PostgreSQL ("value too long
    for type character varying(40)"); SQLite keeps it. A rate of 3E+20 fits, but a payment
    through it the other way round stores its reciprocal, 51 characters, and fails then. Both
    must be refused when the rate is recorded, naming the field."""
    for rate in ("0.000000000000000000000000000000000000000000001", "3E+20"):
        e = assert_refused(world, errors.InvalidAmount, lambda s, r=rate: rates.add_rate(
            s, base="USD", quote="JPY", rate=r, on=D(2026, 5, 1), source="test"))
        assert e.field == "rate"


# --- 2. a return in kind after its deadline, before the deadline run ----------------------
def test_return_in_kind_after_the_deadline_is_accepted_before_the_deadline_run(world):
    """settlement/service.py (return_in_kind): under convert_to_cash an obligation not met
    by its deadline is converted to cash on the day after it (conversion_date: a fact of the
    claim, so that every node derives the same conversion), but a return dated after that day
    is accepted as long as this node has not yet run `acsa deadlines`. A node that ran its
    deadlines first converts the whole claim; one that recorded the late return first
    converts only what is left: the two books disagree, and the conversion dated the day
    after the deadline follows a return dated later. The late return must be refused."""
    number = make_order(world, "received", lines=[fuel_line("rik")])
    (ref,) = claim_numbers(world, number)
    with unit_of_work(world) as s:
        assert claim(s, ref).due_on == D(2027, 5, 12)
    e = assert_refused(world, errors.SettlementInvalid, lambda s: settlement.return_in_kind(
        s, claim_ref=ref, by="jp-supplying", on=D(2027, 5, 13), quantity=Decimal("100"),
        unit="L", stock_number=STOCK))
    assert e.field == "on"
    with unit_of_work(world) as s:  # on the deadline itself it is still in time
        settlement.return_in_kind(s, claim_ref=ref, by="jp-supplying", on=D(2027, 5, 12),
                                  quantity=Decimal("100"), unit="L", stock_number=STOCK)
    with unit_of_work(world) as s:
        run = settlement.run_deadlines(s, as_of=D(2027, 5, 20))
        assert run.converted == [(ref, f"{number}-C2")]
        assert settlement.outstanding(claim(s, f"{number}-C2")).minor == 9900 * 9550
        assert_books_ok(s)


def test_exchange_after_the_deadline_is_accepted_before_the_deadline_run(world, _acsa_home):
    """settlement/service.py (exchange): as for returns in kind, an equal-value exchange
    dated after the day its obligation is converted to cash is accepted until the deadline
    run has converted it. The refusal follows the agreement: where `overdue_in_kind =
    "flag_only"` nothing converts the obligation, and a late exchange is what settles it."""
    number = make_order(world, "received", lines=[airlift_line("eve")])
    (ref,) = claim_numbers(world, number)
    exchange = lambda s: settlement.exchange(  # noqa: E731
        s, claim_ref=ref, by="jp-supplying", on=D(2027, 6, 1),
        value=Money.of("1000000", "PHP"), category="transportation", description="airlift")
    assert_refused(world, errors.SettlementInvalid, exchange)
    with unit_of_work(world) as s:
        amend(s, _acsa_home, "phjp-flag.toml", 'amends = "PHJP"\nversion = 3\n'
              '[settlement]\noverdue_in_kind = "flag_only"\n')
    with unit_of_work(world) as s:
        exchange(s)
    with unit_of_work(world) as s:
        assert claim(s, ref).state == "settled"
        assert_books_ok(s)


# --- further defects -----------------------------------------------------------------------
def test_offset_nets_a_value_against_nothing_of_a_claim(world):
    """settlement/service.py (_oldest_first, _take): the last claim of the larger side is
    netted in part, for what is left of the smaller side's total, converted back into the
    claim's currency and rounded. When that part is worth less than half a minor unit of the
    claim's currency it rounds to 0: JP's 0.10 PHP bill is netted in full against an item of
    0 JPY of PH's yen bill. Approved, the offset settles the 0.10 PHP JP owed and takes
    nothing off what PH owes: PH has lost ten centavos, and a settlement record applies 0 JPY.
    An offset must never net a value against nothing."""
    small = make_order(world, "received", lines=[fuel_line(qty="1", price="0.10")])
    make_order(world, "received", requester="PH", lines=[fuel_line(currency="JPY", price="300")])
    (owed_to_ph,) = claim_numbers(world, small)
    try:  # the offset may be proposed, but then no item nets a value against nothing
        with unit_of_work(world) as s:
            offset = settlement.propose_offset(s, agreement_code="PHJP", by="jp-finance",
                                               on=D(2026, 6, 1), currency="PHP")
            assert all(i.applied_minor > 0 for i in offset.items), [
                (i.applied_minor, i.value_minor) for i in offset.items]
    except errors.SettlementInvalid:
        pass  # refusing it (nothing can be netted) is right too
    with unit_of_work(world) as s:
        assert claim(s, owed_to_ph).state == "open"


def test_payment_reference_longer_than_its_column_reaches_the_database(world):
    """settlement/service.py (pay): the reference is kept in a column of 300 characters but
    its length is checked only by the HTTP API; `acsa settle pay --reference` and the other
    callers hand a longer one to the database, where PostgreSQL fails the write ("value too
    long") and SQLite keeps it whole. It must be refused by name on every backend."""
    number = make_order(world, "received")
    (ref,) = claim_numbers(world, number)
    e = assert_refused(world, errors.InvalidInput, lambda s: settlement.pay(
        s, claim_ref=ref, by="jp-finance", on=D(2026, 6, 1), amount=Money.of("1000", "PHP"),
        reference="wire " + "9" * 300))
    assert e.field == "reference"


def test_service_priced_at_nothing_makes_an_exchange_claim_nothing_can_settle(world):
    """settlement/service.py (create_claims): a line billable in cash for nothing makes no
    bill, but an equal-value (EVE) line priced 0 makes an open EVE claim of 0 PHP. No exchange
    can settle it (an exchange must be worth at least one minor unit, and not more than the 0
    outstanding), so the order cannot settle or close until the deadline run converts the
    claim a year later. Like a cash line, it must make no claim."""
    number = make_order(world, "received", lines=[airlift_line("eve", price="0")])
    with unit_of_work(world) as s:
        stuck = [c.number for c in settlement.claims_of(s, orders.get_order(s, number))
                 if c.state == "open" and settlement.outstanding(c).minor == 0]
        assert stuck == [], f"open claims nothing can settle: {stuck}"
        assert orders.get_order(s, number).state == "settled"
        assert_books_ok(s)
