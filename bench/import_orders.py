"""Bulk import of order lines from CSV against a raw bulk insert of the same rows.

Generates a CSV of `--lines` order lines (4 lines an order, requested orders: created and
requested, so two audit events an order) and imports it with `acsa.documents.bulk_import` into
a fresh database holding the test world of tests/factories.py. The baseline, in the same run
and the same database: the same file read with the csv module and its rows inserted raw into a
table of the same columns (all text) with SQLAlchemy Core executemany, committed every 2,000
rows as the import commits its batches. Target: import lines/second at least a fifth of the
raw rate, and memory flat in the file size: each size runs in a child process of its own, whose
peak RSS (from wait4) is that run's alone; the parent imports nothing of acsa.

    .venv/bin/python bench/import_orders.py                     # 10,000 and 100,000 lines, SQLite
    .venv/bin/python bench/import_orders.py --sizes 10000 --pg postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import OUT, table, verdict

TARGET = 0.2
MEMORY_SLACK = 1.25  # the larger run's peak may be at most this times the smaller's
BATCH = 2000


def child(lines: int, url: str | None) -> dict[str, float]:
    """One measured run, in this (child) process: raw baseline, then the import."""
    import csv
    import uuid

    from _common import fresh, home
    from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, text
    from tests.documents._bulk_helpers import write_generated
    from tests.factories import setup_world

    from acsa import units
    from acsa.audit import service as audit
    from acsa.db import migrate
    from acsa.db.engine import make_engine, unit_of_work
    from acsa.documents.bulk_format import NAMES
    from acsa.documents.bulk_import import import_orders

    acsa_home = home(f"import-{lines}")
    admin = None
    if url:
        admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                              isolation_level="AUTOCOMMIT")
        name = f"acsa_bench_import_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        db_url = f"{url.rsplit('/', 1)[0]}/{name}"
    else:
        db_url = f"sqlite:///{fresh(OUT / f'import-{lines}.db')}"
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    with unit_of_work(engine) as s:
        setup_world(s, acsa_home)
    path = write_generated(OUT / f"import-{lines}.csv", lines)
    warm = write_generated(OUT / "import-warm.csv", 400, prefix="WARM")
    units.check_unit("L")

    # raw baseline: the same rows, read with csv, into a table of the same columns
    raw = Table("raw_import_rows", MetaData(), *(Column(n, String(300)) for n in NAMES))
    raw.create(engine)
    start = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        batch: list[dict[str, str]] = []
        for values in reader:
            batch.append(dict(zip(NAMES, values, strict=True)))
            if len(batch) == BATCH:
                with engine.begin() as conn:
                    conn.execute(insert(raw), batch)
                batch = []
        if batch:
            with engine.begin() as conn:
                conn.execute(insert(raw), batch)
    raw_seconds = time.perf_counter() - start
    # for reference: the same rows through the driver alone (tuples, no SQLAlchemy)
    marks = ", ".join(["%s" if url else "?"] * len(NAMES))
    sql = f"INSERT INTO raw_import_rows ({', '.join(NAMES)}) VALUES ({marks})"
    start = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        dbapi = engine.raw_connection()
        cursor = dbapi.cursor()
        rows: list[list[str]] = []
        for values in reader:
            rows.append(values)
            if len(rows) == BATCH:
                if not url:
                    cursor.execute("BEGIN IMMEDIATE")
                cursor.executemany(sql, rows)
                dbapi.commit() if url else cursor.execute("COMMIT")
                rows = []
        if rows:
            if not url:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(sql, rows)
            dbapi.commit() if url else cursor.execute("COMMIT")
        dbapi.close()
    driver_seconds = time.perf_counter() - start

    with warm.open("rb") as fh:  # statement caches, first pages; not timed
        import_orders(engine, fh, name=warm.name, size=warm.stat().st_size)
    start = time.perf_counter()
    with path.open("rb") as fh:
        report = import_orders(engine, fh, name=path.name, size=path.stat().st_size)
    seconds = time.perf_counter() - start
    assert report.status == "imported" and report.imported_count == lines // 4, report.to_dict()
    with unit_of_work(engine, read_only=True) as s:
        ok = audit.verify(s).ok
    engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return {"lines": lines, "seconds": seconds, "raw_seconds": raw_seconds,
            "driver_seconds": driver_seconds,
            "chain_ok": float(ok), "file_mb": path.stat().st_size / 1e6}


def run_child(lines: int, url: str | None) -> tuple[dict[str, float], float]:
    """A measured run in a child process, and that child's peak RSS in MB."""
    args = [sys.executable, __file__, "--child", str(lines)] + (["--pg", url] if url else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, cwd=Path(__file__).parent)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"child run of {lines} lines failed")
    return json.loads(output.decode().strip().splitlines()[-1]), usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000",
                        help="line counts, comma-separated (default 10000,100000)")
    parser.add_argument("--pg", default=None, help="also run the largest size on PostgreSQL "
                        "(an admin URL; a database is created and dropped)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.pg)))
        return 0

    sizes = [int(x) for x in args.sizes.split(",")]
    runs = [("SQLite", n, *run_child(n, None)) for n in sizes]
    if args.pg:
        runs.append(("PostgreSQL", sizes[-1], *run_child(sizes[-1], args.pg)))
    print("bulk import benchmark: requested orders of 4 lines from CSV (2 audit events an "
          "order); raw = the same rows into a table of the same columns, Core executemany, "
          f"a commit every {BATCH:,} rows\n")
    rows, ratios = [], {}
    for db, n, r, rss in runs:
        rate, raw_rate = n / r["seconds"], n / r["raw_seconds"]
        ratios[(db, n)] = rate / raw_rate
        rows.append([f"{db} {n:,} lines ({r['file_mb']:.1f} MB)", f"{r['raw_seconds']:.2f}",
                     f"{raw_rate:,.0f}/s", f"{r['seconds']:.2f}", f"{rate:,.0f}/s",
                     f"{rate / raw_rate:.2f}", f"{rss:,.0f} MB",
                     "ok" if r["chain_ok"] else "BROKEN"])
    print(table(["run", "raw s", "raw lines/s", "import s", "import lines/s", "ratio",
                 "peak RSS", "audit chain"], rows))
    print("\nfor reference, the same rows through the database driver alone (no SQLAlchemy):")
    print(table(["run", "driver s", "driver lines/s", "import / driver"], [
        [f"{db} {n:,} lines", f"{r['driver_seconds']:.2f}",
         f"{n / r['driver_seconds']:,.0f}/s", f"{r['driver_seconds'] / r['seconds']:.2f}"]
        for db, n, r, _ in runs]))
    print()
    small = next(rss for db, n, _, rss in runs if db == "SQLite" and n == sizes[0])
    large = next(rss for db, n, _, rss in runs if db == "SQLite" and n == sizes[-1])
    biggest = ratios[("SQLite", sizes[-1])]
    print(table(["target", "measured", "result"], [
        [f"import lines/s >= {TARGET:.2f} x raw (SQLite, {sizes[-1]:,})", f"{biggest:.2f} x",
         verdict(biggest >= TARGET)],
        [f"peak RSS {sizes[-1]:,} lines <= {MEMORY_SLACK} x {sizes[0]:,} lines",
         f"{large:,.0f} / {small:,.0f} MB", verdict(large <= small * MEMORY_SLACK)],
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
