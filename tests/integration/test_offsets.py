"""Offsets: one party's finance official proposes netting the open cash claims both ways, the
other party's approves; the same person may not do both; both claims are reduced."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from acsa import errors
from acsa.db.engine import unit_of_work
from acsa.ledger.models import LedgerLine
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from tests.factories import D, fuel_line
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


@pytest.fixture
def both_ways(world):
    """JP owes PH 955,000.00 PHP (order A); PH owes JP 3,000,000 JPY = 1,123,200.00 PHP at the
    FY2026 rate (order B). Returns (order A, its claim, order B, its claim)."""
    a = make_order(world, "received")
    b = make_order(world, "received", requester="PH", lines=[fuel_line(currency="JPY",
                                                                       price="300")])
    return a, claim_numbers(world, a)[0], b, claim_numbers(world, b)[0]


def propose(by="ph-finance", on=ON):
    return lambda s: settlement.propose_offset(s, agreement_code="PHJP", by=by, on=on)


def approve(number, by="jp-finance", on=ON):
    return lambda s: settlement.approve_offset(s, number=number, by=by, on=on)


def test_offset_proposed_by_one_side_and_approved_by_the_other(world, both_ways):
    a, claim_a, b, claim_b = both_ways
    with unit_of_work(world) as s:
        offset = propose()(s)
        assert (offset.number, offset.state, offset.currency, offset.amount_minor) == (
            "PHJP-OFS-0001", "proposed", "PHP", 95_500_000)
        assert offset.proposing_party == "PH" and offset.approving_party == "JP"
        lines_before = s.scalar(select(func.count()).select_from(LedgerLine))
    with unit_of_work(world) as s:  # a proposal binds nothing yet
        assert settlement.outstanding(claim(s, claim_a)).minor == 95_500_000
        assert s.scalar(select(func.count()).select_from(LedgerLine)) == lines_before
    assert_refused(world, errors.AlreadyExists, propose(by="jp-finance"))
    assert_refused(world, errors.WrongParty, approve("PHJP-OFS-0001", by="ph-finance"))
    assert_refused(world, errors.WrongRole, approve("PHJP-OFS-0001", by="jp-approving"))
    with unit_of_work(world) as s:
        approve("PHJP-OFS-0001")(s)
    with unit_of_work(world) as s:
        assert claim(s, claim_a).state == "settled"
        assert orders.get_order(s, a).state == "settled"
        # 955,000.00 PHP / 0.3744 = 2,550,747.86 -> 2,550,748 JPY of the 3,000,000 JPY claim
        b_claim = claim(s, claim_b)
        assert (b_claim.state, settlement.outstanding(b_claim).minor) == ("open", 449_252)
        assert [(r.kind, r.reference, r.rate) for r in b_claim.settlements] == [
            ("offset", "PHJP-OFS-0001", "0.3744")]
        assert orders.get_order(s, b).state == "received"
        # the offset clearing account nets to zero in each book
        clearing = s.execute(select(LedgerLine.book, func.sum(LedgerLine.amount))
                             .where(LedgerLine.account == "equity:offset")
                             .group_by(LedgerLine.book)).all()
        assert sorted((book, int(x)) for book, x in clearing) == [("JP", 0), ("PH", 0)]
        assert_books_ok(s)
    assert_refused(world, errors.SettlementInvalid, approve("PHJP-OFS-0001"))
    with unit_of_work(world) as s:
        pay_in_full(s, claim_b)
    with unit_of_work(world) as s:
        assert orders.get_order(s, b).state == "settled"
        assert_books_ok(s)


def test_the_same_person_may_not_propose_and_approve(world, both_ways):
    with unit_of_work(world) as s:
        add_official(s, "ph-fin-reyes", "PH", "finance", person="reyes")
        add_official(s, "jp-fin-reyes", "JP", "finance", person="reyes")
        propose(by="ph-fin-reyes")(s)
    assert_refused(world, errors.SeparationOfDuties, approve("PHJP-OFS-0001", by="jp-fin-reyes"))
    with unit_of_work(world) as s:
        assert approve("PHJP-OFS-0001")(s).state == "approved"


def test_offset_in_the_other_currency(world, both_ways):
    _, claim_a, _, claim_b = both_ways
    with unit_of_work(world) as s:
        offset = settlement.propose_offset(s, agreement_code="PHJP", by="jp-finance", on=ON,
                                           currency="JPY")
        # 955,000.00 PHP / 0.3744 = 2,550,748 JPY is the smaller side
        assert (offset.currency, offset.amount_minor) == ("JPY", 2_550_748)
        approve(offset.number, by="ph-finance")(s)
    with unit_of_work(world) as s:
        assert claim(s, claim_a).state == "settled"
        assert settlement.outstanding(claim(s, claim_b)).minor == 449_252
        assert_books_ok(s)


def test_nothing_to_offset_one_way_only(world):
    make_order(world, "received")
    assert_refused(world, errors.SettlementInvalid, propose())
    assert_refused(world, errors.WrongParty, propose(by="us-finance"))


def test_a_claim_settled_after_the_proposal_makes_it_stale(world, both_ways):
    """A claim of a proposed offset cannot be paid here (tests/integration/
    test_offset_withdraw.py); a partner's payment applied by sync, made on its node before it
    heard of the proposal, is, and the approval then finds the claim changed."""
    from acsa.sync.capture import APPLYING

    _, claim_a, _, _ = both_ways
    with unit_of_work(world) as s:
        propose()(s)
    assert_refused(world, errors.ClaimInProposedOffset, lambda s: pay_in_full(s, claim_a))
    with unit_of_work(world) as s:
        s.info[APPLYING] = True
        pay_in_full(s, claim_a)
    assert_refused(world, errors.StaleVersion, approve("PHJP-OFS-0001"))
