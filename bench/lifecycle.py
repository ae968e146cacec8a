"""Order lifecycles through the services on a SQLite file, against raw committed inserts.

Each lifecycle is 7 transitions (create, request, accept, deliver with a small document,
receive, pay, close), each in its own unit of work as the CLI runs them, on a file opened by
acsa.db.engine.make_engine (WAL, synchronous=FULL, BEGIN IMMEDIATE). The baseline, measured in
the same run and the same folder, is single-row INSERT + COMMIT into a SQLite file with the
same durability. Target: transitions/second at least a quarter of the raw insert rate.

A third row shows the database's share: the SQL that another --n lifecycles sent (recorded with
its parameters and transaction boundaries) replayed through bare sqlite3 on a copy of the file
as it was before them, with the same durability. What the services take beyond it is Python.

    .venv/bin/python bench/lifecycle.py [--n 300] [--raw-rows 5000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sqlite3
import sys
import time
from decimal import Decimal
from pathlib import Path

from _common import OUT, fresh, home, rate, table, verdict
from sqlalchemy import Engine, event
from tests.factories import draft, official, setup_world

from acsa.db import migrate
from acsa.db.engine import make_engine, unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.settlement import service as settlement

TARGET = 0.25  # of the raw committed-insert rate
TRANSITIONS = 7
WARMUP = 5  # lifecycles run before the clock starts: statement caches, imports, first pages


def raw_inserts(path: Path, rows: int) -> float:
    """Seconds for `rows` single-row INSERT + COMMIT transactions, WAL and synchronous=FULL."""
    conn = sqlite3.connect(fresh(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL, body TEXT NOT NULL)")
    body = "x" * 200
    start = time.perf_counter()
    for i in range(rows):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (at, body) VALUES (?, ?)", (str(i), body))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def lifecycle(engine: Engine, on: dt.date) -> None:
    """One order from creation to closed: seven units of work."""
    with unit_of_work(engine) as s:
        number = draft(s, on=on).number
    with unit_of_work(engine) as s:
        orders.request_order(s, number=number, by=official("JP", "requesting"), on=on)
    with unit_of_work(engine) as s:
        orders.accept_order(s, number=number, by=official("PH", "approving"), on=on,
                            supplier_poc="Cdr Cruz, +63 47 000 0000", supplying_unit="PN-NFSL")
    delivered = on + dt.timedelta(days=2)
    with unit_of_work(engine) as s:
        orders.record_delivery(s, number=number, by=official("PH", "supplying"), on=delivered,
                               quantities={1: Decimal(10000)}, document_name="issue-slip.pdf",
                               document=f"issue slip {number}\n".encode() * 20)
    with unit_of_work(engine) as s:
        orders.record_receipt(s, number=number, by=official("JP", "receiving"), on=delivered,
                              lines={})
    paid = on + dt.timedelta(days=20)
    with unit_of_work(engine) as s:
        [claim] = settlement.claims_of(s, orders.get_order(s, number))
        settlement.pay(s, claim_ref=claim.number, by=official("JP", "finance"), on=paid,
                       amount=Money(claim.amount_minor, claim.currency))
    with unit_of_work(engine) as s:
        orders.close_order(s, number=number, by=official("PH", "finance"), on=paid)


def _statements_per_lifecycle(engine: Engine, on: dt.date) -> float:
    """Run the untimed warm-up lifecycles, counting the SQL statements they send."""
    sent = 0

    def count(*_: object) -> None:
        nonlocal sent
        sent += 1

    event.listen(engine, "before_cursor_execute", count)
    for _ in range(WARMUP):
        lifecycle(engine, on)
    event.remove(engine, "before_cursor_execute", count)
    return sent / WARMUP


def _time_commits(engine: Engine) -> list[float]:
    """Add up the time spent in COMMIT (the WAL write and its fsync): [seconds]."""
    spent = [0.0]
    do_commit = engine.dialect.do_commit

    def timed(dbapi_connection: object) -> None:
        start = time.perf_counter()
        do_commit(dbapi_connection)
        spent[0] += time.perf_counter() - start

    engine.dialect.do_commit = timed  # type: ignore[method-assign]
    return spent


Sent = list[tuple[str, str | None, object]]  # (one | many | commit | rollback, SQL, parameters)


def _record(engine: Engine, n: int, on: dt.date) -> Sent:
    """Run `n` more lifecycles, recording every statement and transaction end they send."""
    sent: Sent = []

    def one(_c: object, _cur: object, sql: str, params: object, _ctx: object,
            many: bool) -> None:
        sent.append(("many" if many else "one", sql, params))

    def commit(_c: object) -> None:
        sent.append(("commit", None, None))

    def rollback(_c: object) -> None:
        sent.append(("rollback", None, None))

    hooks = [("before_cursor_execute", one), ("commit", commit), ("rollback", rollback)]
    for name, hook in hooks:
        event.listen(engine, name, hook)
    for i in range(n):
        lifecycle(engine, on + dt.timedelta(days=i % 40))
    for name, hook in hooks:
        event.remove(engine, name, hook)
    return sent


def replay(path: Path, sent: Sent) -> tuple[float, float]:
    """Send `sent` through bare sqlite3 on `path` (WAL, synchronous=FULL): (seconds, COMMIT s)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    committing = 0.0
    start = time.perf_counter()
    for kind, sql, params in sent:
        if kind == "one":
            conn.execute(sql, params)  # type: ignore[arg-type]
        elif kind == "many":
            conn.executemany(sql, params)  # type: ignore[arg-type]
        else:
            at = time.perf_counter()
            conn.execute("COMMIT" if kind == "commit" else "ROLLBACK")
            committing += time.perf_counter() - at
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed, committing


def _floor(engine: Engine, path: Path, n: int, on: dt.date) -> tuple[float, float]:
    """The database's share of `n` lifecycles: their SQL replayed bare on a copy of `path`."""
    engine.dispose()  # the copy must hold every page: fold the WAL in with no one connected
    folding = sqlite3.connect(path)
    folding.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    folding.close()
    copy = fresh(path.with_name(f"{path.stem}-floor.db"))
    shutil.copyfile(path, copy)
    sent = _record(engine, n, on)
    return replay(copy, sent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="lifecycles to time (default 300)")
    parser.add_argument("--raw-rows", type=int, default=5000,
                        help="rows of the raw committed-insert baseline (default 5000)")
    args = parser.parse_args(argv)

    raw_seconds = raw_inserts(OUT / "lifecycle-raw.db", args.raw_rows)

    acsa_home = home("lifecycle")
    path = fresh(OUT / "lifecycle.db")
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with unit_of_work(engine) as s:
        setup_world(s, acsa_home)
    first = dt.date(2026, 5, 10)
    statements = _statements_per_lifecycle(engine, first)
    committing = _time_commits(engine)
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(args.n):
        lifecycle(engine, first + dt.timedelta(days=i % 40))
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    commit_seconds = committing[0]
    floor_seconds, floor_commit = _floor(engine, path, args.n, first)
    engine.dispose()

    transitions = args.n * TRANSITIONS
    raw_rate = args.raw_rows / raw_seconds
    acsa_rate = transitions / seconds
    ratio = acsa_rate / raw_rate
    print(f"lifecycle benchmark: {args.n} lifecycles x {TRANSITIONS} transitions on a SQLite "
          f"file (WAL, synchronous=FULL), {WARMUP} more untimed first\n")
    print(f"SQL statements sent per lifecycle (counted in the warm-up): {statements:.0f}, "
          f"{statements / TRANSITIONS:.1f} per transition\n")
    print(table(["measure", "count", "seconds", "rate", "vs raw"], [
        ["raw INSERT+COMMIT (baseline)", f"{args.raw_rows:,}", f"{raw_seconds:.2f}",
         rate(args.raw_rows, raw_seconds), "1.00"],
        ["acsa transitions", f"{transitions:,}", f"{seconds:.2f}",
         rate(transitions, seconds), f"{ratio:.2f}"],
        ["acsa lifecycles", f"{args.n:,}", f"{seconds:.2f}", rate(args.n, seconds),
         f"{args.n / seconds / raw_rate:.3f}"],
        ["  of which COMMIT (WAL write + fsync)", f"{transitions:,}", f"{commit_seconds:.2f}",
         rate(transitions, commit_seconds), f"{transitions / commit_seconds / raw_rate:.2f}"],
        ["same SQL replayed by bare sqlite3", f"{transitions:,}", f"{floor_seconds:.2f}",
         rate(transitions, floor_seconds), f"{transitions / floor_seconds / raw_rate:.2f}"],
        ["  of which COMMIT", f"{transitions:,}", f"{floor_commit:.2f}",
         rate(transitions, floor_commit), f"{transitions / floor_commit / raw_rate:.2f}"],
    ]))
    print()
    print(f"Per transition: {seconds / transitions * 1000:.3f} ms through the services, "
          f"{floor_seconds / transitions * 1000:.3f} ms of it the database's work (the same SQL "
          f"sent bare), {(seconds - floor_seconds) / transitions * 1000:.3f} ms the services' "
          f"Python. At {TARGET:.2f} x raw a transition may take "
          f"{1 / (TARGET * raw_rate) * 1000:.3f} ms all in.")
    print()
    print(f"CPU time of the acsa transitions (user + system, which a busy machine moves less "
          f"than wall time): {cpu:.2f} s, {cpu / transitions * 1000:.2f} ms per transition\n")
    print(table(["target", "measured", "result"], [
        [f"transitions/s >= {TARGET:.2f} x raw inserts/s", f"{ratio:.2f} x",
         verdict(ratio >= TARGET)],
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
