"""Bulk import of orders (documents.bulk_import) on SQLite and PostgreSQL: the result is what
the services make of the same order, every broken file gets a report naming row, column and
reason and writes nothing it should not, the modes, re-import, xlsx, later states, memory."""

from __future__ import annotations

import datetime as dt
import json
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from acsa.audit import service as audit
from acsa.audit.chain import content_hash
from acsa.audit.models import Event
from acsa.db.engine import unit_of_work
from acsa.documents import bulk_format
from acsa.documents.bulk_import import ImportReport, import_orders
from acsa.orders import service as orders
from acsa.orders.models import Order
from acsa.settlement import service as settlement
from tests.documents._bulk_helpers import (
    AIRLIFT,
    HISTORY,
    WATER,
    counts,
    csv_bytes,
    order,
    write_csv,
    write_generated,
    write_xlsx,
)
from tests.factories import D, airlift_line, draft, fuel_line, official, setup_world
from tests.integration.helpers import assert_books_ok

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture
def world(engine: Engine, _acsa_home: Path) -> Engine:
    with unit_of_work(engine) as s:
        setup_world(s, _acsa_home)
    return engine


def run(engine: Engine, path: Path, **kw: Any) -> ImportReport:
    with path.open("rb") as fh:
        return import_orders(engine, fh, name=path.name, size=path.stat().st_size, **kw)


def problems(report: ImportReport) -> list[tuple[int, str]]:
    return [(p.row, p.column) for p in report.problems]


def verify_chain(engine: Engine) -> None:
    with unit_of_work(engine, read_only=True) as s:
        result = audit.verify(s)
    assert result.ok, result


# --- the same as the services ----------------------------------------------------------------
def _events(s: Any, number: str) -> list[dict[str, Any]]:
    return [{"action": e.action, "actor": e.actor, "party": e.party,
             "payload": json.loads(e.payload), "order_hash": e.order_hash}
            for e in s.scalars(select(Event).where(Event.subject == number).order_by(Event.seq))]


@pytest.mark.parametrize("state", ["draft", "requested"])
def test_an_imported_order_is_what_the_services_make(world: Engine, tmp_path: Path,
                                                     state: str) -> None:
    with unit_of_work(world) as s:
        made = draft(s, lines=[fuel_line(), airlift_line()])
        if state == "requested":
            orders.request_order(s, number=made.number, by=official("JP", "requesting"),
                                 on=made.order_on)
        by_service = made.number
    path = write_csv(tmp_path / "one.csv", order("KMD-0001", {}, AIRLIFT, state=state))
    report = run(world, path)
    assert report.status == "imported" and report.imported_count == 1, report.to_dict()
    imported = report.imported[0].number
    assert imported == "PHJP-JP-2026-0002"  # numbered after the service's order, no gap
    with unit_of_work(world, read_only=True) as s:
        a, b = orders.get_order(s, by_service), orders.get_order(s, imported)
        va, vb = (orders.order_view(s, o) for o in (a, b))
        for view in (va, vb):
            view.pop("number")
            view.pop("content_hash")
        assert va == vb
        assert b.external_ref == "KMD-0001" and a.external_ref is None
        assert b.content_hash == content_hash(orders.snapshot(s, b))
        if state == "requested":
            signed = {k: v for k, v in orders.snapshot(s, b).items() if k != "state"}
            signed["requested_by"] = None
            assert b.requested_hash == content_hash(signed)
            assert b.requested_at is not None
        ea, eb = _events(s, by_service), _events(s, imported)
        assert [e["action"] for e in eb] == [e["action"] for e in ea]
        assert len(eb) == (1 if state == "draft" else 2)
        for x, y in zip(ea, eb, strict=True):
            assert (x["actor"], x["party"]) == (y["actor"], y["party"])
            assert x["payload"].keys() == y["payload"].keys()
        assert eb[0]["payload"] == ea[0]["payload"]
        assert eb[-1]["order_hash"] == b.content_hash
        if state == "requested":
            assert eb[1]["payload"]["signed_hash"] == b.requested_hash
    verify_chain(world)


def test_numbers_are_gap_free_per_counter_and_the_next_command_continues(
        world: Engine, tmp_path: Path) -> None:
    path = write_generated(tmp_path / "g.csv", 30, per_order=3)
    report = run(world, path)
    assert report.imported_count == 10
    assert [o.number for o in report.imported] == [f"PHJP-JP-2026-{i:04d}" for i in range(1, 11)]
    with unit_of_work(world) as s:
        assert draft(s).number == "PHJP-JP-2026-0011"
    verify_chain(world)


# --- the corpus of broken files --------------------------------------------------------------
@pytest.mark.parametrize(("name", "fragment"), [
    ("wrong_headers.csv", "missing required column(s): quantity"),
    ("shift_jis.csv", "Shift_JIS"),
    ("empty.csv", "empty"),
])
def test_a_file_that_cannot_be_read_is_refused_whole(world: Engine, name: str,
                                                     fragment: str) -> None:
    before = counts(world)
    with pytest.raises(bulk_format.ImportFileInvalid, match=None) as caught:
        run(world, CORPUS / name)
    assert fragment in caught.value.message
    assert caught.value.hint
    assert counts(world) == before


def test_wrong_headers_names_each_bad_column(world: Engine) -> None:
    with pytest.raises(bulk_format.ImportFileInvalid) as caught:
        run(world, CORPUS / "wrong_headers.csv")
    assert caught.value.details["missing"] == ["quantity"]
    assert caught.value.details["unknown"] == ["qty", "remarks"]
    assert caught.value.details["row"] == 1


def test_utf8_with_a_byte_order_mark_is_read(world: Engine) -> None:
    report = run(world, CORPUS / "utf8_bom.csv")
    assert report.status == "imported", report.to_dict()
    with unit_of_work(world, read_only=True) as s:
        o = orders.get_order(s, report.imported[0].number)
        assert o.lines[0].description == "軽油（船舶用）F-76"
        assert o.external_ref == "KMD-0001"  # the BOM did not stick to the first header


@pytest.mark.parametrize(("name", "expected", "reason"), [
    ("bad_dates.csv", [(2, "order_on"), (3, "order_on"), (4, "delivery_on")], "not a date"),
    ("negative_quantity.csv", [(3, "quantity")], "must be a positive number"),
    ("unknown_category.csv", [(2, "category")], "'toys' is not an ACSA category"),
    ("duplicate_rows.csv", [(4, "description")], "duplicate of row 2"),
])
def test_bad_rows_are_reported_and_their_orders_not_written(world: Engine, name: str,
                                                           expected: list[tuple[int, str]],
                                                           reason: str) -> None:
    before = counts(world)
    report = run(world, CORPUS / name)
    assert problems(report) == expected, report.to_dict()
    assert reason in report.problems[0].reason
    assert report.status == "refused" and report.imported_count == 0
    assert counts(world) == before


@pytest.mark.parametrize(("change", "column", "reason"), [
    ({"unit": "bogus_unit"}, "unit", "unknown unit"),
    ({"currency": "XYZ"}, "currency", "unknown currency"),
    ({"method": "eve"}, "method", "cannot be settled by 'eve'"),
    ({"category": "weapons"}, "category", "weapons are excluded"),
    ({"unit_price": "95.555"}, "unit_price", "more than 2 decimal place(s)"),
    ({"unit_price": "-1"}, "unit_price", "cannot be negative"),
    ({"activity": "PORTCALL-YOKO"}, "activity", "does not run under PHJP"),
    ({"created_by": "ph-requesting"}, "requesting_party", "acts for PH"),
    ({"created_by": "jp-approving"}, "created_by", "is an approving official"),
    ({"order_on": "2026-02-01"}, "order_on", "enters into force on 2026-03-01"),
    ({"requesting_unit": "PN-NFSL"}, "requesting_unit", "belongs to PH"),
    ({"state": "requested", "fund_citation": ""}, "fund_citation", "needs the fund citation"),
    ({"state": "shipped"}, "state", "unknown state"),
    ({"quantity": ""}, "quantity", "quantity is required"),
])
def test_each_rule_refuses_its_row_and_column(world: Engine, tmp_path: Path,
                                              change: dict[str, str], column: str,
                                              reason: str) -> None:
    before = counts(world)
    path = write_csv(tmp_path / "bad.csv", order("KMD-0001", change))
    report = run(world, path)
    assert [(p.row, p.column) for p in report.problems] == [(2, column)], report.to_dict()
    assert reason in report.problems[0].reason
    assert counts(world) == before


def test_rows_of_an_order_must_be_next_to_each_other(world: Engine, tmp_path: Path) -> None:
    rows = order("A-1") + order("B-1") + order("A-1", WATER)
    report = run(world, write_csv(tmp_path / "split.csv", rows))
    assert problems(report) == [(4, "order_ref")]
    assert "appeared earlier" in report.problems[0].reason
    assert [o.order_ref for o in report.imported] == ["A-1", "B-1"]


def test_an_orders_cells_agree_on_each_row_or_are_blank(world: Engine, tmp_path: Path) -> None:
    rows = order("A-1", {}, WATER)
    rows[1]["delivery_place"] = ""  # blank: the first row's
    report = run(world, write_csv(tmp_path / "blank.csv", rows))
    assert report.status == "imported"
    rows = order("B-1", {}, dict(WATER, order_on="2026-05-11"))
    report = run(world, write_csv(tmp_path / "differs.csv", rows))
    assert problems(report) == [(3, "order_on")]
    assert "differs from row 2" in report.problems[0].reason


def test_a_file_larger_than_the_limit_is_refused_before_reading(world: Engine,
                                                                 tmp_path: Path) -> None:
    """200 MB of valid rows: refused in well under a second, nothing read or written."""
    path = tmp_path / "big.csv"
    block = csv_bytes(order("BIG-1") * 200)
    with path.open("wb") as fh:
        fh.write(block)
        body = block.split(b"\r\n", 1)[1]
        while fh.tell() < 200 * 1024 * 1024:
            fh.write(body * 64)
    before = counts(world)
    started = dt.datetime.now()
    with pytest.raises(bulk_format.ImportFileInvalid, match="the limit is 100 MB"):
        run(world, path)
    assert (dt.datetime.now() - started).total_seconds() < 2
    assert counts(world) == before


def test_a_bad_byte_later_in_the_file_is_a_problem_of_its_row(world: Engine,
                                                              tmp_path: Path) -> None:
    """Past the first 64 KB (which decide whether the file is UTF-8 at all)."""
    head = write_generated(tmp_path / "head.csv", 400).read_bytes()  # 100 orders, > 64 KB
    assert len(head) > bulk_format.SNIFF_BYTES
    tail = csv_bytes(order("B-1", {"description": "XX"}) + order("C-1")).split(b"\r\n", 1)[1]
    path = tmp_path / "byte.csv"
    path.write_bytes(head + tail.replace(b",XX,", b",X\x82,"))
    report = run(world, path)
    assert problems(report) == [(402, "description")]
    assert report.problems[0].reason == "not valid UTF-8 text"
    assert report.imported_count == 101 and report.imported[-1].order_ref == "C-1"


def test_header_only_is_refused(world: Engine, tmp_path: Path) -> None:
    with pytest.raises(bulk_format.ImportFileInvalid, match="no rows"):
        run(world, write_csv(tmp_path / "header.csv", []))


# --- modes -----------------------------------------------------------------------------------
def _mixed(tmp_path: Path) -> Path:
    """A good order, an order whose second line is bad, another good order."""
    return write_csv(tmp_path / "mixed.csv", order("A-1", {}, WATER)
                     + order("B-1", {}, dict(WATER, quantity="-5"))
                     + order("C-1", AIRLIFT, state="requested"))


def test_default_imports_the_good_orders_and_none_of_a_bad_one(world: Engine,
                                                                tmp_path: Path) -> None:
    before = counts(world)
    report = run(world, _mixed(tmp_path))
    assert report.status == "partial"
    assert [o.order_ref for o in report.imported] == ["A-1", "C-1"]
    assert [(o.order_ref, o.rows) for o in report.rejected] == [("B-1", (4, 5))]
    assert problems(report) == [(5, "quantity")]
    after = counts(world)
    assert after["orders"] == before["orders"] + 2
    assert after["order_lines"] == before["order_lines"] + 3  # B-1's good line is not written
    assert after["audit_events"] == before["audit_events"] + 3  # created x2, requested x1
    with unit_of_work(world, read_only=True) as s:
        refs = set(s.scalars(select(Order.external_ref).where(Order.external_ref.is_not(None))))
    assert refs == {"A-1", "C-1"}
    verify_chain(world)


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(world: Engine,
                                                         tmp_path: Path) -> None:
    before = counts(world)
    report = run(world, _mixed(tmp_path), all_or_nothing=True)
    assert report.status == "refused" and not report.written
    assert report.imported_count == 0 and problems(report) == [(5, "quantity")]
    assert counts(world) == before
    good = write_csv(tmp_path / "good.csv", order("A-1", {}, WATER) + order("C-1"))
    report = run(world, good, all_or_nothing=True)
    assert report.status == "imported" and report.imported_count == 2
    assert counts(world)["orders"] == before["orders"] + 2


def test_a_dry_run_reports_and_writes_nothing(world: Engine, tmp_path: Path) -> None:
    before = counts(world)
    report = run(world, _mixed(tmp_path), dry_run=True)
    assert report.status == "checked" and not report.written
    assert [o.order_ref for o in report.imported] == ["A-1", "C-1"]
    assert problems(report) == [(5, "quantity")]
    assert counts(world) == before


def test_reimporting_creates_no_duplicates(world: Engine, tmp_path: Path) -> None:
    path = write_generated(tmp_path / "g.csv", 12, per_order=3)
    first = run(world, path)
    assert first.imported_count == 4
    after_first = counts(world)
    again = run(world, path)
    assert again.status == "imported" and again.imported_count == 0
    assert again.already_imported_count == 4
    assert [o.number for o in again.already_imported] == [o.number for o in first.imported]
    assert counts(world) == after_first
    verify_chain(world)


def test_the_same_reference_of_another_party_is_another_order(world: Engine,
                                                              tmp_path: Path) -> None:
    jp = order("REF-1")
    ph = order("REF-1", requesting_party="PH", supplying_party="JP", created_by="ph-requesting",
               requesting_unit="PN-NFSL", currency="JPY", unit_price="950")
    report = run(world, write_csv(tmp_path / "two.csv", jp + ph))
    assert [o.number for o in report.imported] == ["PHJP-JP-2026-0001", "PHJP-PH-2026-0001"]


# --- xlsx ------------------------------------------------------------------------------------
def test_xlsx_with_number_and_date_cells(world: Engine, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "orders.xlsx", order("X-1", {}, WATER, AIRLIFT,
                                                      state="requested"))
    report = run(world, path)
    assert report.status == "imported", report.to_dict()
    with unit_of_work(world, read_only=True) as s:
        o = orders.get_order(s, report.imported[0].number)
        assert o.order_on == D(2026, 5, 10) and o.delivery_on == D(2026, 5, 12)
        assert [(ln.quantity, ln.unit_price_minor) for ln in o.lines] == [
            (Decimal(10000), 9550), (Decimal(20000), 120), (Decimal(4), 25_000_000)]
        assert o.state == "requested"


def test_xlsx_bad_cells_are_reported_by_row_and_column(world: Engine, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "bad.xlsx", order("X-1", {}, dict(WATER, quantity="-3")),
                      typed=True)
    report = run(world, path)
    assert problems(report) == [(3, "quantity")]


def test_a_file_that_is_not_a_workbook(world: Engine, tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(bulk_format.ImportFileInvalid, match="cannot be read as an xlsx"):
        run(world, path)


# --- history past requested, through the services --------------------------------------------
def test_orders_brought_to_received_have_their_claims_and_books(world: Engine,
                                                                 tmp_path: Path) -> None:
    rows = order("R-1", {}, WATER, state="received", **HISTORY) + order("D-1", state="draft")
    report = run(world, write_csv(tmp_path / "hist.csv", rows))
    assert report.status == "imported", report.to_dict()
    states = {o.order_ref: o.state for o in report.imported}
    assert states == {"R-1": "received", "D-1": "draft"}
    with unit_of_work(world, read_only=True) as s:
        number = next(o.number for o in report.imported if o.order_ref == "R-1")
        o = orders.get_order(s, number)
        assert o.external_ref == "R-1" and o.state == "received"
        assert settlement.open_claim_numbers(s, o)
        assert o.deliveries[0].delivered_on == D(2026, 5, 12)
        assert_books_ok(s)
    verify_chain(world)
    assert run(world, write_csv(tmp_path / "hist.csv", rows)).already_imported_count == 2


def test_a_refusal_in_a_later_step_takes_back_the_whole_order(world: Engine,
                                                              tmp_path: Path) -> None:
    before = counts(world)
    rows = order("R-1", state="accepted", **dict(HISTORY, accepted_by="jp-approving"))
    report = run(world, write_csv(tmp_path / "bad.csv", rows))
    assert problems(report) == [(2, "accepted_by")], report.to_dict()
    assert "acts for JP" in report.problems[0].reason
    assert counts(world) == before
    rows = order("R-2", state="delivered", **dict(HISTORY, delivery_document=""))
    report = run(world, write_csv(tmp_path / "bad2.csv", rows))
    assert problems(report) == [(2, "delivery_document")]
    assert counts(world) == before


# --- memory ----------------------------------------------------------------------------------
def test_memory_does_not_grow_with_the_file(world: Engine, tmp_path: Path) -> None:
    def peak(lines: int, prefix: str) -> int:
        path = write_generated(tmp_path / f"{prefix}.csv", lines, prefix=prefix)
        tracemalloc.start()
        report = run(world, path)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert report.imported_count == lines // 4
        return top
    small, large = peak(2_400, "S"), peak(9_600, "L")
    assert large < small * 1.4, (small, large)


def test_counts_table_is_untouched_by_a_refused_file(world: Engine) -> None:
    """The corpus check compares every table an import may write, reference data included."""
    with unit_of_work(world, read_only=True) as s:
        assert s.execute(text("SELECT count(*) FROM officials")).scalar_one() == 18
