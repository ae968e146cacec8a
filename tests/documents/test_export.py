"""Bulk export (documents.bulk_export) on SQLite and PostgreSQL: each register read back with
the csv module and openpyxl and checked against the orders, claims and books."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from acsa import errors
from acsa.db.engine import unit_of_work
from acsa.documents import bulk_export
from acsa.documents.bulk_export import ExportQuery
from acsa.ledger import domain as books
from acsa.money import EXPONENTS, Money
from acsa.orders import service as orders
from acsa.orders.models import Order
from tests.factories import fuel_line, order_to, setup_world
from tests.integration.helpers import claim_numbers, pay_in_full


@pytest.fixture
def books_world(engine: Engine, _acsa_home: Path) -> Engine:
    """A JP order in PHP received and paid, a PH order in JPY received, a JP draft."""
    with unit_of_work(engine) as s:
        setup_world(s, _acsa_home)
    with unit_of_work(engine) as s:
        jp = order_to(s, "received").number
        order_to(s, "received", requester="PH", lines=[fuel_line(price="950", currency="JPY")],
                 fund_citation="PH FY2026 02-31", notes="PH internal note")
        order_to(s, "draft", notes="JP internal note")
    [bill] = claim_numbers(engine, jp)
    with unit_of_work(engine) as s:
        pay_in_full(s, bill)
    return engine


def export(engine: Engine, what: str, fmt: str, **query: Any) -> bytes:
    out = io.BytesIO()
    with unit_of_work(engine, read_only=True) as s:
        bulk_export.export(s, what, fmt, out, ExportQuery(**query))  # type: ignore[arg-type]
    return out.getvalue()


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def xlsx_rows(data: bytes) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Values and number formats of each data row, by header."""
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    return ([{h: c.value for h, c in zip(header, r, strict=False)} for r in rows[1:]],
            [{h: c.number_format for h, c in zip(header, r, strict=False)} for r in rows[1:]])


def test_orders_csv_has_one_row_per_order_with_its_total(books_world: Engine) -> None:
    rows = csv_rows(export(books_world, "orders", "csv"))
    with unit_of_work(books_world, read_only=True) as s:
        all_orders = orders.list_orders(s)
        expected = {o.number: orders.total(o) for o in all_orders}
        assert {r["number"]: Money.of(r["total"], r["currency"]) for r in rows} == expected
        by_number = {o.number: o for o in all_orders}
    assert len(rows) == 3
    for r in rows:
        o = by_number[r["number"]]
        assert (r["state"], r["fund_citation"], r["notes"]) == (o.state, o.fund_citation,
                                                                 o.notes)
        assert r["lines"] == str(len(o.lines))
    jpy = next(r for r in rows if r["currency"] == "JPY")
    assert "." not in jpy["total"]


def test_a_party_sees_its_orders_and_only_its_own_internal_fields(books_world: Engine) -> None:
    rows = csv_rows(export(books_world, "orders", "csv", party="PH"))
    assert len(rows) == 3  # PH is a party to all three
    for r in rows:
        own = r["requesting_party"] == "PH"
        assert bool(r["fund_citation"]) is own, r
        assert (r["notes"] == "PH internal note") is own
    assert csv_rows(export(books_world, "orders", "csv", party="US")) == []


def test_lines_xlsx_has_numbers_dates_and_currency_formats(books_world: Engine) -> None:
    values, formats = xlsx_rows(export(books_world, "lines", "xlsx"))
    with unit_of_work(books_world, read_only=True) as s:
        lines = {(o.number, ln.line_no): ln for o in orders.list_orders(s) for ln in o.lines}
    assert len(values) == len(lines)
    for v, f in zip(values, formats, strict=True):
        ln = lines[(v["number"], v["line_no"])]
        assert isinstance(v["unit_price"], (int, float)) and isinstance(v["quantity"],
                                                                        (int, float))
        assert Money.of(Decimal(str(v["unit_price"])), v["currency"]).minor == \
            ln.unit_price_minor
        assert Decimal(str(v["quantity"])) == ln.quantity
        assert Money.of(Decimal(str(v["line_total"])), v["currency"]) == \
            Money(ln.unit_price_minor, ln.currency).times(ln.quantity)
        assert f["unit_price"] == ("#,##0" if v["currency"] == "JPY" else "#,##0.00")
        assert isinstance(v["order_on"], dt.datetime) and f["order_on"] == "yyyy-mm-dd"


def test_settlements_are_the_payments_of_the_claims(books_world: Engine) -> None:
    rows = csv_rows(export(books_world, "settlements", "csv"))
    with unit_of_work(books_world, read_only=True) as s:
        paid = s.execute(text("SELECT c.number, s.applied_minor, s.kind FROM settlements s "
                              "JOIN claims c ON c.id = s.claim_id")).all()
    assert [(r["claim"], Money.of(r["applied"], r["currency"]).minor, r["kind"])
            for r in rows] == [tuple(p) for p in paid]
    assert rows[0]["order"].startswith("PHJP-JP-")
    values, formats = xlsx_rows(export(books_world, "settlements", "xlsx"))
    assert isinstance(values[0]["applied"], (int, float))
    assert formats[0]["applied"] == "#,##0.00"


@pytest.mark.parametrize("book", ["PH", "JP"])
def test_the_ledger_is_one_partys_book_and_sums_as_the_books(books_world: Engine,
                                                              book: str) -> None:
    rows = csv_rows(export(books_world, "ledger", "csv", party=book))
    with unit_of_work(books_world, read_only=True) as s:
        stored = {(c, a): int(v) for c, a, v in s.execute(text(
            "SELECT commodity, account, sum(amount) FROM ledger_lines WHERE book = :b "
            "GROUP BY commodity, account"), {"b": book})}
        n = s.execute(text("SELECT count(*) FROM ledger_lines WHERE book = :b"),
                      {"b": book}).scalar_one()
    assert len(rows) == n and {r["book"] for r in rows} == {book}
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        if r["currency"]:
            sums[(r["commodity"], r["account"])] += Money.of(r["amount"], r["currency"]).minor
        else:
            sums[(r["commodity"], r["account"])] += int(
                Decimal(r["quantity"]).scaleb(books.KIND_SCALE))
    assert {k: v for k, v in sums.items()} == stored
    values, formats = xlsx_rows(export(books_world, "ledger", "xlsx", party=book))
    assert len(values) == n
    for v, f in zip(values, formats, strict=True):
        if v["currency"]:
            places = EXPONENTS[v["currency"]]
            assert f["amount"] == "#,##0" + ("." + "0" * places if places else "")
            assert isinstance(v["amount"], (int, float))


def test_the_ledger_needs_a_book(books_world: Engine) -> None:
    with pytest.raises(errors.InvalidInput, match="kept per party"):
        export(books_world, "ledger", "csv")


def test_filters_by_agreement_and_dates(books_world: Engine) -> None:
    assert len(csv_rows(export(books_world, "orders", "csv", agreement="PHJP"))) == 3
    assert csv_rows(export(books_world, "orders", "csv", agreement="JPUS")) == []
    later = dt.date(2027, 1, 1)
    assert csv_rows(export(books_world, "lines", "csv", date_from=later)) == []
    assert csv_rows(export(books_world, "settlements", "csv", date_to=dt.date(2026, 1, 1))) == []
    assert csv_rows(export(books_world, "ledger", "csv", party="PH", date_from=later)) == []


def test_an_export_streams_and_reports_progress(books_world: Engine) -> None:
    seen: list[float] = []
    out = io.BytesIO()
    with unit_of_work(books_world, read_only=True) as s:
        n = bulk_export.export(s, "lines", "csv", out, ExportQuery(), progress=seen.append)
        assert n == s.query(Order).count()  # one line each
    assert out.getvalue().startswith(b"number,order_ref,")
