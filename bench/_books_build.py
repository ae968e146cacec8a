"""Synthetic books for bench/books.py: orders, claims, ledger entries and lines written straight
into a migrated SQLite file with executemany, shaped as the services would have posted them.

Three agreements (PH-JP, PH-US, JP-US), either side supplying in its own currency; cash bills,
replacement-in-kind obligations on a few dozen stock items and equal-value exchanges; orders
spread over two years; older claims mostly settled (some payments tendered in the payer's own
currency, through equity:conversion), newer ones mostly open, a few part-paid. Every entry is
built with acsa.ledger.domain.transfer and checked with check_balanced, as ledger.service does.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from acsa.agreements.domain import Agreement
from acsa.ledger import domain as books
from acsa.orders.domain import add_months

FIRST_DAY = dt.date(2025, 1, 1)
DAYS = 730
PHJP_IN_FORCE = dt.date(2026, 3, 1)
CURRENCY = {"PH": "PHP", "JP": "JPY", "US": "USD"}
# (category, stock number, description, unit, price per unit in PHP, typical quantity)
SUPPLIES = [
    ("fuel", "9140-00-273-2377", "Diesel fuel, marine (F-76)", "L", 95, 20000),
    ("fuel", "9130-01-031-5816", "Turbine fuel, aviation (JP-5)", "L", 110, 30000),
    ("fuel", "9150-00-189-6727", "Lubricating oil, engine", "L", 400, 800),
    ("food", "8970-01-321-9153", "Meal, ready-to-eat", "each", 550, 4000),
    ("food", "8970-00-000-0001", "Fresh rations, crew", "each", 300, 6000),
    ("water", "8960-00-000-0002", "Potable water, bulk", "L", 2, 400000),
    ("clothing", "8415-01-000-0003", "Coverall, flame resistant", "each", 3500, 200),
    ("spare_parts", "2815-01-000-0004", "Fuel injector, diesel engine", "each", 42000, 12),
    ("spare_parts", "2910-01-000-0005", "Filter element, fluid", "each", 2600, 150),
    ("spare_parts", "5330-01-000-0006", "Gasket set, engine", "each", 9000, 40),
    ("ammunition", "1305-01-000-0007", "Cartridge, 5.56 mm ball", "each", 28, 50000),
]
SERVICES = [
    ("transportation", "C-130 airlift, flight hours", "h", 250000, 6),
    ("port_services", "Berthing and pilotage", "day", 180000, 4),
    ("billeting", "Billeting, enlisted quarters", "day", 1200, 600),
    ("medical", "Outpatient care", "each", 6500, 40),
    ("repair", "Hull repair, dry dock", "h", 14000, 120),
    ("communications", "SATCOM airtime", "h", 9000, 80),
]


@dataclass
class World:
    """What the services created first (agreements, activities, officials), by code."""

    agreements: dict[str, Agreement]
    activity: dict[str, int]  # agreement code -> an activity running under it
    requesting_official: dict[str, int]  # party -> official id
    first_id: dict[str, int] = field(default_factory=dict)  # table -> next free id


@dataclass
class Tables:
    orders: list[tuple] = field(default_factory=list)
    claims: list[tuple] = field(default_factory=list)
    entries: list[tuple] = field(default_factory=list)
    lines: list[tuple] = field(default_factory=list)


ORDER_SQL = (
    "INSERT INTO orders (id, number, agreement_code, agreement_version, "
    "implementing_arrangement, activity_id, fiscal_year, requesting_party, supplying_party, "
    "order_on, currency, delivery_place, delivery_on, fund_citation, billing_address, "
    "requester_poc, supplier_poc, notes, state, dispute_reason, cancel_reason, overdue, "
    "created_by_id, content_hash, version) "
    "VALUES (?, ?, ?, 1, '', ?, ?, ?, ?, ?, ?, 'Pier 1', ?, 'FY O&M', 'Finance office', "
    "'POC', 'POC', '', ?, '', '', FALSE, ?, '', 1)")
CLAIM_SQL = (
    "INSERT INTO claims (id, number, order_id, agreement_code, method, creditor_party, "
    "debtor_party, currency, amount_minor, quantity, unit, item, category, stock_number, "
    "commodity, delivered_on, issued_on, due_on, state, overdue, settled_on) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE, ?)")
ENTRY_SQL = (
    "INSERT INTO ledger_entries (id, agreement_code, kind, posted_on, order_id, claim_id, "
    "memo, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
LINE_SQL = (
    "INSERT INTO ledger_lines (id, entry_id, book, account, counterparty, commodity, amount, "
    "posted_on, fiscal_year, agreement_code, claim_id, activity_id, category, kind) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _minor_price(php: int, currency: str) -> int:
    """A price in whole pesos, as minor units of `currency` at round rates."""
    return {"PHP": php * 100, "JPY": max(1, php * 27 // 10),
            "USD": max(1, php * 100 // 58)}[currency]


class Builder:
    def __init__(self, world: World, seed: int) -> None:
        self.w = world
        self.rng = random.Random(seed)
        self.ids = dict(world.first_id)
        self.t = Tables()
        self.lines_written = 0
        self.fy: dict[tuple[str, str, dt.date], int] = {}
        self.counters: dict[tuple[str, str, int], int] = {}

    def _id(self, table: str) -> int:
        n = self.ids.get(table, 1)
        self.ids[table] = n + 1
        return n

    def _fiscal_year(self, code: str, party: str, on: dt.date) -> int:
        key = (code, party, on)
        fy = self.fy.get(key)
        if fy is None:
            fy = self.fy[key] = self.w.agreements[code].fiscal_year(party, on)
        return fy

    def post(self, code: str, kind: str, on: dt.date, order_id: int, claim_id: int | None,
             postings: list[books.Posting], memo: str, category: str, line_kind: str) -> None:
        books.check_balanced(postings)
        entry_id = self._id("ledger_entries")
        created = f"{on.isoformat()} 09:00:00.000000"
        self.t.entries.append((entry_id, code, kind, on.isoformat(), order_id, claim_id, memo,
                               created))
        day = on.isoformat()
        activity = self.w.activity[code]
        for p in postings:
            self.t.lines.append((self._id("ledger_lines"), entry_id, p.book, p.account,
                                 p.counterparty, p.commodity, p.amount, day,
                                 self._fiscal_year(code, p.book, on), code, claim_id, activity,
                                 category, line_kind))
        self.lines_written += len(postings)

    def order(self, last_day: dt.date) -> None:
        rng = self.rng
        code, a, b = rng.choice([("PHJP", "PH", "JP"), ("PHUS", "PH", "US"),
                                 ("JPUS", "JP", "US")])
        supplier, requester = (a, b) if rng.random() < 0.5 else (b, a)
        first = PHJP_IN_FORCE if code == "PHJP" else FIRST_DAY
        span = (last_day - first).days - 20
        order_on = first + dt.timedelta(days=rng.randrange(span))
        cur = CURRENCY[supplier]
        fy = self._fiscal_year(code, requester, order_on)
        seq = self.counters[(code, requester, fy)] = self.counters.get((code, requester, fy),
                                                                      0) + 1
        number = f"{code}-{requester}-{fy}-{seq:05d}"
        roll = rng.random()
        method = "cash" if roll < 0.55 else "rik" if roll < 0.8 else "eve"
        if method == "eve" or (method == "cash" and rng.random() < 0.3):
            category, description, unit, price, typical = rng.choice(SERVICES)
            stock, line_kind = "", "service"
        else:
            category, stock, description, unit, price, typical = rng.choice(SUPPLIES)
            line_kind = "supply"
        qty = max(1, int(typical * rng.uniform(0.2, 2.0)))
        value = _minor_price(price, cur) * qty
        delivered = order_on + dt.timedelta(days=rng.randint(1, 10))
        issued = delivered + dt.timedelta(days=rng.randint(0, 5))
        if method == "cash":
            due = min(issued + dt.timedelta(days=30), add_months(delivered, 12))
        else:
            due = add_months(delivered, 12)
        age = (last_day - issued).days
        settle = rng.random() < (0.75 if age > 90 else 0.3)
        partial = not settle and rng.random() < 0.1
        settled_on = min(last_day, issued + dt.timedelta(days=rng.randint(3, 120)))
        order_id = self._id("orders")
        claim_id = self._id("claims")
        c, d = supplier, requester
        commodity = cur
        kind_units = 0
        if method == "rik":
            slug = stock.upper()
            commodity = f"RIK:{category.upper()}:{slug}[{unit}]"
            kind_units = qty * 1000
        self.t.orders.append((order_id, number, code, self.w.activity[code], fy, requester,
                              supplier, order_on.isoformat(), cur, delivered.isoformat(),
                              "settled" if settle else "received",
                              self.w.requesting_official[requester]))
        self.t.claims.append((claim_id, f"{number}-C1", order_id, code, method, c, d, cur, value,
                              str(qty) if method == "rik" else None,
                              unit if method == "rik" else None, description, category, stock,
                              commodity, delivered.isoformat(), issued.isoformat(),
                              due.isoformat(), "settled" if settle else "open",
                              settled_on.isoformat() if settle else None))
        leg = (cur, value)
        self.post(code, "delivery", delivered, order_id, None,
                  books.transfer(c, d, books.UNRECEIPTED, books.PROVIDED, leg),
                  f"{number} line 1: delivered {qty} {unit}", category, line_kind)
        claim_postings = books.transfer(c, d, books.PROVIDED, books.UNRECEIPTED, leg)
        if method == "rik":
            owed = (commodity, kind_units)
            claim_postings += books.transfer(c, d, books.receivable("rik"), books.PROVIDED,
                                             owed, leg)
            claim_postings += books.transfer(d, c, books.RECEIVED, books.payable("rik"), leg,
                                             owed)
            text = f"{qty} {unit} {description}"
        else:
            claim_postings += books.transfer(c, d, books.receivable(method), books.PROVIDED, leg)
            claim_postings += books.transfer(d, c, books.RECEIVED, books.payable(method), leg)
            text = f"{Decimal(value).scaleb(-2 if cur != 'JPY' else 0)} {cur}"
        self.post(code, "claim", issued, order_id, claim_id, claim_postings,
                  f"{number}-C1: {method} claim of {text}", category, line_kind)
        if settle or partial:
            share = value if settle else value * rng.randint(2, 8) // 10
            self._settle(code, number, order_id, claim_id, method, c, d, cur, commodity,
                         share if method != "rik" else kind_units * share // value,
                         settled_on, category, line_kind)

    def _settle(self, code: str, number: str, order_id: int, claim_id: int, method: str,
                c: str, d: str, cur: str, commodity: str, amount: int, on: dt.date,
                category: str, line_kind: str) -> None:
        if amount <= 0:
            return
        if method == "cash":
            owed = (cur, amount)
            tendered = owed
            payer_cur = CURRENCY[d]
            if payer_cur != cur and self.rng.random() < 0.15:  # paid in the payer's currency
                tendered = (payer_cur, max(1, amount * self.rng.randint(50, 150) // 100))
            postings = (books.transfer(c, d, books.CASH, books.receivable("cash"), tendered,
                                       owed)
                        + books.transfer(d, c, books.payable("cash"), books.CASH, owed,
                                         tendered))
            kind, memo = "payment", f"{number}-C1: paid {tendered[1]} {tendered[0]}"
        else:
            leg = (commodity, amount) if method == "rik" else (cur, amount)
            postings = (books.transfer(c, d, books.SETTLED_IN_KIND_IN,
                                       books.receivable(method), leg)
                        + books.transfer(d, c, books.payable(method),
                                         books.SETTLED_IN_KIND_OUT, leg))
            kind = "return" if method == "rik" else "exchange"
            memo = f"{number}-C1: {kind} of {amount}"
        self.post(code, kind, on, order_id, claim_id, postings, memo, category, line_kind)

    def flush(self, conn: Any, placeholder: str = "?") -> None:
        """Write what was built with `conn.executemany` (sqlite3, or a psycopg cursor with
        placeholder "%s")."""
        for sql, rows in ((ORDER_SQL, self.t.orders), (CLAIM_SQL, self.t.claims),
                          (ENTRY_SQL, self.t.entries), (LINE_SQL, self.t.lines)):
            conn.executemany(sql.replace("?", placeholder), rows)
        self.t = Tables()


def build(path: Path, world: World, lines: int, *, seed: int = 2026,
          last_day: dt.date = FIRST_DAY + dt.timedelta(days=DAYS - 1),
          chunk: int = 50_000) -> Iterator[int]:
    """Add orders until at least `lines` ledger lines exist; yields the count as it goes."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=OFF")  # the build is not what is measured
    builder = Builder(world, seed)
    conn.execute("BEGIN")
    while builder.lines_written < lines:
        builder.order(last_day)
        if len(builder.t.lines) >= chunk:
            builder.flush(conn)
            yield builder.lines_written
    builder.flush(conn)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    yield builder.lines_written


def build_pg(url: str, world: World, lines: int, *, seed: int = 2026,
             last_day: dt.date = FIRST_DAY + dt.timedelta(days=DAYS - 1),
             chunk: int = 50_000) -> Iterator[int]:
    """The same books (same seed, same rows) into a migrated PostgreSQL database, then
    VACUUM ANALYZE so its planner knows them and index-only scans see every page visible."""
    import psycopg

    with psycopg.connect(url) as conn:
        builder = Builder(world, seed)
        with conn.cursor() as cur:
            while builder.lines_written < lines:
                builder.order(last_day)
                if len(builder.t.lines) >= chunk:
                    builder.flush(cur, "%s")
                    yield builder.lines_written
            builder.flush(cur, "%s")
            for table in ("orders", "claims", "ledger_entries", "ledger_lines"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))")
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    yield builder.lines_written
