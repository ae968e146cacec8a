"""Balances and ageing over large books, against ledger-cli on the same books.

Builds a SQLite file under bench/out/ (with --pg, a PostgreSQL database) holding --lines
ledger lines (default 1,000,000; see _books_build.py for their shape), then, each in a child
process of its own so that the build counts for nothing and each peak RSS is that step's alone:
  * acsa: acsa.ledger.reports.balances_and_ageing as of --as-of in a read-only unit of work
    (timed inside the child, from opening the unit of work to the last row), --repeat times:
    on a SQLite file the balances are summed on a second connection while the ageing is made
    (two CPUs; the CPU column adds both up). Beside it, for reference, the same two reports one
    after the other on one connection (`balances`, then `ageing`);
  * export: write_journal(fmt="ledger") of the whole books to bench/out/books.ledger;
  * ledger-cli: `ledger -f books.ledger bal`, --repeat times (wall time of the process);
  * hledger: `hledger -f books.ledger bal`, only with --hledger-timeout SECONDS.
Medians are compared, wall time for the targets (acsa under 1 s and 300 MB, and at least 20x
faster than ledger-cli); CPU time is shown beside it, as contention on a busy machine moves it
less. Then one untimed `ledger bal --flat` is read back and compared with acsa's balances.

    .venv/bin/python bench/books.py [--lines 1000000] [--repeat 3] [--reuse]
                                     [--hledger-timeout 600] [--pg URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import OUT, fresh, home, table, verdict

TARGET_SECONDS = 1.0
TARGET_MB = 300
TARGET_SPEEDUP = 20
AS_OF = "2026-12-31"


# --- the children ----------------------------------------------------------------------------
def child_reports(url: str, as_of: dt.date, one_by_one: bool = False) -> dict[str, object]:
    from acsa.db.engine import make_engine, unit_of_work
    from acsa.ledger import domain as books
    from acsa.ledger import reports

    engine = make_engine(url)
    start, cpu = time.perf_counter(), time.process_time()
    with unit_of_work(engine, read_only=True) as s:
        if one_by_one:
            rows = reports.balances(s, as_of=as_of)
            aged = reports.ageing(s, as_of=as_of)
        else:
            rows, aged = reports.balances_and_ageing(s, as_of=as_of)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    said: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:  # as the journal names them, payables as credits
        said[f"{r.creditor}:{books.receivable(r.method)}:{r.debtor}|{r.commodity}"] += \
            _major(r.commodity, r.creditor_book)
        said[f"{r.debtor}:{books.payable(r.method)}:{r.creditor}|{r.commodity}"] -= \
            _major(r.commodity, r.debtor_book)
    return {"seconds": seconds, "cpu": cpu, "balance_rows": len(rows), "ageing_rows": len(aged),
            "balances": {k: str(v) for k, v in said.items() if v}}


def child_export(url: str, journal: Path) -> dict[str, object]:
    from acsa.db.engine import make_engine, unit_of_work
    from acsa.ledger.export import write_journal

    engine = make_engine(url)
    start, cpu = time.perf_counter(), time.process_time()
    with unit_of_work(engine) as s, journal.open("w", encoding="utf-8") as out:
        postings = write_journal(s, out, fmt="ledger")
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "postings": postings}


def _major(commodity: str, amount: int) -> Decimal:
    from acsa.ledger import domain as books
    from acsa.money import EXPONENTS

    places = EXPONENTS[commodity] if books.is_currency(commodity) else books.KIND_SCALE
    return Decimal(amount).scaleb(-places)


# --- running a child and taking its measure --------------------------------------------------
@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    maxrss_mb: float
    stdout: str
    code: int | None  # None: killed at its timeout

    @property
    def timed_out(self) -> bool:
        return self.code is None


def spawn(cmd: list[str], timeout: float | None = None) -> Run:
    """Run `cmd`; its own wall time and peak RSS (wait4 reports the one child's rusage)."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            proc.kill()

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if timer:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text,
               None if killed.is_set() else proc.returncode)


def run_child(kind: str, *args: str) -> tuple[Run, dict[str, object]]:
    run = spawn([sys.executable, __file__, "--child", kind, *args])
    if run.code != 0:
        raise SystemExit(f"the {kind} child failed (exit {run.code})")
    return run, json.loads(run.stdout.strip().splitlines()[-1])


AMOUNT = re.compile(r'^\s*(-?\d+(?:\.\d+)?) "?([^"]+?)"?(?:  (\S.*))?$')


def read_flat_balance(text: str) -> dict[str, Decimal]:
    """`bal --flat` output: an account's other commodities stand on lines above its name."""
    out: dict[str, Decimal] = {}
    pending: list[tuple[str, Decimal]] = []
    for line in text.splitlines():
        m = AMOUNT.match(line)
        if not m:
            continue
        number, commodity, account = m.groups()
        pending.append((commodity, Decimal(number)))
        if account:
            out.update({f"{account}|{c}": n for c, n in pending if n})
            pending = []
    return out


# --- the books -------------------------------------------------------------------------------
def build_books(url: str, lines: int) -> tuple[int, float]:
    from _books_build import World, build, build_pg
    from sqlalchemy import func, select
    from tests.factories import official, setup_world

    from acsa.activities.models import Activity
    from acsa.agreements import service as agreements
    from acsa.db import migrate
    from acsa.db.engine import make_engine, unit_of_work
    from acsa.parties.models import Official

    start = time.perf_counter()
    if url.startswith("sqlite"):
        db = Path(url.split("///", 1)[1])
        engine = make_engine(f"sqlite:///{fresh(db)}")
    else:
        _fresh_pg(url)
        engine = make_engine(url)
    migrate.upgrade(engine)
    with unit_of_work(engine) as s:
        setup_world(s, home("books"))
        activity = {a.code: a.id for a in s.scalars(select(Activity))}
        world = World(
            agreements={c: agreements.get(s, c) for c in ("PHJP", "PHUS", "JPUS")},
            activity={"PHJP": activity["KAMANDAG-10"], "PHUS": activity["KAMANDAG-10"],
                      "JPUS": activity["PORTCALL-YOKO"]},
            requesting_official={p: s.scalar(select(Official.id).where(
                Official.code == official(p, "requesting"))) for p in ("PH", "JP", "US")},
            first_id={t: (s.scalar(select(func.max(m.id))) or 0) + 1 for t, m in _tables()})
    engine.dispose()
    written = 0
    steps = build(db, world, lines) if url.startswith("sqlite") else build_pg(url, world, lines)
    for written in steps:
        print(f"\r  building: {written:,} ledger lines", end="", file=sys.stderr, flush=True)
    print(" done", file=sys.stderr)
    return written, time.perf_counter() - start


def _tables() -> list[tuple[str, Any]]:
    from acsa.ledger.models import Entry, LedgerLine
    from acsa.orders.models import Order
    from acsa.settlement.models import Claim

    return [("orders", Order), ("claims", Claim), ("ledger_entries", Entry),
            ("ledger_lines", LedgerLine)]


def _fresh_pg(url: str) -> None:
    """Drop and create the benchmark's own database on the server of `url`."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def count_lines(url: str) -> int:
    if url.startswith("sqlite"):
        import sqlite3

        path = Path(url.split("///", 1)[1])
        if not path.exists():
            return 0
        with sqlite3.connect(path) as conn:
            return int(conn.execute("SELECT count(*) FROM ledger_lines").fetchone()[0])
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM ledger_lines").fetchone()
            return int(row[0]) if row else 0
    except psycopg.Error:
        return 0


# --- the run ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    name: str
    wall: float  # median seconds
    cpu: float  # median seconds of CPU (user + system): what contention on the machine moves less
    rss_mb: float  # largest peak


def _median_step(name: str, walls: list[float], cpus: list[float], rss: list[float]) -> Step:
    return Step(name, statistics.median(walls), statistics.median(cpus), max(rss))


def _row(step: Step, base: Step | None) -> list[str]:
    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}" if base and b > 0 else "-"

    return [step.name, f"{step.wall:.3f}", f"{step.cpu:.3f}", f"{step.rss_mb:.0f}",
            ratio(base.wall, step.wall) if base else "-",
            ratio(base.cpu, step.cpu) if base else "-"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--as-of", default=AS_OF, help=f"date of the reports (default {AS_OF})")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timed step")
    parser.add_argument("--reuse", action="store_true",
                        help="keep bench/out/books.db if it has --lines lines already")
    parser.add_argument("--ledger-timeout", type=float, default=1800)
    parser.add_argument("--hledger-timeout", type=float, default=None,
                        help="also time hledger, giving up after this many seconds "
                             "(default: skip hledger)")
    parser.add_argument("--child", choices=["build", "reports", "reports-one-by-one", "export"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--pg", metavar="URL", default=None,
                        help="build and read the books in PostgreSQL instead: the server and "
                             "credentials of URL, database acsa_bench_books (dropped and made "
                             "anew), e.g. postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--db", default=None, help=argparse.SUPPRESS)  # a child's database URL
    parser.add_argument("--journal", type=Path, default=OUT / "books.ledger",
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    as_of = dt.date.fromisoformat(args.as_of)

    if args.child:
        if args.child == "build":
            written, seconds = build_books(args.db, args.lines)
            facts: dict[str, object] = {"lines": written, "seconds": seconds}
        elif args.child in ("reports", "reports-one-by-one"):
            facts = child_reports(args.db, as_of, one_by_one=args.child != "reports")
        else:
            facts = child_export(args.db, args.journal)
        print(json.dumps(facts))
        return 0

    # The parent stays small and imports nothing of acsa: a child's peak RSS as the kernel
    # reports it includes the memory of the process that started it.
    journal = args.journal
    if args.pg:
        db = f"{args.pg.rpartition('/')[0]}/acsa_bench_books"
        where = "PostgreSQL database acsa_bench_books"
        journal = journal.with_name("books-pg.ledger")
    else:
        db = f"sqlite:///{OUT / 'books.db'}"
        where = "books.db"
    if args.reuse and count_lines(db) >= args.lines:
        lines, build_seconds = count_lines(db), 0.0
    else:
        _, built = run_child("build", "--db", str(db), "--lines", str(args.lines))
        lines, build_seconds = int(str(built["lines"])), float(str(built["seconds"]))

    reports_runs = [run_child("reports", "--db", str(db), "--as-of", args.as_of)
                    for _ in range(args.repeat)]
    rss = [run.maxrss_mb for run, _ in reports_runs]
    acsa = _median_step("acsa balances + ageing (in the child)",
                        [float(str(f["seconds"])) for _, f in reports_runs],
                        [float(str(f["cpu"])) for _, f in reports_runs], rss)
    process = _median_step("acsa child process, start to exit",
                           [run.wall for run, _ in reports_runs],
                           [run.cpu for run, _ in reports_runs], rss)
    facts = reports_runs[0][1]
    serial_runs = [run_child("reports-one-by-one", "--db", str(db), "--as-of", args.as_of)
                   for _ in range(args.repeat)]
    serial = _median_step("  the same one after the other (reference)",
                          [float(str(f["seconds"])) for _, f in serial_runs],
                          [float(str(f["cpu"])) for _, f in serial_runs],
                          [run.maxrss_mb for run, _ in serial_runs])
    if serial_runs[0][1]["balances"] != facts["balances"]:
        raise SystemExit("balances_and_ageing and balances disagree")

    export_run, exported = run_child("export", "--db", str(db), "--journal", str(journal))
    export = Step("export write_journal(fmt=ledger)", float(str(exported["seconds"])),
                  float(str(exported["cpu"])), export_run.maxrss_mb)

    ledger_bin = shutil.which("ledger")
    if not ledger_bin:
        raise SystemExit("ledger-cli is not installed (apt-get install ledger)")
    ledger_runs = [spawn([ledger_bin, "-f", str(journal), "bal"], args.ledger_timeout)
                   for _ in range(args.repeat)]
    if any(run.code != 0 for run in ledger_runs):
        raise SystemExit("ledger-cli failed or timed out on the journal")
    ledger = _median_step("ledger -f books.ledger bal (baseline)",
                          [run.wall for run in ledger_runs], [run.cpu for run in ledger_runs],
                          [run.maxrss_mb for run in ledger_runs])
    rows = [_row(acsa, ledger), _row(serial, ledger), _row(process, ledger), _row(export, None),
            _row(ledger, ledger)]
    hledger_bin = shutil.which("hledger")
    if args.hledger_timeout and hledger_bin:
        h = spawn([hledger_bin, "-f", str(journal), "bal"], args.hledger_timeout)
        if h.code == 0:
            rows.append(_row(Step("hledger -f books.ledger bal", h.wall, h.cpu, h.maxrss_mb),
                             ledger))
        else:
            rows.append(["hledger -f books.ledger bal",
                         "timed out" if h.timed_out else "failed", "-", "-", "-", "-"])
    else:
        rows.append(["hledger -f books.ledger bal", "skipped", "-", "-", "-", "-"])

    check = spawn([ledger_bin, "-f", str(journal), "bal", "--flat", "--no-total", "receivable",
                   "payable"], args.ledger_timeout)
    said = facts["balances"]
    assert isinstance(said, dict)
    agree = read_flat_balance(check.stdout) == {k: Decimal(v) for k, v in said.items()}

    size = (f"{(OUT / 'books.db').stat().st_size / 2**20:.0f} MB, " if not args.pg else "")
    print(f"books benchmark: {lines:,} ledger lines in {where} ({size}"
          f"{f'built in {build_seconds:.0f} s' if build_seconds else 'built earlier'}); "
          f"as of {as_of}; median of {args.repeat} runs each")
    print(f"acsa: {facts['balance_rows']} balance rows, {facts['ageing_rows']:,} open claims "
          f"aged; export: {exported['postings']:,} postings, "
          f"{journal.stat().st_size / 2**20:.0f} MB journal; ledger-cli and acsa agree on "
          f"every receivable and payable: {'yes' if agree else 'NO'}\n")
    print(table(["step", "wall s", "cpu s", "peak RSS MB", "ledger/this wall",
                 "ledger/this cpu"], rows))
    print()
    speedup = ledger.wall / acsa.wall
    print(table(["target", "measured", "result"], [
        [f"acsa balances + ageing < {TARGET_SECONDS:g} s", f"{acsa.wall:.3f} s",
         verdict(acsa.wall < TARGET_SECONDS)],
        [f"acsa peak RSS < {TARGET_MB} MB", f"{acsa.rss_mb:.0f} MB",
         verdict(acsa.rss_mb < TARGET_MB)],
        [f"acsa >= {TARGET_SPEEDUP}x faster than ledger-cli (wall)", f"{speedup:.1f}x",
         verdict(speedup >= TARGET_SPEEDUP)],
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
