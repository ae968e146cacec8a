"""The statement of account, as PDF and xlsx, read back and checked against the books: the
closing balance is what `reports.balances` says the party's book holds, the opening balance
what it held the day before `from`, the movements sum from one to the other, conversions name
their recorded rate (and a missing rate is refused or named, never invented)."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest

from acsa import errors
from acsa.db.engine import unit_of_work
from acsa.documents import reports
from acsa.documents import reports_data as data
from acsa.money import Money
from tests.documents._reports_helpers import (  # noqa: F401  (fixtures)
    AS_OF,
    add_movements,
    books,
    minor_of,
    money_text,
    party_book,
    pdf_text,
    workbook,
)
from tests.factories import D

OTHER = {"PH": "JP", "JP": "PH"}


@pytest.mark.parametrize("party", ["PH", "JP"])
@pytest.mark.parametrize("as_of", [D(2026, 12, 31), AS_OF])
def test_closing_balance_is_the_books_balance(books, party, as_of):  # noqa: F811
    engine, _ = books
    with unit_of_work(engine) as s:
        st = data.statement(s, party=party, agreement="PHJP", as_of=as_of)
        expected = party_book(s, party=party, partner=OTHER[party], agreement="PHJP",
                              as_of=as_of)
        before = party_book(s, party=party, partner=OTHER[party], agreement="PHJP",
                            as_of=st.from_on - dt.timedelta(days=1))
        pdf = reports.statement_document(s, party=party, agreement="PHJP", as_of=as_of)
        xlsx = reports.statement_document(s, party=party, agreement="PHJP", as_of=as_of,
                                          fmt="xlsx")
    assert expected, "the history leaves something owed"
    assert {x.commodity: x.closing for x in st.sections if x.closing} == expected
    assert {x.commodity: x.opening for x in st.sections if x.opening} == before
    for x in st.sections:
        assert x.opening + x.debits - x.credits == x.closing
        running = x.opening
        for m in x.movements:
            running += m.amount
            assert m.balance == running and st.from_on <= m.on <= as_of
    text = pdf_text(pdf)
    for commodity, units in expected.items():
        assert money_text(commodity, units) in text
    wb = workbook(xlsx)
    for commodity, units in expected.items():
        if not commodity.isalpha():
            continue
        ws = wb[commodity]
        rows = list(ws.iter_rows(min_row=4, values_only=False))
        opening, *moves, closing = rows  # under the title, a blank row and the header
        assert minor_of(closing[7].value, commodity) == units
        assert closing[7].number_format == reports_number_format(commodity)
        debits = sum(minor_of(r[5].value, commodity) for r in moves if r[5].value is not None)
        credits = sum(minor_of(r[6].value, commodity) for r in moves if r[6].value is not None)
        assert minor_of(opening[7].value, commodity) + debits - credits == units
        assert all(r[0].is_date and isinstance(r[0].value, dt.datetime) for r in moves)
        assert ws.freeze_panes == "A4"


def reports_number_format(commodity: str) -> str:
    return {"PHP": '"PHP" #,##0.00', "JPY": '"JPY" #,##0', "USD": '"USD" #,##0.00'}[commodity]


def test_every_kind_of_movement_is_listed_from_the_partys_book(books):  # noqa: F811
    engine, made = books
    with unit_of_work(engine) as s:
        st = data.statement(s, party="PH", agreement="PHJP", as_of=AS_OF,
                            from_on=D(2026, 1, 1))
        xlsx = reports.statement_document(s, party="PH", agreement="PHJP", as_of=AS_OF,
                                          from_on=D(2026, 1, 1), fmt="xlsx")
    php = next(x for x in st.sections if x.commodity == "PHP")
    assert php.opening == 0
    assert {m.kind for m in php.movements} == {"claim", "payment", "exchange", "offset",
                                               "conversion"}
    payment = next(m for m in php.movements if m.kind == "payment")
    assert (payment.on, payment.claim, payment.credit) == (D(2026, 6, 1), made["cash"],
                                                           40_000_000)
    kind = next(x for x in st.sections if not x.is_currency)
    assert [m.kind for m in kind.movements] == ["claim", "return", "conversion"]
    assert [m.amount for m in kind.movements] == [5_000_000, -2_000_000, -3_000_000]
    # the xlsx lists the same movements, dated, with the partner's payment as a credit
    ws = workbook(xlsx)["PHP"]
    rows = [r for r in ws.iter_rows(min_row=5, values_only=True)][:-1]  # no opening, closing
    assert len(rows) == len(php.movements)
    paid = [r for r in rows if r[3] == made["cash"] and r[6] is not None and
            r[0].date() == D(2026, 6, 1)]
    assert [minor_of(r[6], "PHP") for r in paid] == [40_000_000]


def test_reporting_currency_names_the_rate_it_used(books):  # noqa: F811
    """JP's book owes PHP; in JPY at the PH-JP FY2026 rate (JPY/PHP 0.3744, inverted)."""
    engine, _ = books
    as_of = D(2027, 3, 31)
    with unit_of_work(engine) as s:
        st = data.statement(s, party="JP", agreement="PHJP", as_of=as_of)
        expected = party_book(s, party="JP", partner="PH", agreement="PHJP", as_of=as_of)
        pdf = reports.statement_document(s, party="JP", agreement="PHJP", as_of=as_of,
                                         lang="ja")
        xlsx = reports.statement_document(s, party="JP", agreement="PHJP", as_of=as_of,
                                          fmt="xlsx")
    assert st.currency == "JPY"
    php = next(t for t in st.translations if t.commodity == "PHP")
    assert php.closing == Money(expected["PHP"], "PHP").convert(
        Decimal(1) / Decimal("0.3744"), "JPY").minor
    assert [(r.base, r.quote, r.rate, r.source) for r in st.rates] == [
        ("JPY", "PHP", "0.3744", "MOD FY2026 official rate")]
    text = pdf_text(pdf)
    assert "0.3744" in text and "MOD FY2026 official rate" in text
    assert money_text("JPY", st.closing_total) in text
    assert "勘定明細書" in text and "期末残高" in text and "借方" in text  # Japanese captions
    summary = workbook(xlsx)["Summary"]
    values = [c for row in summary.iter_rows() for c in row if c.value is not None]
    converted = [c for c in values if c.number_format == '"JPY" #,##0'
                 and c.value == st.closing_total]
    assert converted and isinstance(converted[0].value, int)
    rate = [c for c in values if c.value == Decimal("0.3744") or c.value == 0.3744]
    assert rate, "the rate is in the workbook as a number"


def test_a_missing_rate_is_refused_or_named_never_invented(books):  # noqa: F811
    """No JPY/PHP rate for JP's FY2027: asked for JPY, refused; by default, left out."""
    engine, _ = books
    with unit_of_work(engine) as s:
        with pytest.raises(errors.RateMissing):
            reports.statement_document(s, party="JP", agreement="PHJP", as_of=AS_OF,
                                       currency="JPY")
        st = data.statement(s, party="JP", agreement="PHJP", as_of=AS_OF)
        pdf = reports.statement_document(s, party="JP", agreement="PHJP", as_of=AS_OF)
    php = next(t for t in st.translations if t.commodity == "PHP")
    assert php.closing is None and "FY2027" in php.missing and st.closing_total is None
    assert st.rates == []
    assert "no rate recorded" in pdf_text(pdf)


def test_bad_options_are_refused(books):  # noqa: F811
    engine, _ = books
    with unit_of_work(engine) as s:
        for kwargs, field in (({"party": "US"}, "party"), ({"partner": "US"}, "partner"),
                              ({"from_on": D(2028, 1, 1)}, "from"),
                              ({"as_of": D(1800, 1, 1)}, "as_of")):
            args = {"party": "PH", "agreement": "PHJP", "as_of": AS_OF, **kwargs}
            with pytest.raises(errors.InvalidInput) as caught:
                data.statement(s, **args)
            assert caught.value.field == field
        with pytest.raises(errors.NotFound):
            data.statement(s, party="PH", agreement="ZZZZ", as_of=AS_OF)
        with pytest.raises(errors.InvalidInput):
            reports.statement_document(s, party="PH", agreement="PHJP", as_of=AS_OF,
                                       fmt="docx")  # type: ignore[arg-type]


def test_a_long_statement_runs_over_many_pages(books):  # noqa: F811
    """1,000 claims raised and paid: 2,000 movements over some 45 pages and one sheet, in
    both formats (bench/statement.py times 10,000)."""
    engine, _ = books
    add_movements(engine, 1_000)
    with unit_of_work(engine) as s:
        expected = party_book(s, party="PH", partner="JP", agreement="PHJP", as_of=AS_OF)
        start = time.perf_counter()
        st = data.statement(s, party="PH", agreement="PHJP", as_of=AS_OF,
                            from_on=D(2026, 1, 1))
        pdf = reports.statement_document(s, party="PH", agreement="PHJP", as_of=AS_OF,
                                         from_on=D(2026, 1, 1))
        xlsx = reports.statement_document(s, party="PH", agreement="PHJP", as_of=AS_OF,
                                          from_on=D(2026, 1, 1), fmt="xlsx")
        seconds = time.perf_counter() - start
    php = next(x for x in st.sections if x.commodity == "PHP")
    assert len(php.movements) >= 2_000
    assert php.closing == expected["PHP"]
    assert seconds < 60, seconds  # a guard against a pathological slowdown; see bench/
    text = pdf_text(pdf)
    assert money_text("PHP", expected["PHP"]) in text and "Page 40" in text
    ws = workbook(xlsx)["PHP"]
    assert ws.max_row >= 2_000 + 5
