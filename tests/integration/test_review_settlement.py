"""Review of settlement, money, rates and the ledger: each test shows one defect found in
review (it fails on the code as reviewed and passes once the defect is fixed)."""

from __future__ import annotations

from decimal import Decimal

from acsa import errors
from acsa.db.engine import unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from tests.factories import D, fuel_line
from tests.integration.helpers import (
    assert_books_ok,
    claim,
    claim_numbers,
    counts,
    make_order,
    snapshot,
)

STOCK = "9140-00-273-2377"


def refused_without_change(engine, command):
    """`command` is refused with a named acsa error and leaves the database as it was."""
    before = snapshot(engine)
    caught = None
    with unit_of_work(engine) as s:
        rows = counts(s)
        try:
            command(s)
        except errors.AcsaError as e:
            caught = e
            assert counts(s) == rows, "the refused command wrote rows before refusing"
            s.rollback()
    assert caught is not None, "the command was accepted"
    assert snapshot(engine) == before
    return caught


def jpy_order(engine, method="cash", price="100"):
    """PH requests 10,000 L of diesel from JP, priced in JPY (no minor unit)."""
    return make_order(engine, "received", requester="PH",
                      lines=[fuel_line(method, currency="JPY", price=price)])


def test_payment_worth_nothing_in_the_claim_currency_is_accepted(world):
    """settlement/service.py:346-351 (pay): the positive-amount check is made on the amount
    tendered, not on what it is worth in the claim's currency. 0.01 PHP paid on a JPY bill is
    worth 0.0267 JPY, which rounds to 0: the payment is accepted, PH's book moves 0.01 PHP of
    cash to JP, and the bill is not reduced at all (a minor unit lost). It must be refused."""
    number = jpy_order(world)
    (ref,) = claim_numbers(world, number)
    refused_without_change(world, lambda s: settlement.pay(
        s, claim_ref=ref, by="ph-finance", on=D(2026, 6, 1), amount=Money.of("0.01", "PHP")))


def test_converting_a_return_left_worth_less_than_a_yen_makes_an_unpayable_claim(world):
    """settlement/service.py:460-473 (convert_overdue_return_to_cash): the cash claim is made
    for the outstanding value even when that rounds to 0. 9,999.996 of 10,000 L returned at
    100 JPY/L leaves 0.004 L worth 0.4 JPY -> 0 JPY; the deadline run converts it into an open
    cash claim of 0 JPY, which no payment can settle (a payment must be positive, and any
    payment is more than the 0 outstanding), so the claim stays open and the order can never
    settle or close."""
    number = jpy_order(world, method="rik")
    (ref,) = claim_numbers(world, number)
    with unit_of_work(world) as s:
        settlement.return_in_kind(s, claim_ref=ref, by="ph-supplying", on=D(2026, 6, 1),
                                  quantity=Decimal("9999.996"), unit="L", stock_number=STOCK)
    with unit_of_work(world) as s:
        settlement.run_deadlines(s, as_of=D(2027, 5, 13))
    with unit_of_work(world) as s:
        stuck = [c.number for c in settlement.claims_of(s, orders.get_order(s, number))
                 if c.state == "open" and settlement.outstanding(c).minor == 0
                 and not settlement.outstanding(c).quantity]
        assert stuck == [], f"open claims with nothing left to pay: {stuck}"


def test_returns_in_kind_applied_values_create_a_minor_unit(world):
    """settlement/service.py:403-404 (return_in_kind): each return's applied value is rounded
    on its own (claim value x returned / claimed), so the parts do not sum to the claim. 1 L at
    95.55 PHP returned as 0.5 L + 0.5 L records 47.78 + 47.78 = 95.56 PHP applied against a
    95.55 PHP claim (shown on the settlement forms and the API): a centavo created."""
    number = make_order(world, "received", lines=[fuel_line("rik", qty="1", price="95.55")])
    (ref,) = claim_numbers(world, number)
    for _ in range(2):
        with unit_of_work(world) as s:
            settlement.return_in_kind(s, claim_ref=ref, by="jp-supplying", on=D(2026, 6, 1),
                                      quantity=Decimal("0.5"), unit="L", stock_number=STOCK)
    with unit_of_work(world) as s:
        c = claim(s, ref)
        assert c.state == "settled"
        assert sum(r.applied_minor for r in c.settlements) == c.amount_minor == 9555


def test_offset_approved_on_a_date_before_it_was_proposed(world):
    """settlement/service.py:803-834 (approve_offset): the approval date is checked only
    against each claim's issue date, not against the offset's own date. An offset proposed on
    2026-06-01 can be approved "on 2026-05-20": the claims are recorded settled, and the books
    post the netting, eleven days before anyone proposed it."""
    a = make_order(world, "received")
    make_order(world, "received", requester="PH", lines=[fuel_line(currency="JPY", price="300")])
    with unit_of_work(world) as s:
        settlement.propose_offset(s, agreement_code="PHJP", by="ph-finance", on=D(2026, 6, 1))
    refused_without_change(world, lambda s: settlement.approve_offset(
        s, number="PHJP-OFS-0001", by="jp-finance", on=D(2026, 5, 20)))
    with unit_of_work(world) as s:
        assert claim(s, claim_numbers(world, a)[0]).state == "open"
        assert_books_ok(s)


def test_exchange_worth_nothing_in_the_claim_currency_is_accepted(world):
    """settlement/service.py:431-437 (exchange): as for payments, the positive-value check is
    made on the value tendered, not on what it is worth in the claim's currency. A service
    worth 0.01 PHP given against a JPY equal-value claim is worth 0 JPY: it is recorded as an
    exchange that settles nothing. It must be refused."""
    from tests.factories import airlift_line

    number = make_order(world, "received", requester="PH",
                        lines=[airlift_line("eve", price="1000000", currency="JPY")])
    (ref,) = claim_numbers(world, number)
    refused_without_change(world, lambda s: settlement.exchange(
        s, claim_ref=ref, by="ph-supplying", on=D(2026, 6, 1), value=Money.of("0.01", "PHP"),
        category="transportation", description="airlift"))


def test_reversed_rate_breaks_a_half_even_tie_the_wrong_way(world):
    """rates/service.py:128-129 (conversion): a rate recorded the other way round is inverted
    to 28 significant digits (1 / 0.3744 = 2.670940170940170940170940171, a little too big),
    then multiplied. 4.68 PHP at 0.3744 PHP per JPY is exactly 12.5 JPY, which banker's
    rounding (money.py ROUNDING) makes 12 JPY; through the rounded reciprocal it is
    12.50000000000000000000000000028 and becomes 13 JPY: the JPY bill is credited one yen
    more than was paid (a minor unit created)."""
    number = jpy_order(world)
    (ref,) = claim_numbers(world, number)
    with unit_of_work(world) as s:
        record = settlement.pay(s, claim_ref=ref, by="ph-finance", on=D(2026, 6, 1),
                                amount=Money.of("4.68", "PHP"))
        assert record.applied_minor == 12


def test_offset_settles_a_claim_worth_nothing_in_the_offset_currency(world):
    """settlement/service.py:657-663 and 684-688 (_take, _oldest_first): a claim whose
    outstanding rounds to 0 in the offset's currency gets an item of value 0, and `_take`
    applies its whole outstanding because the value taken (0) equals its value (0). PH's
    bill with 0.01 PHP left is marked settled by an offset that nets nothing against it: JP
    still owes the centavo, but PH's claim and books say it is settled. The partner's node
    would refuse the same proposal (`_named_items`, service.py:719, requires 0 < value)."""
    a = make_order(world, "received")  # JP owes PH 955,000.00 PHP
    make_order(world, "received")  # and another 955,000.00 PHP
    make_order(world, "received", requester="PH", lines=[fuel_line(currency="JPY", price="300")])
    first = claim_numbers(world, a)[0]
    with unit_of_work(world) as s:
        settlement.pay(s, claim_ref=first, by="jp-finance", on=D(2026, 5, 20),
                       amount=Money.of("954999.99", "PHP"))
    try:
        with unit_of_work(world) as s:
            offset = settlement.propose_offset(s, agreement_code="PHJP", by="jp-finance",
                                               on=D(2026, 6, 1), currency="JPY")
            settlement.approve_offset(s, number=offset.number, by="ph-finance",
                                      on=D(2026, 6, 1))
    except errors.AcsaError:
        pass  # refusing such an offset would also be right
    with unit_of_work(world) as s:
        c = claim(s, first)
        netted = [r for r in c.settlements if r.kind == "offset"]
        assert not (netted and c.state == "settled"), (
            "0.01 PHP claim settled by an offset item worth 0 JPY")


def test_deadline_run_lists_a_converted_claim_as_offset_eligible(world):
    """settlement/service.py:536-543 (run_deadlines): offset eligibility is checked on the
    in-kind claim after it has just been converted, so the run lists the converted (no longer
    open, never offsettable: offsets net cash claims) RIK claim, and not the new cash claim
    that carries the debt; that one is only checked once it is itself overdue 30 days later."""
    number = make_order(world, "received", agreement="JPUS", activity="PORTCALL-YOKO",
                        lines=[fuel_line("rik", currency="USD", price="2.50")])
    (ref,) = claim_numbers(world, number)
    with unit_of_work(world) as s:
        run = settlement.run_deadlines(s, as_of=D(2027, 11, 13))  # 18 months after delivery
        assert run.converted == [(ref, f"{number}-C2")]
        listed = {n: claim(s, n).state for n in run.offset_eligible}
    assert ref not in listed, f"converted claim {ref} listed as offset-eligible"
    assert listed == {f"{number}-C2": "open"}


def test_order_stays_overdue_after_its_overdue_bill_is_paid(world):
    """settlement/service.py:253-263 (refresh_order_state): the order's overdue flag is
    cleared only when the whole order settles. An order with a cash bill (due in 30 days) and
    a return in kind (due in 12 months) is flagged overdue when the bill is late; once the
    bill is paid nothing on the order is overdue (the return is not due for months), yet the
    order stays listed as overdue until the return is made."""
    number = make_order(world, "received", lines=[fuel_line("cash"), fuel_line("rik")])
    rik, cash = claim_numbers(world, number)
    with unit_of_work(world) as s:
        assert settlement.run_deadlines(s, as_of=D(2026, 6, 12)).newly_overdue == [cash]
    with unit_of_work(world) as s:
        settlement.pay(s, claim_ref=cash, by="jp-finance", on=D(2026, 6, 20),
                       amount=Money.of("955000", "PHP"))
    with unit_of_work(world) as s:
        assert [c.overdue for c in settlement.claims_of(s, orders.get_order(s, number))] == [
            False, False]
        assert claim(s, rik).state == "open"
        assert not orders.get_order(s, number).overdue


def test_return_in_kind_of_nothing_is_accepted(world):
    """settlement/service.py:390-409 (return_in_kind): the quantity is checked positive in
    the unit given, but not after conversion to the claim's unit, which rounds to a thousandth
    (units.convert). 0.001 mL of diesel on a claim counted in litres is 0.000 L: it is
    recorded as a return (a settlement record, a ledger entry and an audit event) that returns
    nothing. It must be refused."""
    number = make_order(world, "received", lines=[fuel_line("rik")])
    (ref,) = claim_numbers(world, number)
    refused_without_change(world, lambda s: settlement.return_in_kind(
        s, claim_ref=ref, by="jp-supplying", on=D(2026, 6, 1), quantity=Decimal("0.001"),
        unit="mL", stock_number=STOCK))


def test_conversion_date_depends_on_when_the_deadline_run_happens(world):
    """settlement/service.py:536-538 and 472-473 (run_deadlines ->
    convert_overdue_return_to_cash): the conversion of an overdue return in kind is dated on
    the run's `as_of`, so the cash claim's issue and due dates and the conversion entry's
    posting date depend on when a node happens to run `acsa deadlines`, not on the facts.
    docs/sync.md says conversions are derived by each node from the same facts and are not
    sent: two nodes running the run on different days book the same conversion on different
    dates (and with different due dates), so their books disagree. Here two returns in kind
    delivered on the same day and due on the same day (PHJP and JPUS, both 12 months) are
    converted by runs of different days and get different conversion and due dates."""
    phjp = make_order(world, "received", lines=[fuel_line("rik")])
    jpus = make_order(world, "received", agreement="JPUS", activity="PORTCALL-YOKO",
                      lines=[fuel_line("rik", currency="USD", price="2.50")])
    (a,) = claim_numbers(world, phjp)
    (b,) = claim_numbers(world, jpus)
    with unit_of_work(world) as s:
        assert claim(s, a).due_on == claim(s, b).due_on == D(2027, 5, 12)
    with unit_of_work(world) as s:  # PH's node (PHJP claims only) runs the day after
        assert settlement.run_deadlines(s, as_of=D(2027, 5, 13), party="PH").converted
    with unit_of_work(world) as s:  # US's node (JPUS claims only) runs a month later
        assert settlement.run_deadlines(s, as_of=D(2027, 6, 13), party="US").converted
    with unit_of_work(world) as s:
        ca, cb = claim(s, f"{phjp}-C2"), claim(s, f"{jpus}-C2")
        assert (claim(s, a).settled_on, ca.issued_on, ca.due_on) == (
            claim(s, b).settled_on, cb.issued_on, cb.due_on)
