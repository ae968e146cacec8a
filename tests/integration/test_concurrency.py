"""Two officials acting on the same order at the same moment, each through their own engine
and transaction: exactly one wins, the other gets a named acsa error, the books still balance
and nothing is settled twice. `held` runs the second command while the first's transaction is
still open (the worst interleaving, deterministically); `free` releases both at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from acsa import errors
from acsa.audit import service as audit
from acsa.db.engine import unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from acsa.settlement.models import Claim
from tests.factories import D, airlift_line, draft, fuel_line
from tests.integration import race
from tests.integration.helpers import (
    add_official,
    assert_books_ok,
    claim_numbers,
    make_order,
)

ON = D(2026, 6, 1)
LOSER_ERRORS = (errors.InvalidTransition, errors.SettlementInvalid, errors.StaleVersion)


def exactly_one_wins(a: race.Outcome, b: race.Outcome, *expected: type[Exception]) -> None:
    assert [a.ok, b.ok].count(True) == 1, (a.error, b.error)
    loser = a.error or b.error
    assert isinstance(loser, expected or LOSER_ERRORS), repr(loser)


def nothing_settled_twice(engine) -> None:
    with unit_of_work(engine) as s:
        assert_books_ok(s)
        for c in s.scalars(select(Claim)):
            left = settlement.outstanding(c)
            assert left.minor >= 0 and (left.quantity is None or left.quantity >= 0), c.number
            assert (c.state == "open") == (left.minor != 0 or bool(left.quantity)), c.number


def pay(ref: str, amount: str, by: str = "jp-finance"):
    return lambda s: settlement.pay(s, claim_ref=ref, by=by, on=ON,
                                    amount=Money.of(amount, "PHP"))


@pytest.fixture(params=list(race.RACES))
def run(request, db_url):
    mode = race.RACES[request.param]
    return lambda first, second: mode(db_url, first, second)


@pytest.fixture
def second_finance(world):
    """A second finance official on each side, so two different people race."""
    with unit_of_work(world) as s:
        add_official(s, "jp-finance-2", "JP", "finance")
        add_official(s, "ph-finance-2", "PH", "finance")
        add_official(s, "ph-approving-2", "PH", "approving")
    return world


def test_racing_to_accept(world, second_finance, run):
    number = make_order(world, "requested")

    def accept(by):
        return lambda s: orders.accept_order(s, number=number, by=by, on=ON,
                                             supplier_poc="Cdr Cruz", supplying_unit="PN-NFSL")

    exactly_one_wins(*run(accept("ph-approving"), accept("ph-approving-2")),
                     errors.InvalidTransition)
    with unit_of_work(world) as s:
        assert orders.get_order(s, number).state == "accepted"
        actions = [e.action for e in audit.history(s, number)]
        assert actions.count("order.accepted") == 1


@pytest.mark.parametrize("amount", ["955000", "600000"])
def test_racing_to_pay_the_same_bill(world, second_finance, run, amount):
    """Both pay all of it, or both pay more than half of it: one payment only."""
    number = make_order(world, "received")
    (ref,) = claim_numbers(world, number)
    exactly_one_wins(*run(pay(ref, amount), pay(ref, amount, by="jp-finance-2")),
                     errors.SettlementInvalid)
    with unit_of_work(world) as s:
        assert len(settlement.get_claim(s, ref).settlements) == 1
    nothing_settled_twice(world)


def test_racing_to_close(world, second_finance, run):
    number = make_order(world, "received")
    (ref,) = claim_numbers(world, number)
    with unit_of_work(world) as s:
        pay(ref, "955000")(s)

    def close(by):
        return lambda s: orders.close_order(s, number=number, by=by, on=D(2026, 6, 2))

    exactly_one_wins(*run(close("ph-finance"), close("jp-finance")), errors.OrderClosed)
    with unit_of_work(world) as s:
        assert orders.get_order(s, number).state == "closed"


def test_racing_to_approve_an_offset(world, second_finance, run):
    make_order(world, "received")
    make_order(world, "received", requester="PH", lines=[fuel_line(currency="JPY", price="300")])
    with unit_of_work(world) as s:
        settlement.propose_offset(s, agreement_code="PHJP", by="ph-finance", on=ON)

    def approve(by):
        return lambda s: settlement.approve_offset(s, number="PHJP-OFS-0001", by=by, on=ON)

    exactly_one_wins(*run(approve("jp-finance"), approve("jp-finance-2")),
                     errors.SettlementInvalid)
    nothing_settled_twice(world)


def test_racing_to_propose_offsets(world, second_finance, db_url):
    """Only one offset may await approval: the second proposal is refused by name.
    Regression: on PostgreSQL the second once failed with a raw UniqueViolation."""
    make_order(world, "received")
    make_order(world, "received", requester="PH", lines=[fuel_line(currency="JPY", price="300")])

    def propose(by):
        return lambda s: settlement.propose_offset(s, agreement_code="PHJP", by=by, on=ON)

    exactly_one_wins(*race.held(db_url, propose("ph-finance"), propose("jp-finance")),
                     errors.AlreadyExists)


@pytest.mark.parametrize("ref_by", ["claim", "order"])
def test_settling_two_claims_of_one_order_at_once(world, run, ref_by):
    """Different claims, so both succeed; and the order must end settled, whichever commits
    last."""
    number = make_order(world, "received", lines=[fuel_line(), airlift_line("eve")])
    eve, cash = claim_numbers(world, number)
    first = pay(cash if ref_by == "claim" else number, "955000")

    def second(s):
        return settlement.exchange(
            s, claim_ref=eve if ref_by == "claim" else number, by="jp-supplying", on=ON,
            value=Money.of(1_000_000, "PHP"), category="transportation", description="airlift")

    a, b = run(first, second)
    assert a.ok and b.ok, (a.error, b.error)
    nothing_settled_twice(world)
    with unit_of_work(world) as s:
        assert orders.get_order(s, number).state == "settled"


@pytest.mark.parametrize("lines", [[fuel_line()], [fuel_line(), airlift_line("eve")]],
                         ids=["bill-only", "bill-and-exchange"])
def test_paying_while_an_offset_is_approved(world, db_url, lines):
    """The offset was proposed over the bill JP then pays in full; the approval, running
    while the payment is not yet committed, must not settle the bill a second time. (With an
    exchange still open the order's state does not change, so its version check does not
    come to the rescue.) Regression: both once committed on PostgreSQL."""
    number = make_order(world, "received", lines=lines)
    ref = claim_numbers(world, number)[-1]
    make_order(world, "received", requester="PH", lines=[fuel_line(currency="JPY", price="300")])
    with unit_of_work(world) as s:
        settlement.propose_offset(s, agreement_code="PHJP", by="ph-finance", on=ON)

    def approve(s):
        return settlement.approve_offset(s, number="PHJP-OFS-0001", by="jp-finance", on=ON)

    def partners_payment(s):
        # our own officials cannot pay a claim of a proposed offset (ClaimInProposedOffset);
        # a partner's payment applied by sync can, and is what may cross the approval
        from acsa.sync.capture import APPLYING

        s.info[APPLYING] = True
        return pay(ref, "955000")(s)

    paid, approved = race.held(db_url, partners_payment, approve)
    assert paid.ok
    assert isinstance(approved.error, errors.StaleVersion), repr(approved.error)
    nothing_settled_twice(world)


def test_returning_while_deadlines_convert(world, db_url):
    """A partial return in kind committed while the deadline run converts the same claim:
    the cash claim must cover only what was not returned. Regression: on PostgreSQL the
    returned quantity was once converted to cash as well."""
    number = make_order(world, "received", lines=[fuel_line("rik")])
    (ref,) = claim_numbers(world, number)
    late = D(2027, 5, 13)  # the day the conversion is dated: a return must come before it

    def give_back(s):
        return settlement.return_in_kind(
            s, claim_ref=ref, by="jp-supplying", on=D(2027, 5, 12),
            quantity=Decimal(4000), unit="L",
            stock_number="9140-00-273-2377")

    returned, converted = race.held(
        db_url, give_back, lambda s: settlement.run_deadlines(s, as_of=late))
    assert returned.ok and converted.ok, (returned.error, converted.error)
    nothing_settled_twice(world)
    with unit_of_work(world) as s:
        cash = [c for c in settlement.claims_of(s, orders.get_order(s, number))
                if c.method == "cash"]
        assert [c.amount_minor for c in cash] == [6000 * 9550]


def test_deadline_run_while_an_offset_is_approved(request, world, db_url):
    """The approval locks the orders of its items (the proposer's claims first), the deadline
    run the orders of all open claims by due date: opposite orders here. Both must finish,
    or the loser be told by name to try again."""
    a = make_order(world, "received")  # PH's bill, due 2026-06-11
    b = make_order(world, "received", requester="PH", on=D(2026, 5, 20),
                   lines=[fuel_line(currency="JPY", price="300")])  # JP's bill, due 06-21
    bills = [claim_numbers(world, n)[0] for n in (b, a)]
    with unit_of_work(world) as s:
        offset = settlement.propose_offset(s, agreement_code="PHJP", by="jp-finance", on=ON)
        assert [i.claim_id for i in offset.items] == [
            settlement.get_claim(s, n).id for n in bills]

    def approve(s):
        return settlement.approve_offset(s, number="PHJP-OFS-0001", by="ph-finance", on=ON)

    def deadlines(s):
        return settlement.run_deadlines(s, as_of=ON)

    approved, ran = race.crossed(db_url, approve, deadlines)
    for outcome in (approved, ran):
        assert outcome.ok or isinstance(outcome.error, errors.StaleVersion), outcome.error
    nothing_settled_twice(world)


@pytest.mark.parametrize("mode, existing", [("held", 0), ("held", 1), ("free", 1)])
def test_creating_orders_at_once_numbers_both(world, db_url, mode, existing):
    """Two requesters create orders at the same moment, with or without a number already
    issued this fiscal year: both get numbers, without a gap. Regression: the first number of
    a year once failed on PostgreSQL with a raw UniqueViolation."""
    with unit_of_work(world) as s:
        add_official(s, "jp-requesting-2", "JP", "requesting")
        for _ in range(existing):
            draft(s)

    def create(by):
        return lambda s: orders.create_order(
            s, agreement_code="PHJP", activity_code="KAMANDAG-10", by=by, order_on=ON,
            lines=[fuel_line()])

    a, b = race.RACES[mode](db_url, create("jp-requesting"), create("jp-requesting-2"))
    assert a.ok and b.ok, (a.error, b.error)
    with unit_of_work(world) as s:
        numbers = [o.number for o in orders.list_orders(s)]
    assert numbers == [f"PHJP-JP-2026-{n:04d}" for n in range(1, existing + 3)]

