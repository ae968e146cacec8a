"""The ageing report's fast path (one SQL statement read through the DB-API cursor, sums grouped
by account and merged, dates bucketed once each) gives exactly what the straightforward
computation it replaced gives: that one is kept below as the reference, word for word, and both
are run on random books on each backend."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from acsa import money
from acsa.db.base import utcnow
from acsa.db.engine import unit_of_work
from acsa.ledger import domain as books
from acsa.ledger import reports
from acsa.ledger.models import Entry, LedgerLine
from acsa.ledger.reports import RECEIVABLES, AgeingRow, bucket_for
from acsa.orders.models import Order
from acsa.settlement.models import Claim
from tests.integration.helpers import make_order


def reference_ageing(session: Session, *, as_of: dt.date, agreement: str | None = None
                     ) -> list[AgeingRow]:
    """reports.ageing as it was before the fast path (ORM query, SQLAlchemy rows)."""
    sums = (select(LedgerLine.claim_id, LedgerLine.commodity,
                   func.sum(LedgerLine.amount).label("left"))
            .where(LedgerLine.account.in_(RECEIVABLES), LedgerLine.posted_on <= as_of,
                   LedgerLine.claim_id.is_not(None))
            .group_by(LedgerLine.claim_id, LedgerLine.commodity)
            .having(func.sum(LedgerLine.amount) != 0))
    if agreement:
        sums = sums.where(LedgerLine.agreement_code == agreement)
    sub = sums.subquery()
    stmt = (select(Claim.number, Claim.order_id, Claim.agreement_code, Claim.creditor_party,
                   Claim.debtor_party, Claim.method, sub.c.commodity, sub.c.left,
                   Claim.amount_minor, Claim.quantity, Claim.currency, Claim.delivered_on,
                   Claim.due_on)
            .join(sub, sub.c.claim_id == Claim.id).order_by(Claim.delivered_on, Claim.id))
    out = []
    for (number, order_id, code, cred, debt, method, commodity, left, amount, quantity, cur,
         delivered, due) in session.execute(stmt):
        left = int(left)
        if method == "rik" and quantity:
            value = money.Money(amount, cur).times(books.from_kind_units(left) / quantity).minor
        else:
            value = left
        out.append(AgeingRow(number, order_id, code, cred, debt, method, commodity, left, value,
                             cur, delivered, due, (as_of - delivered).days,
                             bucket_for(delivered, as_of), due < as_of))
    return out


def assert_same(session: Session, as_of: dt.date, agreement: str | None) -> list[AgeingRow]:
    got = reports.ageing(session, as_of=as_of, agreement=agreement)
    want = reference_ageing(session, as_of=as_of, agreement=agreement)
    # the order is by delivery date, then claim; the reference left the order of one claim's
    # rows in two commodities open, so compare the sequence of claims and then every row
    assert [r.claim for r in got] == [r.claim for r in want]
    assert sorted(map(dataclasses.astuple, got)) == sorted(map(dataclasses.astuple, want))
    return got


AGREEMENTS = {"PHJP": ("PH", "JP"), "PHUS": ("PH", "US"), "JPUS": ("JP", "US")}
CURRENCY = {"PH": "PHP", "JP": "JPY", "US": "USD"}
DAY0 = dt.date(2025, 1, 1)
RIK = "RIK:FUEL:9140-00-273-2377[L]"
OTHER_ACCOUNTS = [books.CASH, books.PROVIDED, books.payable("cash"), books.payable("rik")]
counter = itertools.count(1)


def add_claim(s: Session, order_id: int, *, code: str, method: str, delivered: dt.date,
              due: dt.date, amount: int, quantity: str | None, forward: bool) -> Claim:
    a, b = AGREEMENTS[code]
    cred, debt = (a, b) if forward else (b, a)
    claim = Claim(number=f"SPEED-{next(counter):05d}", order_id=order_id, agreement_code=code,
                  method=method, creditor_party=cred, debtor_party=debt,
                  currency=CURRENCY[cred], amount_minor=amount,
                  quantity=Decimal(quantity) if quantity is not None else None,
                  unit="L" if method == "rik" else None, item="speed path", category="fuel",
                  stock_number="", commodity=RIK if method == "rik" else CURRENCY[cred],
                  delivered_on=delivered, issued_on=delivered, due_on=due, state="open")
    s.add(claim)
    s.flush()
    return claim


def add_lines(s: Session, lines: list[dict[str, object]]) -> None:
    """Ledger lines as they are, balanced or not: the reports must only add them up."""
    entry = Entry(agreement_code="PHJP", kind="test", posted_on=DAY0, memo="speed path",
                  created_at=utcnow())
    s.add(entry)
    s.flush()
    s.execute(insert(LedgerLine), [{"entry_id": entry.id, "fiscal_year": 2026,
                                    "activity_id": None, "category": None, "kind": None, **ln}
                                   for ln in lines])


def line(claim: Claim | None, account: str, commodity: str, amount: int, on: dt.date,
         code: str | None = None) -> dict[str, object]:
    book = claim.creditor_party if claim else "PH"
    return {"book": book, "account": account,
            "counterparty": claim.debtor_party if claim else "JP", "commodity": commodity,
            "amount": amount, "posted_on": on,
            "agreement_code": code or (claim.agreement_code if claim else "PHJP"),
            "claim_id": claim.id if claim else None}


@pytest.fixture
def order_id(world) -> int:  # type: ignore[no-untyped-def]
    """An accepted order for the made-up claims to belong to."""
    number = make_order(world, "accepted")
    with unit_of_work(world) as s:
        return s.scalar(select(Order.id).where(Order.number == number))  # type: ignore[return-value]


def test_one_claim_in_two_receivable_accounts_is_one_row(world, order_id):
    with unit_of_work(world) as s:
        on = dt.date(2026, 3, 1)
        kw = {"code": "PHJP", "delivered": on, "due": on + dt.timedelta(days=30),
              "amount": 10_000, "quantity": None, "forward": True}
        both = add_claim(s, order_id, method="cash", **kw)
        cancelling = add_claim(s, order_id, method="eve", **kw)
        three = add_claim(s, order_id, method="cash", **kw)
        add_lines(s, [
            line(both, RECEIVABLES[0], "PHP", 10_000, on),
            line(both, RECEIVABLES[2], "PHP", 5_000, on),
            line(cancelling, RECEIVABLES[0], "PHP", 7_000, on),
            line(cancelling, RECEIVABLES[2], "PHP", -7_000, on),
            line(three, RECEIVABLES[0], "PHP", 1, on),  # +1 -1 in two accounts, +3 in a third
            line(three, RECEIVABLES[1], "PHP", -1, on),
            line(three, RECEIVABLES[2], "PHP", 3, on),
        ])
        rows = assert_same(s, dt.date(2026, 6, 30), None)
    assert [(r.claim, r.outstanding) for r in rows] == [(both.number, 15_000),
                                                        (three.number, 3)]


def test_in_kind_value_and_the_buckets(world, order_id):
    with unit_of_work(world) as s:
        as_of = dt.date(2026, 12, 31)
        claims = []
        for i, (months_ago, qty) in enumerate([(0, "10"), (2, "0"), (7, "3.5"), (13, "1"),
                                               (19, "7"), (-1, "2")]):
            delivered = as_of - dt.timedelta(days=30 * months_ago + i)
            c = add_claim(s, order_id, code="JPUS", method="rik", delivered=delivered,
                          due=delivered + dt.timedelta(days=365), amount=123_457,
                          quantity=qty, forward=bool(i % 2))
            claims.append(c)
        add_lines(s, [line(c, RECEIVABLES[1], RIK, 1_234 * (i + 1), c.delivered_on)
                      for i, c in enumerate(claims)])
        rows = assert_same(s, as_of, None)
        assert {r.bucket for r in rows} >= {"0-30", "181-365", "over 12 months",
                                            "over 18 months"}
        assert_same(s, as_of, "JPUS")
        assert_same(s, as_of, "PHJP")


DATES = st.dates(min_value=dt.date(2024, 6, 1), max_value=dt.date(2027, 12, 31))


@st.composite
def claim_spec(draw):  # type: ignore[no-untyped-def]
    method = draw(st.sampled_from(["cash", "rik", "eve"]))
    delivered = draw(DATES)
    return {"code": draw(st.sampled_from(sorted(AGREEMENTS))), "method": method,
            "delivered": delivered,
            "due": delivered + dt.timedelta(days=draw(st.integers(-5, 400))),
            "amount": draw(st.integers(1, 10**13)),
            "quantity": (draw(st.sampled_from(["0", "1", "3", "12.5", "0.001", "40000"]))
                         if method == "rik" else None),
            "forward": draw(st.booleans())}


@st.composite
def line_spec(draw, n_claims: int):  # type: ignore[no-untyped-def]
    return {"claim": draw(st.one_of(st.none(), st.integers(0, n_claims - 1))),
            "account": draw(st.sampled_from(RECEIVABLES * 3 + OTHER_ACCOUNTS)),
            "commodity": draw(st.sampled_from(["own", "own", "PHP", "USD", RIK])),
            "amount": draw(st.sampled_from([1, -1, 100, -100, 10**12, -(10**12)])
                           | st.integers(-(10**9), 10**9)),
            "on": draw(DATES),
            "code": draw(st.sampled_from([None, None, "PHJP", "PHUS", "JPUS"]))}


@settings(max_examples=20, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_ageing_equals_the_reference_on_random_books(world, order_id, data):
    """Random claims and random lines (in and out of the receivable accounts, with and without a
    claim, in several commodities, cancelling and not, under other agreements), added up as of
    random dates, for all agreements and for each one. The books grow from one example to the
    next (ledger lines cannot be deleted), so later examples add up more."""
    specs = data.draw(st.lists(claim_spec(), min_size=1, max_size=6), label="claims")
    with unit_of_work(world) as s:
        claims = [add_claim(s, order_id, **spec) for spec in specs]
        lines = data.draw(st.lists(line_spec(len(claims)), min_size=1, max_size=25),
                          label="lines")
        add_lines(s, [line(claims[ln["claim"]] if ln["claim"] is not None else None,
                           ln["account"],
                           (claims[ln["claim"]].commodity
                            if ln["commodity"] == "own" and ln["claim"] is not None
                            else "PHP" if ln["commodity"] == "own" else ln["commodity"]),
                           ln["amount"], ln["on"], ln["code"]) for ln in lines])
        for as_of in data.draw(st.lists(DATES, min_size=1, max_size=3), label="as of"):
            assert_same(s, as_of, None)
            assert_same(s, as_of, data.draw(st.sampled_from(sorted(AGREEMENTS)),
                                            label="agreement"))
