"""Order lifecycles over HTTP against a real `acsa serve`, beside the same lifecycles through
the services; then the order register and an order's page with 100,000 orders stored.

1. Services: `--n` lifecycles (create, request, accept, deliver with a small PDF, receive, pay,
   close: 7 transitions, each its own unit of work) run by 8 threads in this process on a
   SQLite file (WAL, synchronous=FULL, BEGIN IMMEDIATE), as the API's own units of work are.
2. HTTP: the same lifecycles by 8 clients (threads, each an httpx client keeping its
   connection alive, bearer tokens) on loopback against `acsa --db FILE serve` started as a
   process on another SQLite file made the same way. Target: transitions/s over HTTP at least
   half the service-level rate measured in 1.
3. The HTTP database is grown to 100,000 orders by replicating the rows of the orders just
   taken through their lives (orders, lines, deliveries, receipts, claims, settlements) with
   INSERT ... SELECT, then GET /api/v1/orders (the register's first five pages: by number,
   filtered by state, sorted by date) and GET /api/v1/orders/{number} are timed one request
   at a time. Target: p95 under 50 ms for each endpoint.

    .venv/bin/python bench/http_lifecycle.py            # 200 lifecycles, 100,000 orders
    .venv/bin/python bench/http_lifecycle.py --quick    # 40 lifecycles, 20,000 orders
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from _common import OUT, fresh, home, table, verdict
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.factories import official, setup_world

from acsa.db import migrate
from acsa.db.engine import make_engine, unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from acsa.users import service as users

CLIENTS = 8
TRANSITIONS = 7
RATE_TARGET = 0.5  # HTTP transitions/s over service-level transitions/s
P95_TARGET_MS = 50.0
FIRST = dt.date(2026, 5, 10)
PRICE, QTY = "95.50", "100"
AMOUNT = "9550.00"  # PRICE x QTY, PHP: the whole bill
PEOPLE = {"req": ("JP", "requesting"), "app": ("PH", "approving"), "sup": ("PH", "supplying"),
          "rcv": ("JP", "receiving"), "fin": ("JP", "finance"), "close": ("PH", "finance")}
# tables replicated to grow the register, and the tables their id columns point into
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
}
RENUMBERED = {"orders": "number", "claims": "number"}
# views of the register timed with many orders stored (query string -> parameters)
REGISTER_VIEWS: dict[str, dict[str, str]] = {
    "(default: by number)": {},
    "state=closed": {"state": "closed"},
    "sort=order_on&order=desc": {"sort": "order_on", "order": "desc"},
}


# --- the world -----------------------------------------------------------------------------
def prepared(path: Path, acsa_home: Path) -> tuple[Engine, dict[str, str]]:
    """A migrated SQLite file with the test world and a bearer token per person."""
    engine = make_engine(f"sqlite:///{fresh(path)}")
    migrate.upgrade(engine)
    tokens = {}
    with unit_of_work(engine) as s:
        setup_world(s, acsa_home)
        for who, (party, role) in PEOPLE.items():
            user = users.add_user(s, username=f"bench-{who}", party=party,
                                  password="bench passphrase 0123", actor="bench",
                                  official=official(party, role))
            tokens[who] = users.create_token(s, user, name="bench")[1]
    return engine, tokens


def on_day(i: int) -> dt.date:
    return FIRST + dt.timedelta(days=i % 40)


# --- lifecycles through the services -------------------------------------------------------
def service_lifecycle(engine: Engine, i: int, times: list[float]) -> None:
    """One order from creation to closed through the services: seven units of work."""
    on = on_day(i)
    later = on + dt.timedelta(days=2)
    number = ""

    def create(s: Session) -> None:
        nonlocal number
        number = orders.create_order(
            s, agreement_code="PHJP", activity_code="KAMANDAG-10",
            by=official("JP", "requesting"), order_on=on, delivery_place="Subic Bay",
            delivery_on=later, fund_citation="FY2026 O&M bench", requester_poc="bench POC",
            requesting_unit="JMSDF-ESC1",
            lines=[orders.LineInput(category="fuel", description="Diesel fuel, marine (F-76)",
                                    quantity=Decimal(QTY), unit="L",
                                    unit_price=Money.of(PRICE, "PHP"), method="cash",
                                    stock_number="9140-00-273-2377")]).number

    def request(s: Session) -> None:
        orders.request_order(s, number=number, by=official("JP", "requesting"), on=on)

    def accept(s: Session) -> None:
        orders.accept_order(s, number=number, by=official("PH", "approving"), on=on,
                            supplier_poc="bench duty officer", supplying_unit="PN-NFSL")

    def deliver(s: Session) -> None:
        orders.record_delivery(s, number=number, by=official("PH", "supplying"), on=later,
                               quantities={1: Decimal(QTY)}, document_name="issue-slip.pdf",
                               document=f"%PDF-1.4 slip {number}".encode(),
                               content_type="application/pdf")

    def receive(s: Session) -> None:
        orders.record_receipt(s, number=number, by=official("JP", "receiving"), on=later,
                              lines={})

    def pay(s: Session) -> None:
        [claim] = settlement.open_claim_numbers(s, orders.get_order(s, number))
        settlement.pay(s, claim_ref=claim, by=official("JP", "finance"), on=later,
                       amount=Money.of(AMOUNT, "PHP"))

    def close(s: Session) -> None:
        orders.close_order(s, number=number, by=official("PH", "finance"), on=later)

    for step in (create, request, accept, deliver, receive, pay, close):
        start = time.perf_counter()
        with unit_of_work(engine) as s:
            step(s)
        times.append(time.perf_counter() - start)


# --- lifecycles over HTTP ------------------------------------------------------------------
def http_lifecycle(client: httpx.Client, tokens: dict[str, str], i: int,
                   times: list[float]) -> None:
    on = on_day(i).isoformat()
    later = (on_day(i) + dt.timedelta(days=2)).isoformat()

    def call(who: str, method: str, path: str, status: int, **kw: Any) -> Any:
        start = time.perf_counter()
        r = client.request(method, path, headers={"Authorization": f"Bearer {tokens[who]}"},
                           **kw)
        times.append(time.perf_counter() - start)
        if r.status_code != status:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json()

    number = call("req", "POST", "/orders", 201, json={
        "agreement": "PHJP", "activity": "KAMANDAG-10", "order_on": on,
        "delivery_place": "Subic Bay", "delivery_on": later, "fund_citation": "FY2026 O&M",
        "requester_poc": "bench POC", "requesting_unit": "JMSDF-ESC1",
        "lines": [{"category": "fuel", "description": "Diesel fuel, marine (F-76)",
                   "stock_number": "9140-00-273-2377", "quantity": QTY, "unit": "L",
                   "unit_price": PRICE, "method": "cash"}]})["number"]
    call("req", "POST", f"/orders/{number}/request", 200, json={"on": on})
    call("app", "POST", f"/orders/{number}/accept", 200, json={
        "on": on, "supplier_poc": "bench duty officer", "supplying_unit": "PN-NFSL"})
    call("sup", "POST", f"/orders/{number}/deliveries", 201, data={"on": later},
         files={"document": ("issue-slip.pdf", f"%PDF-1.4 slip {number}".encode(),
                             "application/pdf")})
    [claim] = call("rcv", "POST", f"/orders/{number}/receipts", 201,
                   json={"on": later})["claims"]
    call("fin", "POST", f"/claims/{claim['number']}/payments", 201,
         json={"amount": AMOUNT, "currency": "PHP", "on": later})
    call("close", "POST", f"/orders/{number}/close", 200, json={"on": later})


def run_clients(n: int, work: Callable[[int, list[float]], None]) -> tuple[float, list[float]]:
    """`n` lifecycles shared by CLIENTS threads: (seconds, every transition's latency)."""
    times: list[float] = []
    lock = threading.Lock()
    counter = iter(range(n))

    def worker(_: int) -> None:
        mine: list[float] = []
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            work(i, mine)
        with lock:
            times.extend(mine)

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(worker, range(CLIENTS)))
    return time.perf_counter() - start, times


# --- the server ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, acsa_home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "ACSA_HOME": str(acsa_home), "NO_COLOR": "1"}
    log = (OUT / "http-serve.log").open("wb")
    acsa = Path(sys.executable).parent / "acsa"
    process = subprocess.Popen([str(acsa), "--db", f"sqlite:///{db}", "serve", "--port",
                                str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"acsa serve exited {process.returncode}: see {log.name}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("acsa serve did not answer /health in 60 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


# --- growing the register ------------------------------------------------------------------
def grow(db: Path, target: int) -> int:
    """Replicate the orders' rows until about `target` orders are stored: (orders stored)."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        base = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        copies = max(0, -(-target // base) - 1)
        if copies == 0:
            return int(base)
        stride = {t: conn.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0]
                  for t in REPLICATED}
        conn.execute("BEGIN IMMEDIATE")
        for t, refs in REPLICATED.items():
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({t})")]
            picks = []
            for c in cols:
                if c in refs:
                    picks.append(f"{c} + k * {stride[refs[c]]}")
                elif RENUMBERED.get(t) == c:
                    picks.append(f"{c} || '-R' || k")
                else:
                    picks.append(c)
            conn.execute(
                f"WITH RECURSIVE r(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM r "
                f"WHERE k < {copies}) INSERT INTO {t} ({', '.join(cols)}) "
                f"SELECT {', '.join(picks)} FROM {t}, r WHERE {t}.id <= {stride[t]}")
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])
    finally:
        conn.close()


def timed_gets(client: httpx.Client, token: str,
               requests: list[tuple[str, dict[str, Any]]]) -> list[float]:
    times = []
    for path, params in requests:
        start = time.perf_counter()
        r = client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
        times.append(time.perf_counter() - start)
        if r.status_code != 200:
            raise RuntimeError(f"GET {path} {params}: {r.status_code} {r.text[:300]}")
    return times


# --- figures -------------------------------------------------------------------------------
def pct(times: list[float], p: float) -> float:
    """The p-th percentile in milliseconds (nearest rank)."""
    ordered = sorted(times)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def row(label: str, count: int, seconds: float, times: list[float]) -> list[str]:
    return [label, f"{count:,}", f"{seconds:.2f}", f"{count / seconds:,.1f}/s",
            f"{pct(times, 50):.1f}", f"{pct(times, 95):.1f}", f"{pct(times, 99):.1f}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="lifecycles (default 200)")
    parser.add_argument("--orders", type=int, default=100_000,
                        help="orders stored for the register timings (default 100,000)")
    parser.add_argument("--gets", type=int, default=300,
                        help="requests timed per endpoint (default 300)")
    parser.add_argument("--quick", action="store_true",
                        help="a small run: 40 lifecycles, 20,000 orders, 100 requests")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.orders, args.gets = 40, 20_000, 100

    acsa_home = home("http-lifecycle")
    svc_engine, _ = prepared(OUT / "http-services.db", acsa_home)
    http_db = OUT / "http-server.db"
    http_engine, tokens = prepared(http_db, acsa_home)
    http_engine.dispose()  # the server process owns this file from now on

    for i in range(3):  # untimed: imports, statement caches, first pages
        service_lifecycle(svc_engine, i, [])
    svc_seconds, svc_times = run_clients(
        args.n, lambda i, t: service_lifecycle(svc_engine, i, t))
    one_start = time.perf_counter()
    one_times: list[float] = []
    for i in range(max(10, args.n // 4)):
        service_lifecycle(svc_engine, i, one_times)
    one_seconds = time.perf_counter() - one_start
    svc_engine.dispose()

    process, base = start_server(http_db, acsa_home)
    try:
        clients = [httpx.Client(base_url=f"{base}/api/v1", timeout=120)
                   for _ in range(CLIENTS)]
        for i in range(3):
            http_lifecycle(clients[0], tokens, i, [])
        local = threading.local()
        pool = iter(clients)
        pool_lock = threading.Lock()

        def over_http(i: int, times: list[float]) -> None:
            if not hasattr(local, "client"):
                with pool_lock:
                    local.client = next(pool)
            http_lifecycle(local.client, tokens, i, times)

        http_seconds, http_times = run_clients(args.n, over_http)

        stored = grow(http_db, args.orders)
        rng = random.Random(7)
        with sqlite3.connect(http_db) as conn:
            numbers = [r[0] for r in conn.execute("SELECT number FROM orders")]
        reader = clients[0]
        per = max(1, args.gets // len(REGISTER_VIEWS))
        list_times: dict[str, list[float]] = {}
        for view, params in REGISTER_VIEWS.items():
            gets = [("/orders", {**params, "page": rng.randint(1, 5)}) for _ in range(per)]
            timed_gets(reader, tokens["req"], gets[:5])  # untimed warm-up
            list_times[view] = timed_gets(reader, tokens["req"], gets)
        shows = [(f"/orders/{rng.choice(numbers)}", {}) for _ in range(args.gets)]
        timed_gets(reader, tokens["req"], shows[:5])
        show_times = timed_gets(reader, tokens["req"], shows)
        for c in clients:
            c.close()
    finally:
        stop_server(process)

    transitions = args.n * TRANSITIONS
    svc_rate = transitions / svc_seconds
    http_rate = transitions / http_seconds
    ratio = http_rate / svc_rate
    print(f"HTTP lifecycle benchmark: {args.n} lifecycles x {TRANSITIONS} transitions, "
          f"{CLIENTS} concurrent clients, SQLite files (WAL, synchronous=FULL), "
          f"{os.cpu_count()} CPUs\n")
    print(table(["transitions", "count", "seconds", "rate", "p50 ms", "p95 ms", "p99 ms"], [
        row(f"services, {CLIENTS} threads (baseline)", transitions, svc_seconds, svc_times),
        row("services, 1 thread (for reference)", len(one_times), one_seconds, one_times),
        row(f"HTTP, {CLIENTS} clients on loopback", transitions, http_seconds, http_times),
    ]))
    every_list = [t for times in list_times.values() for t in times]
    print(f"\nregister with {stored:,} orders stored, requests one at a time (viewer: JP, "
          f"party to every order; pages 1-5 of 50):\n")
    print(table(["endpoint", "requests", "p50 ms", "p95 ms", "p99 ms"], [
        *[[f"GET /api/v1/orders?{view}", f"{len(t):,}", f"{pct(t, 50):.1f}",
           f"{pct(t, 95):.1f}", f"{pct(t, 99):.1f}"] for view, t in list_times.items()],
        ["GET /api/v1/orders, all of the above", f"{len(every_list):,}",
         f"{pct(every_list, 50):.1f}", f"{pct(every_list, 95):.1f}",
         f"{pct(every_list, 99):.1f}"],
        ["GET /api/v1/orders/{number} (random)", f"{len(show_times):,}",
         f"{pct(show_times, 50):.1f}", f"{pct(show_times, 95):.1f}",
         f"{pct(show_times, 99):.1f}"],
    ]))
    print()
    print(table(["target", "measured", "result"], [
        [f"HTTP transitions/s >= {RATE_TARGET:.2f} x services", f"{ratio:.2f} x",
         verdict(ratio >= RATE_TARGET)],
        [f"list p95 < {P95_TARGET_MS:.0f} ms ({stored:,} orders)",
         f"{pct(every_list, 95):.1f} ms", verdict(pct(every_list, 95) < P95_TARGET_MS)],
        [f"show p95 < {P95_TARGET_MS:.0f} ms ({stored:,} orders)",
         f"{pct(show_times, 95):.1f} ms", verdict(pct(show_times, 95) < P95_TARGET_MS)],
    ]))
    print(f"\nmedian transition: services {statistics.median(svc_times) * 1000:.1f} ms, "
          f"HTTP {statistics.median(http_times) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
