"""The ageing, the activity register and the annual report, as PDF and xlsx, read back and
checked against `ledger.reports` (ageing, totals, ceiling lines) and the orders' own totals."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest

from acsa import errors
from acsa.activities import service as activities
from acsa.agreements import service as agreements
from acsa.db.engine import unit_of_work
from acsa.documents import reports
from acsa.documents import reports_data as data
from acsa.ledger import reports as ledger_reports
from acsa.money import Money
from acsa.orders import service as orders
from acsa.orders.domain import add_months
from acsa.orders.models import Order
from tests.documents._reports_helpers import (  # noqa: F401  (fixtures)
    AS_OF,
    books,
    minor_of,
    money_text,
    pdf_text,
    workbook,
)
from tests.factories import D, airlift_line, fuel_line, order_to


# --- ageing ----------------------------------------------------------------------------------
@pytest.mark.parametrize("as_of", [D(2026, 12, 31), D(2027, 8, 1)])
def test_ageing_totals_are_the_ledgers(books, as_of):  # noqa: F811
    engine, _ = books
    with unit_of_work(engine) as s:
        rows = ledger_reports.ageing(s, as_of=as_of, agreement="PHJP")
        pdf = reports.ageing_document(s, as_of=as_of, agreement="PHJP")
        xlsx = reports.ageing_document(s, as_of=as_of, agreement="PHJP", fmt="xlsx")
    assert rows
    expected: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        expected[(r.creditor, r.debtor, r.currency)][r.bucket] += r.value_minor
    wb = workbook(xlsx)
    ws = wb["Buckets"]
    header = [c.value for c in ws[6]]  # under the title, three facts and a blank row
    names = header[3:-1]
    assert names == [b[0] for b in data.books.AGEING_BUCKETS]
    got = {}
    for row in ws.iter_rows(min_row=7):
        cur = row[2].value
        got[(row[0].value, row[1].value, cur)] = {
            n: minor_of(c.value, cur) for n, c in zip(names, row[3:-1], strict=True)
            if minor_of(c.value, cur)}
        assert all(c.number_format == ('"JPY" #,##0' if cur == "JPY" else f'"{cur}" #,##0.00')
                   for c in row[3:])
    assert got == {k: dict(v) for k, v in expected.items()}
    claims = wb["Claims"]
    listed = {r[0].value: r for r in claims.iter_rows(min_row=4)}
    assert set(listed) == {r.claim for r in rows}
    for r in rows:
        row = listed[r.claim]
        assert row[10].is_date and row[10].value.date() == r.delivered_on
        assert row[13].value.date() == add_months(r.delivered_on, 12)
        assert row[15].value.date() == add_months(r.delivered_on, 18)
        assert row[14].value is (as_of > add_months(r.delivered_on, 12))
        assert minor_of(row[9].value, r.currency) == r.value_minor
    text = pdf_text(pdf)
    for r in rows:
        assert r.claim in text
    for (_, _, cur), v in expected.items():
        assert money_text(cur, sum(v.values())) in text
    flat = " ".join(text.split())  # a caption may wrap in its header cell
    assert "12-month mark" in flat and "18-month mark" in flat


def test_ageing_marks_past_the_12_and_18_months(books):  # noqa: F811
    engine, made = books
    with unit_of_work(engine) as s:
        ag = data.ageing(s, as_of=D(2028, 1, 1), party="PH")
        ja = pdf_text(reports.ageing_document(s, as_of=D(2028, 1, 1), lang="ja"))
    cash = next(ln for ln in ag.lines if ln.row.claim == made["cash"])
    assert cash.mark_12 == D(2027, 5, 12) and cash.mark_18 == D(2027, 11, 12)
    assert cash.past_12 and cash.past_18 and cash.row.bucket == "over 18 months"
    assert all("PH" in (ln.row.creditor, ln.row.debtor) for ln in ag.lines)
    flat = "".join(ja.split())
    assert "未決済請求の経過期間" in flat and "12か月期限" in flat


def test_ageing_refuses_unknown_things(books):  # noqa: F811
    engine, _ = books
    with unit_of_work(engine) as s:
        with pytest.raises(errors.NotFound):
            data.ageing(s, as_of=AS_OF, agreement="ZZZZ")
        with pytest.raises(errors.InvalidInput):
            data.ageing(s, as_of=AS_OF, party="XX")


# --- activity register -----------------------------------------------------------------------
def test_activity_totals_are_the_orders_totals(books):  # noqa: F811
    engine, _ = books
    with unit_of_work(engine) as s:
        cancelled = order_to(s, "requested", on=D(2026, 6, 1), lines=[fuel_line(qty="77")])
        orders.cancel_order(s, number=cancelled.number, by="jp-requesting", on=D(2026, 6, 2),
                            reason="not needed")
        order_to(s, "accepted", on=D(2026, 6, 3), lines=[fuel_line(), airlift_line("cash")])
    with unit_of_work(engine) as s:
        act_id = activities.get_activity(s, "KAMANDAG-10").id
        act = list(s.query(Order).where(Order.activity_id == act_id))
        reg = data.activity_register(s, "KAMANDAG-10")
        pdf = reports.activity_document(s, "KAMANDAG-10", lang="ja")
        xlsx = reports.activity_document(s, "KAMANDAG-10", fmt="xlsx")
        counted = [o for o in act if o.state != "cancelled"]
        expected: dict[str, int] = defaultdict(int)
        by_category: dict[tuple[str, str], int] = defaultdict(int)
        for o in counted:
            expected[o.currency] += orders.total(o).minor
            for ln in o.lines:
                by_category[(ln.category, o.currency)] += \
                    Money(ln.unit_price_minor, ln.currency).times(ln.quantity).minor
    assert {o.number for o in reg.orders} == {o.number for o in act}
    assert reg.totals == dict(expected) and reg.by_category == dict(by_category)
    assert sum(reg.by_kind.values()) == sum(expected.values())
    wb = workbook(xlsx)
    ws = wb["Orders"]
    totals = {r[6].value: minor_of(r[9].value, r[6].value) for r in ws.iter_rows(min_row=8)
              if r[0].value == "Total"}
    assert totals == dict(expected)
    rows = {r[0].value: r for r in ws.iter_rows(min_row=8) if r[1].value}
    for o in act:
        assert rows[o.number][2].is_date
        assert minor_of(rows[o.number][9].value, o.currency) == orders.total(o).minor
    cats = {(r[0].value, r[1].value): minor_of(r[2].value, r[1].value)
            for r in wb["By category"].iter_rows(min_row=4)}
    assert cats[("Fuel, oil and lubricants", "PHP")] == by_category[("fuel", "PHP")]
    text = pdf_text(pdf)
    assert cancelled.number in text and "取消" in text  # listed, with its state
    assert "燃料・油脂・潤滑油" in text and "活動別台帳" in text
    for cur, v in expected.items():
        assert money_text(cur, v) in text


def test_an_unknown_activity_is_not_found(books):  # noqa: F811
    engine, _ = books
    with unit_of_work(engine) as s:
        with pytest.raises(errors.NotFound):
            data.activity_register(s, "NO-SUCH")
        with pytest.raises(errors.NotFound):  # runs under PH-JP only: none of US's
            data.activity_register(s, "HADR-CEBU", viewer_party="US")
        assert data.activity_register(s, "HADR-CEBU", viewer_party="JP").orders


# --- annual report ---------------------------------------------------------------------------
def test_annual_totals_and_ceiling_use_are_the_ledgers(books):  # noqa: F811
    engine, _ = books
    with unit_of_work(engine) as s:  # a US acquisition from JP, counted against US ceilings
        order_to(s, "received", agreement="JPUS", activity="PORTCALL-YOKO", requester="US",
                 on=D(2026, 5, 5), lines=[fuel_line(currency="JPY", price="300")])
    with unit_of_work(engine) as s:
        an = data.annual_report(s, party="JP", fiscal_year=2026)
        pdf = reports.annual_document(s, party="JP", fiscal_year=2026)
        xlsx = reports.annual_document(s, party="JP", fiscal_year=2026, fmt="xlsx")
        totals = [t for code in ("PHJP", "JPUS")
                  for t in ledger_reports.totals(s, agreement=code)]
        first, last = D(2026, 4, 1), D(2027, 3, 31)
        ceilings = ledger_reports.ceiling_lines(s, [agreements.get(s, "JPUS")], as_of=last,
                                                fiscal_year=2026)
    # provided: JP's own book, JP's fiscal year 2026, exactly as reports.totals groups it
    provided: dict[tuple, int] = defaultdict(int)
    for t in totals:
        if t.supplier == "JP" and t.fiscal_year == 2026:
            provided[(t.recipient, t.category, t.commodity)] += t.amount
    assert {(p, c, cur): v for (d, p, c, cur), v in
            an.by("direction", "partner", "category", "currency").items()
            if d == "provided"} == dict(provided)
    assert provided[("US", "fuel", "JPY")] == 300 * 10000
    # received: what PH provided to JP, posted within JP's fiscal year
    with unit_of_work(engine) as s:
        received = sum(r.amount for r in an.rows if r.direction == "received")
        upto = sum(t.amount for t in ledger_reports.totals(s, agreement="PHJP", as_of=last)
                   if t.recipient == "JP")
        before = sum(t.amount for t in ledger_reports.totals(
            s, agreement="PHJP", as_of=first - dt.timedelta(days=1)) if t.recipient == "JP")
    assert received == upto - before == 283_250_000
    us = [c for c in an.ceilings if c.party == "US" and c.fiscal_year == 2026]
    assert [(c.part, c.limit, c.used) for c in us] == [
        (c.part, c.limit, c.used) for c in ceilings if c.party == "US"]
    assert next(c for c in us if c.part == "supplies").used.minor == 2_000_000  # USD 20,000
    wb = workbook(xlsx)
    ceiling_rows = [r for r in wb["Ceilings"].iter_rows(min_row=4)
                    if (r[1].value, r[2].value, r[3].value) == ("US", 2026, "supplies")]
    assert minor_of(ceiling_rows[0][6].value, "USD") == 2_000_000
    assert ceiling_rows[0][6].number_format == '"USD" #,##0.00'
    support = wb["Support"]
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for r in support.iter_rows(min_row=8):
        if r[0].value in ("PHJP", "JPUS"):
            sums[(r[1].value, r[6].value)] += minor_of(r[7].value, r[6].value)
    assert sums[("Support provided", "JPY")] == sum(v for (_, _, cur), v in provided.items()
                                                     if cur == "JPY")
    text = pdf_text(pdf)
    assert money_text("USD", 2_000_000) in text and "Ceiling use" in text
    assert money_text("PHP", 283_250_000) in text


def test_annual_refuses_bad_years_and_parties(books):  # noqa: F811
    engine, _ = books
    with unit_of_work(engine) as s:
        with pytest.raises(errors.InvalidInput):
            data.annual_report(s, party="JP", fiscal_year=10)
        with pytest.raises(errors.InvalidInput):
            data.annual_report(s, party="US", fiscal_year=2026, agreement="PHJP")
        with pytest.raises(errors.NotFound):
            data.annual_report(s, party="JP", fiscal_year=2026, agreement="ZZZZ")
