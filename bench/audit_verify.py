"""Verifying a long audit chain, against a bare SHA-256 chain over the same bytes.

Appends --events audit events (default 1,000,000) to a migrated SQLite file under bench/out/
(with --pg, a PostgreSQL database, where the client's CPU time leaves out the server's), each
row made with acsa.audit.chain (body, link) so the chain is valid, in bulk: the payloads
are shaped like the services' (orders created, signed, delivered, received; claims issued and
settled). Then, in this one process, --repeat times each:
  * acsa: acsa.audit.service.verify over the whole table (a fresh unit of work each time; on
    SQLite it checks a long chain in stretches, one per CPU up to 4, all but the last in child
    processes, so its wall time depends on free CPUs and its CPU time adds theirs);
  * baseline: the same hashes computed with hashlib from the event bodies held in memory,
    with no database at all.
Target: verify at least half the bare rate (events/second).

    .venv/bin/python bench/audit_verify.py [--events 1000000] [--repeat 3] [--reuse] [--pg URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import resource
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from _common import OUT, fresh, rate, table, verdict

from acsa.audit import chain
from acsa.audit import service as audit
from acsa.db import migrate
from acsa.db.engine import make_engine, unit_of_work

TARGET = 0.5  # of the bare hashing rate
INSERT = ("INSERT INTO audit_events (seq, at, party, actor, action, subject, order_hash, "
          "payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
STEPS = [("order.created", "requesting", "req"), ("order.requested", "requesting", "req"),
         ("order.accepted", "approving", "sup"), ("order.delivered", "supplying", "sup"),
         ("order.received", "receiving", "req"), ("claim.issued", "system", "sup"),
         ("claim.payment", "finance", "req"), ("order.settled", "system", ""),
         ("order.closed", "finance", "sup")]
PAIRS = [("PHJP", "PH", "JP"), ("PHUS", "PH", "US"), ("JPUS", "JP", "US")]


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _payload(action: str, on: dt.date, number: str, rng: random.Random) -> dict[str, object]:
    day = on.isoformat()
    if action == "order.created":
        return {"lines": rng.randint(1, 4), "total": f"{rng.randint(1, 9_999_999):,}.00 PHP"}
    if action in ("order.requested", "order.accepted"):
        return {"on": day, "signed_hash": _hex(rng), "warnings": []}
    if action == "order.delivered":
        return {"on": day, "lines": {"1": "10000"}, "document": _hex(rng),
                "document_name": "issue-slip.pdf"}
    if action == "order.received":
        return {"on": day, "claims": [f"{number}-C1"],
                "lines": {"1": {"delivered": "10000", "received": "10000", "damaged": "0",
                                "discrepancy": "none", "reason": ""}}}
    if action == "claim.issued":
        return {"number": f"{number}-C1", "method": "cash", "amount": "955,000.00 PHP",
                "quantity": None, "unit": None, "item": "cash bill", "stock_number": "",
                "delivered_on": day, "issued_on": day, "due_on": day, "state": "open",
                "overdue": False, "outstanding": "955,000.00 PHP",
                "outstanding_quantity": None}
    if action == "claim.payment":
        return {"claim": f"{number}-C1", "on": day, "memo": f"{number}-C1: paid 955,000.00 PHP",
                "outstanding": "0.00 PHP", "applied_minor": "95500000",
                "tendered_minor": "95500000", "tendered_currency": "PHP"}
    return {"on": day} if action == "order.closed" else {}


def events(count: int, seed: int = 7) -> Iterator[tuple[str, tuple[object, ...]]]:
    """(body, row) for events 1..count, each linked to the one before."""
    rng = random.Random(seed)
    at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    prev = chain.GENESIS
    seq = 0
    order = 0
    while seq < count:
        order += 1
        code, a, b = PAIRS[order % 3]
        req, sup = (a, b) if order % 2 else (b, a)
        number = f"{code}-{req}-{2025 + order * 2 // max(count // 9, 1) % 2}-{order:05d}"
        order_hash = _hex(rng)
        for action, role, side in STEPS:
            seq += 1
            if seq > count:
                return
            at += dt.timedelta(milliseconds=rng.randint(50, 60_000))
            party = {"req": req, "sup": sup, "": ""}[side]
            actor = "system" if role == "system" else f"{party.lower()}-{role}"
            text = chain.canonical_json(_payload(action, at.date(), number, rng))
            stamp = at.isoformat(timespec="microseconds")
            body = chain.body(seq, stamp, party, actor, action, number, order_hash, text)
            digest = chain.link(prev, body)
            yield body, (seq, stamp, party, actor, action, number, order_hash, text, prev,
                         digest)
            prev = digest


def build(path: Path, count: int, chunk: int = 50_000) -> list[str]:
    """Write the events; return their bodies (the baseline's input)."""
    engine = make_engine(f"sqlite:///{fresh(path)}")
    migrate.upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # the build is not what is measured
    conn.execute("BEGIN")
    bodies: list[str] = []
    rows: list[tuple[object, ...]] = []
    for body, row in events(count):
        bodies.append(body)
        rows.append(row)
        if len(rows) >= chunk:
            conn.executemany(INSERT, rows)
            rows = []
            print(f"\r  building: {len(bodies):,} events", end="", file=sys.stderr, flush=True)
    conn.executemany(INSERT, rows)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    print(" done", file=sys.stderr)
    return bodies


def build_pg(url: str, count: int, chunk: int = 50_000) -> list[str]:
    """The same events into a fresh PostgreSQL database (COPY), then VACUUM ANALYZE."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    bodies: list[str] = []
    columns = INSERT[INSERT.index("(") + 1:INSERT.index(")")]
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY audit_events ({columns}) FROM STDIN") as copy:
            for body, row in events(count):
                bodies.append(body)
                copy.write_row(row)
                if len(bodies) % chunk == 0:
                    print(f"\r  building: {len(bodies):,} events", end="", file=sys.stderr,
                          flush=True)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE audit_events")
    print(" done", file=sys.stderr)
    return bodies


def bare_chain(bodies: list[str]) -> tuple[float, float, str]:
    """The hashes alone, from memory instead of the database: (wall s, cpu s, last hash)."""
    sha, sep = hashlib.sha256, chain.SEP
    start, cpu = time.perf_counter(), time.process_time()
    prev = chain.GENESIS
    for body in bodies:
        prev = sha(f"{prev}{sep}{body}".encode()).hexdigest()
    return time.perf_counter() - start, time.process_time() - cpu, prev


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_verify(url: str) -> tuple[float, float, audit.Verification]:
    """Wall and CPU seconds of verify; the CPU counts the child processes that check
    stretches of the chain beside this one (on SQLite), not only this process."""
    engine = make_engine(url)
    start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    with unit_of_work(engine) as s:
        result = audit.verify(s)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu + _children_cpu() - children
    engine.dispose()
    return seconds, cpu, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reuse", action="store_true",
                        help="keep bench/out/audit.db (or the PostgreSQL database) if it holds "
                             "--events events already")
    parser.add_argument("--pg", metavar="URL", default=None,
                        help="verify in PostgreSQL instead: the server and credentials of URL, "
                             "database acsa_bench_audit (dropped and made anew), e.g. "
                             "postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    path = OUT / "audit.db"
    url = (f"{args.pg.rpartition('/')[0]}/acsa_bench_audit" if args.pg
           else f"sqlite:///{path}")

    start = time.perf_counter()
    if args.reuse and _count(url) == args.events:
        bodies = [body for body, _ in events(args.events)]
    else:
        bodies = build_pg(url, args.events) if args.pg else build(path, args.events)
    build_seconds = time.perf_counter() - start

    bare, verified = [], []
    for _ in range(args.repeat):  # alternated, so drift in the machine's speed hits both
        bare.append(bare_chain(bodies))
        verified.append(timed_verify(url))
    bare_s = statistics.median(s for s, _, _ in bare)
    bare_cpu = statistics.median(c for _, c, _ in bare)
    verify_s = statistics.median(s for s, _, _ in verified)
    verify_cpu = statistics.median(c for _, c, _ in verified)
    result = verified[0][2]
    heads_agree = result.ok and result.head == bare[0][2] and result.events == len(bodies)
    n = len(bodies)
    ratio = bare_s / verify_s

    where = "PostgreSQL database acsa_bench_audit" if args.pg else path.name
    print(f"audit verify benchmark: {n:,} events in {where} (built in {build_seconds:.0f} s"
          f"); median of {args.repeat} runs each")
    print(f"verify: ok={result.ok}, {result.events:,} events; its head equals the bare "
          f"chain's: {'yes' if heads_agree else 'NO'}\n")
    print(table(["measure", "events", "wall s", "cpu s", "rate (wall)", "vs bare (wall)",
                 "vs bare (cpu)"], [
        ["bare hashlib chain, bodies in memory (baseline)", f"{n:,}", f"{bare_s:.3f}",
         f"{bare_cpu:.3f}", rate(n, bare_s), "1.00", "1.00"],
        ["acsa.audit.service.verify", f"{result.events:,}", f"{verify_s:.3f}",
         f"{verify_cpu:.3f}", rate(result.events, verify_s), f"{ratio:.2f}",
         f"{bare_cpu / verify_cpu:.2f}"],
    ]))
    print()
    print(table(["target", "measured", "result"], [
        [f"verify rate >= {TARGET:.2f} x bare rate (wall)", f"{ratio:.2f} x",
         verdict(ratio >= TARGET and heads_agree)],
    ]))
    return 0


def _count(url: str) -> int:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        if not path.exists():
            return -1
        with sqlite3.connect(path) as conn:
            return int(conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM audit_events").fetchone()
            return int(row[0]) if row else -1
    except psycopg.Error:
        return -1


if __name__ == "__main__":
    sys.exit(main())
