"""Server time of the web application's pages with 100,000 orders stored, on SQLite and
PostgreSQL: the dashboard, the order register, an order's page and the other pages.

1. A database per backend (SQLite file under bench/out/, or a fresh PostgreSQL database),
   migrated, with the test world of tests/factories.py and a web user per person.
2. `--base` orders taken through their whole lives by the services (create, request, accept,
   deliver, receive, pay, close: bench/http_lifecycle.py's lifecycle), then every row they made
   replicated (orders, lines, deliveries, receipts, claims, settlements, ledger entries and
   ledger lines: ids shifted, numbers suffixed `-R<k>`) with one INSERT ... SELECT per table
   until about `--orders` orders are stored: a long history. Then a little work in progress,
   made by the services as people would: orders requested, accepted, delivered, and received
   with their bills open.
3. In-process (FastAPI TestClient, no socket), signed in through the sign-in form, one request
   at a time: `--gets` requests of each page. Server time = request in, page out.
   * dashboard: Japan's finance officer (work, claims due, balances in PHP, ceilings), as
     served (figures reused while the ledger and audit heads are unchanged) and cold (that
     cache emptied before each request);
   * register: pages 1-5 by number, filtered by state, sorted by date descending, and a text
     search, each timed on its own and all together (the target is on all together);
   * order page: random orders, half with their whole history of events;
   * the read-only pages: claims (pages 1-5, and open claims by due date), activities, the
     busiest activity's page (its orders and totals), agreements, an agreement, rates, books
     (as served, and cold), audit events (pages 1-5), people, and the new order form.
   Target: p95 under 100 ms for each page as served.

    .venv/bin/python bench/web_pages.py                 # both backends, 100,000 orders
    .venv/bin/python bench/web_pages.py --backend sqlite --orders 20000 --gets 50
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from _common import OUT, fresh, home, table, verdict
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from http_lifecycle import RENUMBERED, service_lifecycle
from sqlalchemy import Engine, create_engine, text
from tests.factories import official, order_to, setup_world

from acsa.api.app import create_app
from acsa.db import migrate
from acsa.db.engine import make_engine, unit_of_work
from acsa.users import service as users
from acsa.web import dashboard

P95_TARGET_MS = 100.0
PASSWORD = "bench passphrase 0123"
PEOPLE = {"fin": ("JP", "finance"), "req": ("JP", "requesting")}
PG_ADMIN = os.environ.get("ACSA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
# tables replicated to grow the history, and the tables their id columns point into
REPLICATED: dict[str, dict[str, str]] = {
    "orders": {"id": "orders"},
    "order_lines": {"id": "order_lines", "order_id": "orders"},
    "receipts": {"id": "receipts", "order_id": "orders"},
    "deliveries": {"id": "deliveries", "order_id": "orders", "receipt_id": "receipts"},
    "delivery_lines": {"id": "delivery_lines", "delivery_id": "deliveries",
                       "line_id": "order_lines"},
    "receipt_lines": {"id": "receipt_lines", "receipt_id": "receipts",
                      "line_id": "order_lines"},
    "claims": {"id": "claims", "order_id": "orders", "receipt_id": "receipts",
               "line_id": "order_lines", "converted_from_id": "claims"},
    "settlements": {"id": "settlements", "claim_id": "claims"},
    "ledger_entries": {"id": "ledger_entries", "order_id": "orders", "claim_id": "claims",
                       "reverses_id": "ledger_entries"},
    "ledger_lines": {"id": "ledger_lines", "entry_id": "ledger_entries",
                     "claim_id": "claims"},
}


def columns(engine: Engine, t: str) -> list[str]:
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            return [r[1] for r in c.execute(text(f"PRAGMA table_info({t})"))]
        return [r[0] for r in c.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
            "ORDER BY ordinal_position"), {"t": t})]


def grow(engine: Engine, target: int) -> int:
    """Replicate the history until about `target` orders are stored; the orders stored."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as c:
        base = c.execute(text("SELECT count(*) FROM orders")).scalar_one()
    copies = max(0, -(-target // base) - 1)
    cols_of = {t: columns(engine, t) for t in REPLICATED}
    with engine.begin() as c:
        stride = {t: c.execute(text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar_one()
                  for t in REPLICATED}
        series = (f"(WITH RECURSIVE r(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM r "
                  f"WHERE k < {copies}) SELECT k FROM r) AS r" if sqlite
                  else f"generate_series(1, {copies}) AS r(k)")
        for t, refs in REPLICATED.items():
            cols = cols_of[t]
            picks = []
            for col in cols:
                if col in refs:
                    picks.append(f"{t}.{col} + r.k * {stride[refs[col]]}")
                elif RENUMBERED.get(t) == col:
                    picks.append(f"{t}.{col} || '-R' || r.k")
                else:
                    picks.append(f"{t}.{col}")
            c.execute(text(f"INSERT INTO {t} ({', '.join(cols)}) SELECT {', '.join(picks)} "
                           f"FROM {t} CROSS JOIN {series} WHERE {t}.id <= {stride[t]}"))
        if not sqlite:
            for t in REPLICATED:
                c.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                               f"(SELECT max(id) FROM {t}))"))
    with engine.connect() as c:
        c = c.execution_options(isolation_level="AUTOCOMMIT")
        c.execute(text("ANALYZE"))
        return int(c.execute(text("SELECT count(*) FROM orders")).scalar_one())


def build(engine: Engine, acsa_home: Path, base: int, target: int) -> dict[str, int]:
    migrate.upgrade(engine)
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    users.HASHER = cheap  # the bench times pages, not password hashing
    with unit_of_work(engine) as s:
        setup_world(s, acsa_home)
        for who, (party, role) in PEOPLE.items():
            users.add_user(s, username=f"bench-{who}", party=party, password=PASSWORD,
                           actor="bench", official=official(party, role))
    times: list[float] = []
    for i in range(base):
        service_lifecycle(engine, i, times)
    stored = grow(engine, target)
    for state in ("requested", "accepted", "delivered", "received"):
        for _ in range(10):  # work in progress: small beside the history
            with unit_of_work(engine) as s:
                order_to(s, state)
    with engine.connect() as c:
        lines = c.execute(text("SELECT count(*) FROM ledger_lines")).scalar_one()
        events = c.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
    return {"orders": stored + 40, "ledger_lines": int(lines), "audit_events": int(events)}


def sign_in(client: TestClient, username: str) -> None:
    page = client.get("/signin").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    r = client.post("/signin", data={"username": username, "password": PASSWORD,
                                     "csrf_token": token.group(1)}, follow_redirects=False)
    assert r.status_code == 303, r.text


def timed(client: TestClient, paths: Callable[[int], str], n: int,
          before: Callable[[], None] | None = None) -> list[float]:
    for i in range(3):  # untimed: first pages, statement caches
        client.get(paths(i))
    out = []
    for i in range(n):
        if before:
            before()
        path = paths(i)
        start = time.perf_counter()
        r = client.get(path)
        out.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
    return out


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def measure(engine: Engine, gets: int) -> list[tuple[str, list[float]]]:
    app = create_app(engine)
    with engine.connect() as c:
        numbers = [r[0] for r in c.execute(text(
            "SELECT number FROM orders ORDER BY id"))]
    originals = [n for n in numbers if "-R" not in n]
    rng = random.Random(7)
    pick = [rng.choice(originals) if i % 2 else rng.choice(numbers) for i in range(gets + 3)]
    views = {"by number": "", "state=closed": "&state=closed",
             "sort=order_on desc": "&sort=order_on&order=desc", "q=diesel": "&q=diesel"}
    with TestClient(app) as fin, TestClient(app) as req:
        sign_in(fin, "bench-fin")
        sign_in(req, "bench-req")
        out = [
            ("dashboard (as served)", timed(fin, lambda i: "/", gets)),
            ("dashboard (cold: cache emptied)",
             timed(fin, lambda i: "/", max(10, gets // 10), before=dashboard._CACHE.clear)),
        ]
        register: list[float] = []
        for label, query in views.items():
            values = timed(req, lambda i, q=query: f"/orders?page={i % 5 + 1}{q}",
                           max(10, gets // 4))
            out.append((f"register, {label} (pages 1-5)", values))
            register += values
        out.append(("register, all of the above", register))
        out.append(("order page (random)", timed(req, lambda i: f"/orders/{pick[i]}", gets)))
        # the read-only pages (each a page of rows, or figures reused like the dashboard's)
        n = max(10, gets // 4)
        with engine.connect() as c:
            busiest = c.execute(text(
                "SELECT a.code FROM activities a JOIN orders o ON o.activity_id = a.id "
                "GROUP BY a.code ORDER BY count(*) DESC LIMIT 1")).scalar_one()
        for label, client, path in (
                ("claims, pages 1-5", fin, lambda i: f"/claims?page={i % 5 + 1}"),
                ("claims, open, by due date", fin, lambda i: "/claims?state=open"),
                ("activities", req, lambda i: "/activities"),
                (f"activity {busiest} (orders, totals)", req,
                 lambda i: f"/activities/{busiest}?page={i % 5 + 1}"),
                ("agreements", req, lambda i: "/agreements"),
                ("agreement PHJP", req, lambda i: "/agreements/PHJP"),
                ("rates", req, lambda i: "/rates"),
                ("books (as served)", fin, lambda i: "/books"),
                ("audit events, pages 1-5", fin, lambda i: f"/audit?page={i % 5 + 1}"),
                ("people", fin, lambda i: "/people"),
                ("new order form", req, lambda i: "/orders/new")):
            out.append((label, timed(client, path, n)))
        out.append(("books (cold: cache emptied)",
                    timed(fin, lambda i: "/books", 10, before=dashboard._CACHE.clear)))
        return out


def backend(name: str, args: argparse.Namespace) -> tuple[list[list[str]], list[bool], str]:
    acsa_home = home(f"web-pages-{name}")
    admin = None
    if name == "sqlite":
        url = f"sqlite:///{fresh(OUT / 'web-pages.db')}"
    else:
        db = f"acsa_bench_web_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{db}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"
    engine = make_engine(url)
    try:
        start = time.perf_counter()
        sizes = build(engine, acsa_home, args.base, args.orders)
        built = time.perf_counter() - start
        results = measure(engine, args.gets)
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    rows, oks = [], []
    for label, values in results:
        p95 = pct(values, 95)
        rows.append([f"{name}: {label}", f"{len(values):,}", f"{statistics.median(values):.1f}",
                     f"{p95:.1f}", f"{max(values):.1f}"])
        if "cold" not in label and "(pages" not in label:
            oks.append(p95 < P95_TARGET_MS)
    note = (f"{name}: {sizes['orders']:,} orders, {sizes['ledger_lines']:,} ledger lines, "
            f"{sizes['audit_events']:,} audit events (built in {built:.0f} s)")
    return rows, oks, note


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--base", type=int, default=200, help="lifecycles through the services")
    ap.add_argument("--gets", type=int, default=200, help="requests of each page")
    args = ap.parse_args(argv)
    names = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    rows, oks, notes = [], [], []
    for name in names:
        r, o, n = backend(name, args)
        rows += r
        oks += o
        notes.append(n)
        print(n, flush=True)
    print()
    print(table(["page", "count", "p50 ms", "p95 ms", "max ms"], rows))
    print()
    for r in rows:
        if "cold" in r[0] or "(pages" in r[0]:
            print(f"{r[0] + ' p95 (for reference)':<58} {r[3]:>8} ms")
            continue
        ok = float(r[3]) < P95_TARGET_MS
        print(f"{r[0] + f' p95 < {P95_TARGET_MS:.0f} ms':<58} {r[3]:>8} ms    {verdict(ok)}")
    return 0 if all(oks) else 1


if __name__ == "__main__":
    sys.exit(main())
