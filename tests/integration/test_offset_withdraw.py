"""Withdrawing an offset, and the claims of a proposed offset kept as it found them.

The proposing party's finance official may withdraw a proposed offset, with a reason, before
it is approved; an approved or already withdrawn offset, an official of the other party and an
official who is not in finance are refused with named errors that change nothing. While an
offset awaits approval, a payment, return, exchange or conversion of a claim it names is
refused with `ClaimInProposedOffset`, naming the offset and how to proceed; once it is
withdrawn (or approved) the claim is settled as usual. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from acsa import errors
from acsa.audit.models import Event
from acsa.db.engine import unit_of_work
from acsa.ledger.models import LedgerLine
from acsa.money import Money
from acsa.settlement import service as settlement
from acsa.settlement.models import Offset, OffsetItem
from tests.factories import D, airlift_line, fuel_line
from tests.integration.helpers import (
    add_official,
    assert_books_ok,
    assert_refused,
    claim,
    claim_numbers,
    make_order,
    pay_in_full,
)

ON = D(2026, 6, 1)
NUMBER = "PHJP-OFS-0001"


@pytest.fixture
def proposed(world):
    """PH proposed netting JP's 955,000.00 PHP bill (order A) against PH's 3,000,000 JPY bill
    (order B). Returns (the PHP claim JP owes, the JPY claim PH owes)."""
    a = make_order(world, "received")
    b = make_order(world, "received", requester="PH", lines=[fuel_line(currency="JPY",
                                                                       price="300")])
    claim_a, claim_b = claim_numbers(world, a)[0], claim_numbers(world, b)[0]
    with unit_of_work(world) as s:
        offset = settlement.propose_offset(s, agreement_code="PHJP", by="ph-finance", on=ON)
        assert (offset.number, offset.state) == (NUMBER, "proposed")
    return claim_a, claim_b


def withdraw(by="ph-finance", reason="JP paid the bill in cash instead", number=NUMBER, on=ON):
    return lambda s: settlement.withdraw_offset(s, number=number, by=by, on=on, reason=reason)


def approve(by="jp-finance"):
    return lambda s: settlement.approve_offset(s, number=NUMBER, by=by, on=ON)


def state(world, number=NUMBER):
    with unit_of_work(world, read_only=True) as s:
        return s.scalar(select(Offset.state).where(Offset.number == number))


# --- withdrawing -----------------------------------------------------------------------------
def test_the_proposer_withdraws_with_a_reason_and_nothing_is_netted(world, proposed):
    claim_a, claim_b = proposed
    with unit_of_work(world) as s:
        lines = s.scalar(select(func.count()).select_from(LedgerLine))
    with unit_of_work(world) as s:
        offset = withdraw(reason="  JP paid the bill in cash instead  ")(s)
        assert offset.state == "withdrawn"
    assert state(world) == "withdrawn"
    with unit_of_work(world) as s:
        assert s.scalar(select(func.count()).select_from(LedgerLine)) == lines
        assert settlement.outstanding(claim(s, claim_a)).minor == 95_500_000
        event = s.scalar(select(Event).where(Event.subject == f"offset:{NUMBER}",
                                             Event.action == "offset.withdrawn"))
        assert (event.party, event.actor) == ("PH", "ph-finance")
        assert json.loads(event.payload) == {"reason": "JP paid the bill in cash instead",
                                             "on": "2026-06-01"}
        assert_books_ok(s)
    # the claims are free again: JP pays its bill, and a new proposal may be made
    with unit_of_work(world) as s:
        pay_in_full(s, claim_a)
    with unit_of_work(world) as s:
        assert claim(s, claim_a).state == "settled"
    # nothing left owed to PH: nothing to offset, and the withdrawn one cannot be approved
    assert_refused(world, errors.SettlementInvalid, lambda s: settlement.propose_offset(
        s, agreement_code="PHJP", by="ph-finance", on=ON))
    assert_refused(world, errors.SettlementInvalid, approve())


def test_a_withdrawn_offset_makes_way_for_a_new_proposal(world, proposed):
    with unit_of_work(world) as s:
        withdraw()(s)
        again = settlement.propose_offset(s, agreement_code="PHJP", by="jp-finance", on=ON)
    assert again.number == "PHJP-OFS-0002"
    with unit_of_work(world) as s:
        settlement.approve_offset(s, number="PHJP-OFS-0002", by="ph-finance", on=ON)
    assert (state(world), state(world, "PHJP-OFS-0002")) == ("withdrawn", "approved")


def test_an_approved_or_withdrawn_offset_cannot_be_withdrawn(world, proposed):
    with unit_of_work(world) as s:
        approve()(s)
    e = assert_refused(world, errors.OffsetNotProposed, withdraw(), match="is approved")
    assert (e.kind, e.exit_code, e.details["offset"]) == ("conflict", 6, NUMBER)
    assert e.details["offset_state"] == "approved"
    assert state(world) == "approved"


def test_withdrawing_twice_is_refused(world, proposed):
    with unit_of_work(world) as s:
        withdraw()(s)
    assert_refused(world, errors.OffsetNotProposed, withdraw(), match="is withdrawn")


@pytest.mark.parametrize("by, error", [
    ("jp-finance", errors.WrongParty),  # the other party's finance official
    ("ph-approving", errors.WrongRole),  # the proposing party, not finance
    ("us-finance", errors.WrongParty),  # no party to the offset
])
def test_only_a_finance_official_of_the_proposing_party_withdraws(world, proposed, by, error):
    assert_refused(world, error, withdraw(by=by))
    assert state(world) == "proposed"


def test_another_finance_official_of_the_proposer_may_withdraw(world, proposed):
    with unit_of_work(world) as s:
        add_official(s, "ph-fin-reyes", "PH", "finance")
    with unit_of_work(world) as s:
        withdraw(by="ph-fin-reyes")(s)
    assert state(world) == "withdrawn"


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(world, proposed, reason):
    e = assert_refused(world, errors.InvalidInput, withdraw(reason=reason))
    assert e.field == "reason"
    assert state(world) == "proposed"


def test_an_unknown_offset_is_not_found(world, proposed):
    assert_refused(world, errors.NotFound, withdraw(number="PHJP-OFS-0099"))


def test_an_official_outside_their_validity_is_refused(world, proposed):
    assert_refused(world, errors.AuthorityNotValid, withdraw(on=D(2040, 1, 1)))


# --- claims of a proposed offset ---------------------------------------------------------------
def test_a_claim_of_a_proposed_offset_cannot_be_paid(world, proposed):
    claim_a, claim_b = proposed
    for ref, by, amount in ((claim_a, "jp-finance", "1000 PHP"),
                            (claim_b, "ph-finance", "1000 JPY")):
        e = assert_refused(world, errors.ClaimInProposedOffset, lambda s, r=ref, b=by, m=amount:
                           settlement.pay(s, claim_ref=r, by=b, on=ON, amount=Money.parse(m)))
        assert e.details == {"claim": ref, "offset": NUMBER, "proposing_party": "PH",
                             "approving_party": "JP"}
        assert f"named in offset {NUMBER}, which awaits approval by JP" in e.message
        assert f"acsa settle offset --withdraw {NUMBER}" in e.hint
        assert "wait for JP to approve it" in e.hint
        assert e.kind == "conflict"
    # withdrawn, the bill is paid as usual
    with unit_of_work(world) as s:
        withdraw()(s)
        settlement.pay(s, claim_ref=claim_a, by="jp-finance", on=ON,
                       amount=Money.parse("1000 PHP"))
    with unit_of_work(world) as s:
        assert settlement.outstanding(claim(s, claim_a)).minor == 95_400_000


def test_after_approval_what_is_left_is_paid_as_usual(world, proposed):
    _, claim_b = proposed
    with unit_of_work(world) as s:
        approve()(s)
        pay_in_full(s, claim_b)
    with unit_of_work(world) as s:
        assert claim(s, claim_b).state == "settled"
        assert_books_ok(s)


def test_a_claim_in_another_agreements_offset_is_not_held(world, proposed):
    """Only the claims the offset names are held: another bill is paid as usual."""
    other = claim_numbers(world, make_order(world, "received"))[0]
    with unit_of_work(world) as s:
        settlement.pay(s, claim_ref=other, by="jp-finance", on=ON,
                       amount=Money.parse("1000 PHP"))


def _held_by_an_offset(world, claim_number):
    """An offset awaiting approval naming an in-kind claim. `propose_offset` names only cash
    claims, so the row is written directly: the guard of each settlement must hold whatever
    a proposal names."""
    with unit_of_work(world) as s:
        c = claim(s, claim_number)
        s.add(Offset(number="PHJP-OFS-0050", agreement_code="PHJP", proposing_party="JP",
                     approving_party="PH", currency="PHP", amount_minor=1, offset_on=ON,
                     state="proposed", proposed_by_id=1, note="",
                     items=[OffsetItem(claim_id=c.id, applied_minor=1, value_minor=1,
                                       rate="1")]))


def test_a_return_in_kind_of_a_held_claim_is_refused(world):
    [rik] = claim_numbers(world, make_order(world, "received", lines=[fuel_line("rik")]))
    _held_by_an_offset(world, rik)
    assert_refused(world, errors.ClaimInProposedOffset, lambda s: settlement.return_in_kind(
        s, claim_ref=rik, by="jp-supplying", on=ON, quantity=Decimal(100), unit="L",
        stock_number="9140-00-273-2377"), match="cannot be returned in kind meanwhile")


def test_an_exchange_of_a_held_claim_is_refused(world):
    [eve] = claim_numbers(world, make_order(world, "received", lines=[airlift_line()]))
    _held_by_an_offset(world, eve)
    assert_refused(world, errors.ClaimInProposedOffset, lambda s: settlement.exchange(
        s, claim_ref=eve, by="jp-supplying", on=ON, value=Money.parse("1000 PHP"),
        category="transportation", description="CH-47 airlift"),
        match="cannot be exchanged meanwhile")


def test_a_conversion_of_a_held_claim_is_refused(world):
    [rik] = claim_numbers(world, make_order(world, "received", lines=[fuel_line("rik")]))
    _held_by_an_offset(world, rik)
    assert_refused(world, errors.ClaimInProposedOffset,
                   lambda s: settlement.convert_overdue_return_to_cash(
                       s, claim=claim(s, rik), on=D(2028, 1, 1)),
                   match="cannot be converted to cash meanwhile")


# --- at the same moment ------------------------------------------------------------------------
@pytest.mark.parametrize("first", ["withdraw", "approve"])
def test_withdrawing_while_the_offset_is_approved(world, proposed, db_url, first):
    """The two lock the offset's row: whichever commits first stands, and the other is told
    by name (the offset is no longer awaiting approval); nothing is netted and withdrawn."""
    from tests.integration import race

    steps = {"withdraw": withdraw(), "approve": approve()}
    second = "approve" if first == "withdraw" else "withdraw"
    a, b = race.held(db_url, steps[first], steps[second])
    assert a.ok, a.error
    assert isinstance(b.error, errors.SettlementInvalid), b.error
    assert f"offset {NUMBER} is {'withdrawn' if first == 'withdraw' else 'approved'}" in \
        str(b.error)
    assert state(world) == ("withdrawn" if first == "withdraw" else "approved")
    with unit_of_work(world) as s:
        assert_books_ok(s)


def test_paying_while_the_offset_is_withdrawn(world, proposed, db_url):
    """A payment queued behind the withdrawal of the offset holding its claim sees the claim
    free once the withdrawal commits."""
    from tests.integration import race

    claim_a, _ = proposed
    a, b = race.held(db_url, withdraw(), lambda s: settlement.pay(
        s, claim_ref=claim_a, by="jp-finance", on=ON, amount=Money.parse("1000 PHP")))
    assert a.ok, a.error
    # SQLite queues every writer, so the payment sees the claim free; on PostgreSQL it may
    # read the offset before the withdrawal commits, and is then refused by name
    if db_url.startswith("sqlite"):
        assert b.ok, b.error
    assert b.ok or isinstance(b.error, errors.ClaimInProposedOffset), b.error
    with unit_of_work(world) as s:
        left = settlement.outstanding(claim(s, claim_a)).minor
    assert left == (95_400_000 if b.ok else 95_500_000)
    assert state(world) == "withdrawn"
