"""The balances and ageing reports' faster paths give what the plain computations give.

* balances sums one receivable or payable account at a time through the DB-API cursor: the
  ORM query it replaced is kept below, word for word, as the reference, and both are run on
  random books, as of dates on, before and after the lines' own (SQLite compares the dates
  without the column's numeric affinity, see `reports._posted_on`).
* ageing puts its rows in order in Python, not in SQL: by delivery date, claim id, then
  commodity in the order of its text.
* an in-kind claim's value is worked out without Money objects, exactly as `Money.times`.
* ageing switches cyclic garbage collection off while it builds its rows, and back as it was.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gc
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acsa import money
from acsa.db.engine import unit_of_work
from acsa.ledger import domain as books
from acsa.ledger import reports
from acsa.ledger.models import LedgerLine
from acsa.ledger.reports import METHOD_OF, PAYABLES, RECEIVABLES, BalanceRow
from tests.integration.test_speed_paths_ageing import (  # noqa: F401 (order_id: a fixture)
    AGREEMENTS,
    DATES,
    RIK,
    add_claim,
    add_lines,
    assert_same,
    line,
    order_id,
)


def reference_balances(session: Session, *, as_of: dt.date, agreement: str | None = None
                       ) -> list[BalanceRow]:
    """reports.balances as it was before the faster path (one ORM query, SQLAlchemy rows)."""
    stmt = (select(LedgerLine.agreement_code, LedgerLine.book, LedgerLine.counterparty,
                   LedgerLine.account, LedgerLine.commodity, func.sum(LedgerLine.amount))
            .where(LedgerLine.account.in_(RECEIVABLES + PAYABLES), LedgerLine.posted_on <= as_of)
            .group_by(LedgerLine.agreement_code, LedgerLine.book, LedgerLine.counterparty,
                      LedgerLine.account, LedgerLine.commodity))
    if agreement:
        stmt = stmt.where(LedgerLine.agreement_code == agreement)
    rows: dict[tuple[str, str, str, str, str], BalanceRow] = {}
    for code, book, cp, account, commodity, amount in session.execute(stmt):
        amount = int(amount)
        method = METHOD_OF[account]
        if account.startswith("assets"):
            key = (code, book, cp, method, commodity)
            row = rows.setdefault(key, BalanceRow(code, book, cp, method, commodity, 0, 0))
            row.creditor_book += amount
        else:
            key = (code, cp, book, method, commodity)
            row = rows.setdefault(key, BalanceRow(code, cp, book, method, commodity, 0, 0))
            row.debtor_book += -amount
    return [r for _, r in sorted(rows.items()) if r.creditor_book or r.debtor_book]


PARTIES = ["PH", "JP", "US"]
ACCOUNTS = RECEIVABLES + PAYABLES + [books.CASH, books.PROVIDED, books.RECEIVED]


@st.composite
def balance_line(draw):  # type: ignore[no-untyped-def]
    book, cp = draw(st.permutations(PARTIES))[:2]
    return {"book": book, "counterparty": cp, "account": draw(st.sampled_from(ACCOUNTS)),
            "commodity": draw(st.sampled_from(["PHP", "JPY", "USD", RIK])),
            "amount": draw(st.sampled_from([1, -1, 10**12, -(10**12)])
                           | st.integers(-(10**9), 10**9)),
            "posted_on": draw(DATES), "agreement_code": draw(st.sampled_from(sorted(AGREEMENTS))),
            "claim_id": None}


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_balances_equal_the_reference_on_random_books(world, data):
    """Random lines in every account the report reads and some it must not, in both books,
    several commodities and agreements, as of random dates and as of the lines' own dates
    (a line posted on the day counts, one posted the day after does not). The books grow from
    one example to the next (ledger lines cannot be deleted)."""
    lines = data.draw(st.lists(balance_line(), min_size=1, max_size=30), label="lines")
    with unit_of_work(world) as s:
        add_lines(s, lines)
        on_the_day = data.draw(st.sampled_from([ln["posted_on"] for ln in lines]), label="day")
        dates = [on_the_day, on_the_day - dt.timedelta(days=1),
                 *data.draw(st.lists(DATES, max_size=2), label="as of")]
        for as_of in dates:
            for agreement in (None, *sorted(AGREEMENTS)):
                assert (reports.balances(s, as_of=as_of, agreement=agreement)
                        == reference_balances(s, as_of=as_of, agreement=agreement))


def test_a_line_counts_from_the_day_it_is_posted(world):
    on = dt.date(2026, 3, 31)
    with unit_of_work(world) as s:
        add_lines(s, [{"book": "PH", "counterparty": "JP", "account": RECEIVABLES[0],
                       "commodity": "PHP", "amount": 500, "posted_on": on,
                       "agreement_code": "PHJP", "claim_id": None}])
        assert reports.balances(s, as_of=on - dt.timedelta(days=1)) == []
        (row,) = reports.balances(s, as_of=on)
        assert (row.creditor, row.debtor, row.creditor_book, row.debtor_book) == (
            "PH", "JP", 500, 0)


def test_ageing_orders_by_delivery_then_claim_then_commodity(world, order_id):  # noqa: F811
    """Claims made in an order that is neither their delivery dates' nor their numbers', and
    one claim owed in three commodities, one of them in two receivable accounts (the sums of
    one account come first, PHP between JPY and USD, then the other's PHP)."""
    as_of = dt.date(2026, 12, 31)
    early, late = dt.date(2026, 2, 1), dt.date(2026, 9, 1)
    with unit_of_work(world) as s:
        kw = {"code": "PHJP", "due": late, "amount": 10_000, "quantity": None,
              "forward": True}
        c_late = add_claim(s, order_id, method="cash", delivered=late, **kw)
        c_early_2 = add_claim(s, order_id, method="cash", delivered=early, **kw)
        c_early_1 = add_claim(s, order_id, method="eve", delivered=early, **kw)
        add_lines(s, [line(c_late, RECEIVABLES[0], "PHP", 1, late),
                      line(c_early_1, RECEIVABLES[0], "USD", 2, early),
                      line(c_early_1, RECEIVABLES[2], "PHP", 3, early),
                      line(c_early_1, RECEIVABLES[0], "JPY", 4, early),
                      line(c_early_1, RECEIVABLES[0], "PHP", 5, early),
                      line(c_early_2, RECEIVABLES[0], "PHP", 6, early)])
        rows = assert_same(s, as_of, None)
    assert [(r.claim, r.commodity, r.outstanding) for r in rows] == [
        (c_early_2.number, "PHP", 6),  # made before c_early_1: a smaller id
        (c_early_1.number, "JPY", 4), (c_early_1.number, "PHP", 8),
        (c_early_1.number, "USD", 2),
        (c_late.number, "PHP", 1)]


@st.composite
def whole(draw):  # type: ignore[no-untyped-def]
    """All of an in-kind claim still owed: units are the quantity in thousandths."""
    quantity = draw(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**9),
                                places=3, allow_nan=False, allow_infinity=False))
    return (draw(st.integers(0, 10**15)), int(quantity * 1000), quantity)


@st.composite
def in_kind(draw):  # type: ignore[no-untyped-def]
    quantity = draw(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**9),
                                places=3, allow_nan=False, allow_infinity=False))
    return (draw(st.integers(0, 10**15)), draw(st.integers(-(10**15), 10**15)), quantity)


@settings(max_examples=500, deadline=None, database=None)
@given(case=in_kind() | whole(), precision=st.sampled_from([28, 28, 12, 40]),
       currency=st.sampled_from(["PHP", "JPY", "USD"]))
@example(case=(12345, 2500, Decimal("2.5")), precision=28, currency="PHP")  # all: the price
@example(case=(12345, 2499, Decimal("2.5")), precision=28, currency="PHP")  # a unit less
def test_an_in_kind_value_is_money_times_the_share(case, precision, currency):
    """Exactly `Money.times` of the share of units, in whatever decimal context the caller
    has (the share is divided in it, as before; the product is made at 60 digits)."""
    amount, units, quantity = case
    with decimal.localcontext() as ctx:
        ctx.prec = precision
        want = money.Money(amount, currency).times(books.from_kind_units(units) / quantity)
        got = reports.in_kind_value(amount, units, quantity, reports._price_context())
    assert got == want.minor


@pytest.mark.parametrize("enabled", [True, False])
def test_ageing_leaves_garbage_collection_as_it_found_it(world, monkeypatch, enabled):
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        with unit_of_work(world) as s:
            reports.ageing(s, as_of=dt.date(2026, 12, 31))
            assert gc.isenabled() is enabled
            monkeypatch.setattr(reports, "_driver_rows", lambda *a: 1 / 0)
            with pytest.raises(ZeroDivisionError):
                reports.ageing(s, as_of=dt.date(2026, 12, 31))
            assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
