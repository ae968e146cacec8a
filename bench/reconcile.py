"""Reconciliation of two books with 1,000,000 ledger lines (issue #6): equal, then with 100
planted differences.

Builds bench/out/reconcile-ours.db the way bench/books.py builds its books (_books_build.py:
three agreements, both directions, cash, in-kind and equal-value claims over two years), then
copies the file to bench/out/reconcile-theirs.db: two separate databases holding the same book.
The reconciliation covers every line: one reconciliation per agreement (PHJP, PHUS, JPUS),
each `acsa.sync.reconcile.reconcile` with both summaries computed from their own database and
compared. The partner is a node of its own: a second process (spawned once, keeping its engine
open as a server does) computes their summaries from their file while this one computes ours,
as two nodes do (`acsa reconcile --with` asks the partner's server over HTTP). Before stop 13
both summaries were computed in two threads of one process, which made them contend for one
interpreter lock as two nodes never do; `--one-process` measures that way still.

  * no cache: a first reconciliation, neither node holding a cached summary (cleared before
    each run): each computes its book from every order, claim and ledger line and caches it;
  * --no-cache: `use_cache=False`, every summary (the roots, then the leaves asked for)
    computed from every row, nothing cached (`acsa reconcile --no-cache`);
  * warm: the bucket digests cached in each database by a first, untimed run (what a node that
    has reconciled before holds; the cache is checked against the ledger and the change log of
    migration 0012 on every use);
  * then 100 differences are planted in theirs with plain SQL, behind the services' back (25
    extra ledger entries on existing orders, 25 order states changed, 25 claim amounts changed,
    25 orders only theirs) and the reconciliation is timed again: warm, each run the first after
    the plants (theirs is put back as it was before them, untimed, and planted again), with no
    cache, and with --no-cache; every planted difference must be found with its kind, and
    nothing else, and the three must report the same;
  * and as a node runs: after the plants, theirs refreshes its cache as `acsa sync import`
    does once it has applied a partner's events (timed on its own: what the import adds), then
    the first reconciliation is timed.

Medians of --repeat runs; wall and CPU time (user + system of both processes: what contention
on the machine moves less).

    .venv/bin/python bench/reconcile.py [--lines 1000000] [--repeat 3] [--reuse] [--one-process]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import multiprocessing
import random
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import OUT, table, verdict

TARGET_EQUAL = 2.0
TARGET_DIFFERENT = 10.0
PLANTED = 100
AS_OF = dt.date(2026, 12, 31)
PAIRS = {"PHJP": ("PH", "JP"), "PHUS": ("PH", "US"), "JPUS": ("JP", "US")}


def count_lines(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM ledger_lines").fetchone()[0])


def build(db: Path, lines: int, reuse: bool) -> tuple[int, float]:
    if reuse and db.exists() and count_lines(db) >= lines:
        from acsa.db import migrate
        from acsa.db.engine import make_engine

        engine = make_engine(f"sqlite:///{db}")
        migrate.upgrade(engine)  # a file built before the newest migration (0011's indexes)
        engine.dispose()
        return count_lines(db), 0.0
    from books import build_books

    return build_books(f"sqlite:///{db}", lines)  # type: ignore[arg-type]


def copy(src: Path, dst: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(src) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(src, dst)


def clear_cache(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM node_settings WHERE key LIKE 'reconcile:%'")


# --- planting ----------------------------------------------------------------------------------
def plant(db: Path, seed: int = 6) -> dict[tuple[str, str], str]:
    """100 differences in `db`: (subject, number) -> the kind reconciliation must report."""
    rng = random.Random(seed)
    expected: dict[tuple[str, str], str] = {}
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    orders = conn.execute("SELECT id, number, agreement_code, order_on, state, "
                          "requesting_party, supplying_party, currency FROM orders "
                          "WHERE order_on <= ?", (AS_OF.isoformat(),)).fetchall()
    picked = rng.sample(orders, 75)
    entry_id = conn.execute("SELECT max(id) FROM ledger_entries").fetchone()[0]
    line_id = conn.execute("SELECT max(id) FROM ledger_lines").fetchone()[0]
    for oid, number, code, on, _, req, sup, cur in picked[:25]:  # an extra entry
        entry_id += 1
        posted = on
        conn.execute("INSERT INTO ledger_entries (id, agreement_code, kind, posted_on, "
                     "order_id, claim_id, memo, created_at) VALUES (?, ?, 'adjustment', ?, ?, "
                     "NULL, 'planted', '2026-12-01 09:00:00.000000')",
                     (entry_id, code, posted, oid))
        for account, amount in (("assets:receivable:cash", 999), ("income:support-provided",
                                                                   -999)):
            line_id += 1
            conn.execute("INSERT INTO ledger_lines (id, entry_id, book, account, counterparty, "
                         "commodity, amount, posted_on, fiscal_year, agreement_code, claim_id, "
                         "activity_id, category, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 2026, ?, "
                         "NULL, NULL, NULL, NULL)",
                         (line_id, entry_id, sup, account, req, cur, amount, posted, code))
        expected[("order", number)] = "amount"
    for oid, number, *_ in picked[25:50]:  # a state
        conn.execute("UPDATE orders SET state = 'disputed' WHERE id = ?", (oid,))
        expected[("order", number)] = "state"
    for oid, *_ in picked[50:75]:  # a claim's amount
        cid, cnum = conn.execute("SELECT id, number FROM claims WHERE order_id = ? "
                                 "ORDER BY id LIMIT 1", (oid,)).fetchone()
        conn.execute("UPDATE claims SET amount_minor = amount_minor + 1 WHERE id = ?", (cid,))
        expected[("claim", cnum)] = "amount"
    columns = [r[1] for r in conn.execute("PRAGMA table_info(orders)")]
    next_id = conn.execute("SELECT max(id) FROM orders").fetchone()[0]
    for k, (oid, number, *_) in enumerate(picked[:25]):  # an order only theirs (no lines)
        values = ", ".join("?" if c in ("id", "number") else c for c in columns)
        conn.execute(f"INSERT INTO orders ({', '.join(columns)}) SELECT {values} FROM orders "
                     "WHERE id = ?", (next_id + k + 1, f"{number}-X", oid))
        expected[("order", f"{number}-X")] = "only_theirs"
    conn.execute("COMMIT")
    conn.close()
    return expected


# --- the partner node --------------------------------------------------------------------------
_NODE: dict[str, Any] = {}  # in the partner's process: its engine


def _node_open(url: str) -> None:
    from acsa.db.engine import make_engine

    _NODE["engine"] = make_engine(url)


def _node_summary(code: str, months: list[str] | None, use_cache: bool
                  ) -> tuple[dict[str, Any], float]:
    """The partner's summary, computed in its own process, with the CPU time it took there."""
    from acsa.db.engine import unit_of_work
    from acsa.sync import reconcile as rc

    cpu = time.process_time()
    with unit_of_work(_NODE["engine"]) as s:
        doc = rc.summary(s, agreement=code, as_of=AS_OF, party_pair=PAIRS[code], months=months,
                         use_cache=use_cache)
    return doc, time.process_time() - cpu


def _node_ready() -> None:
    """Nothing: the first call starts the process and runs `_node_open` (its imports)."""


def _node_dispose() -> None:
    _NODE["engine"].dispose()


class Partner:
    """Their node: a process of its own holding an engine on their file (or, with
    `--one-process`, that engine in this process, its summaries computed in a thread)."""

    def __init__(self, db: Path, one_process: bool) -> None:
        from acsa.db.engine import make_engine

        self.url, self.cpu = f"sqlite:///{db}", 0.0
        self.engine = make_engine(self.url)  # this process's own (planting, refresh)
        self.pool = None if one_process else concurrent.futures.ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=_node_open,
            initargs=(self.url,))
        if self.pool is not None:
            self.pool.submit(_node_ready).result()  # started before anything is timed

    def fetch(self, code: str, use_cache: bool) -> Callable[[list[str] | None], dict[str, Any]]:
        if self.pool is None:
            return side(self.engine, code, use_cache)

        def go(months: list[str] | None) -> dict[str, Any]:
            assert self.pool is not None
            doc, cpu = self.pool.submit(_node_summary, code, months, use_cache).result()
            self.cpu += cpu
            return doc
        return go

    def dispose(self) -> None:
        """Close every connection to their file (before it is replaced)."""
        self.engine.dispose()
        if self.pool is not None:
            self.pool.submit(_node_dispose).result()

    def close(self) -> None:
        self.engine.dispose()
        if self.pool is not None:
            self.pool.shutdown()


# --- timing ------------------------------------------------------------------------------------
def side(engine: Any, code: str, use_cache: bool) -> Callable[[list[str] | None], dict[str, Any]]:
    from acsa.db.engine import unit_of_work
    from acsa.sync import reconcile as rc

    def fetch(months: list[str] | None) -> dict[str, Any]:
        with unit_of_work(engine) as s:
            return rc.summary(s, agreement=code, as_of=AS_OF, party_pair=PAIRS[code],
                              months=months, use_cache=use_cache)
    return fetch


def reconcile_all(ours: Any, theirs: Partner, use_cache: bool) -> list[Any]:
    """Every agreement's reconciliation, each summary from its own database, theirs computed
    by their node while ours is."""
    from acsa.sync import reconcile as rc

    return [rc.reconcile(side(ours, code, use_cache), theirs.fetch(code, use_cache),
                         parallel=True) for code in PAIRS]


def refresh(engine: Any) -> None:
    """What `acsa sync import` does after applying a partner's events (`reconcile.prepare`,
    per agreement with the sender): compute the book and cache it. Here every agreement, as of
    the bench's date (the files carry no node party for `prepare` to pick the partner by)."""
    from acsa.db.engine import unit_of_work
    from acsa.sync import reconcile as rc

    for code, pair in PAIRS.items():
        with unit_of_work(engine) as s:
            rc.repeatable_read(s)
            rc.compute(s, agreement=code, as_of=AS_OF, party_pair=pair)


PARTNERS: list[Partner] = []  # whose CPU time `timed` adds to this process's


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        theirs = sum(p.cpu for p in PARTNERS)
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu + sum(p.cpu for p in PARTNERS) - theirs)
    return statistics.median(walls), statistics.median(cpus), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reuse", action="store_true",
                        help="keep bench/out/reconcile-ours.db if it has --lines lines already")
    parser.add_argument("--one-process", action="store_true",
                        help="compute their summaries in a thread of this process (as before "
                        "stop 13) instead of in a partner process of their own")
    args = parser.parse_args(argv)

    ours_db, theirs_db = OUT / "reconcile-ours.db", OUT / "reconcile-theirs.db"
    lines, build_s = build(ours_db, args.lines, args.reuse)
    clear_cache(ours_db)
    copy(ours_db, theirs_db)

    from acsa.db.engine import make_engine

    ours, theirs = make_engine(f"sqlite:///{ours_db}"), Partner(theirs_db, args.one_process)
    PARTNERS.append(theirs)
    rows: list[list[str]] = []

    def row(name: str, wall: float, cpu: float, reports: list[Any]) -> None:
        if not reports:  # not a reconciliation
            rows.append([name, f"{wall:.3f}", f"{cpu:.3f}", "-", "-", "-", "-", "-"])
            return
        rows.append([name, f"{wall:.3f}", f"{cpu:.3f}",
                     f"{sum(r.orders for r in reports):,}", f"{sum(r.claims for r in reports):,}",
                     f"{sum(len(r.leaves_requested) for r in reports)}",
                     f"{sum(sum('/' in k for k in r.requested) for r in reports)}",
                     f"{sum(len(r.differences) for r in reports)}"])

    def first(use_cache: bool = True) -> list[Any]:
        """A first reconciliation: neither node has a cached summary (it fills them)."""
        for db in (ours_db, theirs_db):
            clear_cache(db)
        return reconcile_all(ours, theirs, use_cache)

    # equal books
    cold_w, cold_c, cold = timed(first, args.repeat)
    assert all(r.agrees for r in cold), "equal books must agree"
    row("equal books, no cache (a first reconciliation)", cold_w, cold_c, cold)
    full_w, full_c, full = timed(lambda: reconcile_all(ours, theirs, False), args.repeat)
    assert all(r.agrees for r in full)
    row("equal books, --no-cache (every row read)", full_w, full_c, full)
    reconcile_all(ours, theirs, True)  # fills the caches, untimed
    warm_w, warm_c, warm = timed(lambda: reconcile_all(ours, theirs, True), args.repeat)
    assert all(r.agrees for r in warm)
    row("equal books, warm (cached bucket digests)", warm_w, warm_c, warm)

    # 100 differences; each warm run is the first after the plants: theirs put back as it was
    # before them (its cache warm), planted again
    before = OUT / "reconcile-theirs-before.db"
    theirs.dispose()
    copy(theirs_db, before)
    walls, cpus, diff = [], [], []
    for _ in range(args.repeat):
        theirs.dispose()
        copy(before, theirs_db)
        expected = plant(theirs_db)
        wall, cpu, diff = timed(lambda: reconcile_all(ours, theirs, True), 1)
        walls.append(wall)
        cpus.append(cpu)
    diff_w, diff_c = statistics.median(walls), statistics.median(cpus)
    row("100 differences, warm (first run after them)", diff_w, diff_c, diff)
    # the same, but as a node runs: the import that brought the changes refreshed the cache
    refreshes: list[tuple[float, float]] = []
    walls, cpus, after = [], [], []
    for _ in range(args.repeat):
        theirs.dispose()
        copy(before, theirs_db)
        plant(theirs_db)
        refreshes.append(timed(lambda: refresh(theirs.engine), 1)[:2])
        wall, cpu, after = timed(lambda: reconcile_all(ours, theirs, True), 1)
        walls.append(wall)
        cpus.append(cpu)
    before.unlink()
    row("100 differences: their import's refresh of the cache",
        statistics.median(w for w, _ in refreshes), statistics.median(c for _, c in refreshes),
        [])
    after_w, after_c = statistics.median(walls), statistics.median(cpus)
    row("100 differences: then the first reconciliation", after_w, after_c, after)
    assert [[d.to_dict() for d in r.differences] for r in after] == \
        [[d.to_dict() for d in r.differences] for r in diff]
    dcold_w, dcold_c, dcold = timed(first, args.repeat)
    row("100 differences, no cache (a first reconciliation)", dcold_w, dcold_c, dcold)
    dfull_w, dfull_c, dfull = timed(lambda: reconcile_all(ours, theirs, False), 1)
    row("100 differences, --no-cache (every row read)", dfull_w, dfull_c, dfull)
    theirs.close()

    found: dict[tuple[str, str], set[str]] = {}
    for r in diff:
        for key, kinds in r.items().items():
            found.setdefault(key, set()).update(kinds)
    hits = sum(1 for key, kind in expected.items() if kind in found.get(key, set()))
    extra = sorted(set(found) - set(expected))
    exact = hits == len(expected) and not extra and all(
        found[k] == {v} for k, v in expected.items())
    same = all([d.to_dict() for d in a.differences] == [d.to_dict() for d in b.differences]
               for other in (dcold, dfull) for a, b in zip(diff, other, strict=True))

    where = "in a thread of this process" if args.one_process else "by a partner process"
    print(f"reconcile benchmark: {lines:,} ledger lines in each of two SQLite files "
          f"({ours_db.stat().st_size / 2**20:.0f} MB each; "
          f"{f'built in {build_s:.0f} s' if build_s else 'built earlier'}); 3 agreements; as "
          f"of {AS_OF}; median of {args.repeat} runs (--no-cache with differences: 1 run); "
          f"their summaries computed {where}\n")
    print(table(["run", "wall s", "cpu s", "orders", "claims", "months differing",
                 "buckets fetched", "differences"], rows))
    print()
    print(table(["target", "measured", "result"], [
        [f"equal books < {TARGET_EQUAL:g} s (warm)", f"{warm_w:.3f} s",
         verdict(warm_w < TARGET_EQUAL)],
        [f"equal books < {TARGET_EQUAL:g} s (no cache)", f"{cold_w:.3f} s",
         verdict(cold_w < TARGET_EQUAL)],
        [f"{PLANTED} differences found < {TARGET_DIFFERENT:g} s (warm)", f"{diff_w:.3f} s",
         verdict(diff_w < TARGET_DIFFERENT)],
        [f"{PLANTED} differences found < {TARGET_DIFFERENT:g} s (after the import's refresh)",
         f"{after_w:.3f} s", verdict(after_w < TARGET_DIFFERENT)],
        [f"{PLANTED} differences found < {TARGET_DIFFERENT:g} s (no cache)",
         f"{dcold_w:.3f} s", verdict(dcold_w < TARGET_DIFFERENT)],
        [f"all {PLANTED} found, each with its kind, nothing else",
         f"{hits} of {len(expected)}, {len(extra)} other", verdict(exact)],
        ["no cache and --no-cache report the same, difference for difference",
         f"{sum(len(r.differences) for r in dfull)} differences", verdict(same)],
    ]))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
