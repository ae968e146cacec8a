"""The register's text search (migration 0010: FTS5 trigram table on SQLite, pg_trgm GIN
indexes on PostgreSQL) finds exactly the orders a plain LIKE over the number and the lines'
descriptions finds, stays current as orders and lines change, and counts only up to a bound."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, or_, select, text
from sqlalchemy.orm import Session

from acsa.db.engine import unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.orders.models import Order, OrderLine
from tests.factories import D, airlift_line, draft, fuel_line, official

QUERIES = ["diesel", "DIESEL", "iese", "0042", "0001", "c-130", "flight hours", "F-76",
           "(F-76)", "軽油", "油", "marine (f", "zz", "-JP-", "PHJP", "no such thing", "a\"b",
           "5%", "_", "Lubricant", "ubrica"]


def like_reference(s: Session, text_: str, party: str) -> list[str]:
    """The orders found by the old query: LIKE over every number and line, no index."""
    like = f"%{text_.strip().lower()}%"
    return list(s.scalars(select(Order.number).where(
        or_(Order.requesting_party == party, Order.supplying_party == party),
        or_(func.lower(Order.number).like(like), Order.id.in_(
            select(OrderLine.order_id).where(func.lower(OrderLine.description).like(like)))))
        .order_by(Order.number)))


def found(s: Session, text_: str, party: str, **kw: object) -> list[str]:
    rows, count = orders.search_orders(s, orders.OrderQuery(text=text_), viewer_party=party,
                                       **kw)  # type: ignore[arg-type]
    numbers = [o.number for o in rows]
    assert count == len(numbers) or kw.get("limit")
    return numbers


def line(description: str, qty: str = "5", currency: str = "PHP") -> orders.LineInput:
    return orders.LineInput(category="fuel", description=description, quantity=Decimal(qty),
                            unit="L", unit_price=Money.of("10", currency), method="cash")


@pytest.fixture
def stocked(world: Engine) -> Engine:
    with unit_of_work(world) as s:
        for i in range(45):  # numbers ...-0001 to ...-0045: "0042" is one of them
            lines = [fuel_line()] if i % 3 == 0 else [airlift_line()]
            if i == 7:
                lines = [line("軽油 (JIS K 2204)"), line("Lubricant oil, engine")]
            draft(s, lines=lines, on=D(2026, 5, 10))
        draft(s, lines=[line("Water, potable 5% chlorinated")])
        draft(s, requester="US", agreement="JPUS", activity="PORTCALL-YOKO",
              on=D(2026, 5, 5), lines=[line("Diesel for a US ship", currency="JPY")])
    return world


def test_the_same_orders_as_like(stocked: Engine) -> None:
    with unit_of_work(stocked) as s:
        for party in ("JP", "PH", "US"):
            for q in QUERIES:
                want = like_reference(s, q, party)
                assert found(s, q, party) == want, (party, q)
        # partial words and a number fragment find what users expect
        assert len(found(s, "diesel", "JP")) == 16  # 15 PH-JP, 1 JP-US
        assert len(found(s, "iese", "JP")) == 16
        assert [n[-4:] for n in found(s, "0042", "JP")] == ["0042"]
        assert len(found(s, "ubrica", "JP")) == 1
        assert found(s, "diesel", "US") == like_reference(s, "diesel", "US") != []


def test_the_search_follows_edits(stocked: Engine) -> None:
    with unit_of_work(stocked) as s:
        number = found(s, "JP-2026-0004", "JP")[0]
        assert number in found(s, "diesel", "JP")
        orders.edit_order(s, number=number, by=official("JP", "requesting"),
                          on=D(2026, 5, 11), changes={}, lines=[line("Kerosene, JP-5")])
    with unit_of_work(stocked) as s:
        assert number not in found(s, "diesel", "JP")
        assert found(s, "kerosene", "JP") == [number] == like_reference(s, "kerosene", "JP")
        new = draft(s, lines=[line("Hydraulic fluid, MIL-PRF-83282")]).number
    with unit_of_work(stocked) as s:
        assert found(s, "hydraulic", "JP") == [new]
        assert found(s, "83282", "JP") == [new]


def test_counting_stops_at_the_bound(stocked: Engine) -> None:
    with unit_of_work(stocked) as s:
        q = orders.OrderQuery(text="iese")
        rows, count = orders.search_orders(s, q, viewer_party="JP", limit=10)
        assert count == 16 and len(rows) == 10
        rows, count = orders.search_orders(s, q, viewer_party="JP", limit=10, count_limit=12)
        assert count == 12 and len(rows) == 10
        rows, count = orders.search_orders(s, q, viewer_party="JP", offset=10, limit=10,
                                           count_limit=12)
        assert count == 12 and len(rows) == 6
        rows, count = orders.search_orders(s, q, viewer_party="JP", limit=25, count_limit=12)
        assert count == 16 and len(rows) == 16  # the whole result on one page: counted


def test_a_word_most_orders_hold(stocked: Engine) -> None:
    """More than 10,000 matches (the register walks the sort's index instead of reading every
    match): still the same orders as LIKE, in the same order."""
    with unit_of_work(stocked) as s:
        template = found(s, "PHJP-JP-2026-0001", "JP")[0]
        cols = [c.name for c in Order.__table__.columns if c.name != "id"]
        lcols = [c.name for c in OrderLine.__table__.columns if c.name not in ("id", "order_id")]
        base = s.scalar(select(func.max(Order.id)))
        copies = 10_050
        series = (f"(WITH RECURSIVE r(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM r "
                  f"WHERE k < {copies}) SELECT k FROM r) AS r"
                  if s.get_bind().dialect.name == "sqlite"
                  else f"generate_series(1, {copies}) AS r(k)")
        picks = ", ".join(f"o.{c} || '-C' || r.k" if c == "number" else f"o.{c}" for c in cols)
        s.execute(text(f"INSERT INTO orders ({', '.join(cols)}) SELECT {picks} FROM orders o "
                       f"CROSS JOIN {series} WHERE o.number = :n"), {"n": template})
        s.execute(text(
            f"INSERT INTO order_lines (order_id, {', '.join(lcols)}) SELECT o.id, "
            f"{', '.join('l.' + c for c in lcols)} FROM orders o JOIN orders t "
            f"ON o.number LIKE t.number || '-C%' JOIN order_lines l ON l.order_id = t.id "
            f"WHERE t.number = :n"), {"n": template})
        assert s.scalar(select(func.count()).select_from(Order)) > base + 10_000
    with unit_of_work(stocked) as s:
        want = like_reference(s, "diesel", "JP")
        assert len(want) > 10_000
        rows, count = orders.search_orders(s, orders.OrderQuery(text="diesel"),
                                           viewer_party="JP", offset=100, limit=25,
                                           count_limit=10_001)
        assert [o.number for o in rows] == want[100:125] and count == 10_001
        rows, count = orders.search_orders(s, orders.OrderQuery(text="diesel", sort="number",
                                                                descending=True),
                                           viewer_party="JP", limit=25)
        assert [o.number for o in rows] == want[::-1][:25] and count == len(want)
        assert found(s, "0042", "JP") == like_reference(s, "0042", "JP")
        assert found(s, "-C1005", "JP") == like_reference(s, "-C1005", "JP") != []
        # a filter most orders match (state, on SQLite walked rather than sorted): the same
        rows, count = orders.search_orders(s, orders.OrderQuery(state="draft"),
                                           viewer_party="JP", offset=50, limit=25,
                                           count_limit=10_001)
        everyone = list(s.scalars(select(Order.number).where(Order.state == "draft",
                                  or_(Order.requesting_party == "JP",
                                      Order.supplying_party == "JP"))
                                  .order_by(Order.number, Order.id)))
        assert [o.number for o in rows] == everyone[50:75] and count == 10_001


def test_the_index_is_there(stocked: Engine) -> None:
    with stocked.connect() as c:
        if stocked.dialect.name == "sqlite":
            n = c.execute(text("SELECT count(*) FROM order_search")).scalar_one()
            assert n == c.execute(text("SELECT count(*) FROM orders")).scalar_one()
            plan = " ".join(str(r) for r in c.execute(text(
                "EXPLAIN QUERY PLAN SELECT rowid FROM order_search "
                "WHERE order_search MATCH '\"0042\"'")))
            assert "VIRTUAL TABLE" in plan
        else:
            names = set(c.execute(text("SELECT indexname FROM pg_indexes")).scalars())
            assert {"ix_orders_number_trgm", "ix_order_lines_description_trgm"} <= names
            c.execute(text("SET enable_seqscan = off"))
            plan = " ".join(r[0] for r in c.execute(text(
                "EXPLAIN SELECT id FROM orders WHERE lower(number) LIKE '%0042%'")))
            assert "ix_orders_number_trgm" in plan


def test_dates_unchanged(stocked: Engine) -> None:
    """Other filters beside the text still apply."""
    with unit_of_work(stocked) as s:
        rows, _ = orders.search_orders(s, orders.OrderQuery(text="diesel",
                                                            date_to=dt.date(2026, 5, 4)),
                                       viewer_party="JP")
        assert rows == []
