"""`acsa import orders`: orders (and their history up to a state) from a CSV or xlsx file.

One row per order line; contiguous rows with the same `order_ref` are one order
(docs/import-format.md). The rows are streamed and taken an order at a time into batches of
about `BATCH_LINES` lines; each batch is checked (`bulk_check`: the existing ACSA rules) and
written (`bulk_write`). An order with any bad row is refused whole: never a half-written order.

Modes:
- default: each batch commits on its own; the good orders are imported, the others reported;
- all-or-nothing: one transaction for the file, rolled back if any row is bad;
- dry run: everything is checked and written in one transaction that is then rolled back, so
  the report is exactly what an import would do.

Re-importing a file finds the orders it already made by `order_ref` and the requesting party
(a unique index) and reports them as already imported. Memory does not grow with the file:
the report keeps the first `LIST_LIMIT` orders and problems and counts the rest, and the only
per-order state kept across batches is the set of references seen (to find an order whose rows
are not next to each other).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acsa.db.engine import unit_of_work
from acsa.documents import bulk_format as fmt
from acsa.documents.bulk_check import (
    BULK_STATES,
    Acting,
    Plan,
    Problem,
    Rules,
    check_order,
)
from acsa.documents.bulk_write import write_bulk, write_through_services
from acsa.orders.models import Order

BATCH_LINES = 2000
LIST_LIMIT = 1000  # orders listed (per outcome) and problems kept in a report


@dataclass
class OrderOutcome:
    order_ref: str
    rows: tuple[int, int]
    number: str | None = None
    state: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"order_ref": self.order_ref, "first_row": self.rows[0],
                "last_row": self.rows[1], "number": self.number, "state": self.state}


@dataclass
class ImportReport:
    file: str
    all_or_nothing: bool
    dry_run: bool
    rows: int = 0
    orders: int = 0
    imported_count: int = 0
    already_imported_count: int = 0
    rejected_count: int = 0
    problem_count: int = 0
    imported: list[OrderOutcome] = field(default_factory=list)
    already_imported: list[OrderOutcome] = field(default_factory=list)
    rejected: list[OrderOutcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    written: bool = False

    @property
    def status(self) -> str:
        """imported: every order in (or already in); partial: the good ones in, the rest
        reported; refused: nothing written because of bad rows; checked: a dry run."""
        if self.dry_run:
            return "checked"
        if self.problem_count and (self.all_or_nothing or not self.imported_count):
            return "refused"
        return "partial" if self.problem_count else "imported"

    def add(self, bucket: str, outcome: OrderOutcome) -> None:
        setattr(self, f"{bucket}_count", getattr(self, f"{bucket}_count") + 1)
        listed: list[OrderOutcome] = getattr(self, bucket)
        if len(listed) < LIST_LIMIT:
            listed.append(outcome)

    def problem(self, p: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < LIST_LIMIT:
            self.problems.append(p)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "status": self.status, "all_or_nothing": self.all_or_nothing,
            "dry_run": self.dry_run, "written": self.written, "rows": self.rows,
            "orders": self.orders, "imported_count": self.imported_count,
            "already_imported_count": self.already_imported_count,
            "rejected_count": self.rejected_count, "problem_count": self.problem_count,
            "imported": [o.to_dict() for o in self.imported],
            "already_imported": [o.to_dict() for o in self.already_imported],
            "rejected": [o.to_dict() for o in self.rejected],
            "problems": [p.to_dict() for p in self.problems],
            "listed_at_most": LIST_LIMIT,
        }


@dataclass
class Group:
    """The rows of one order as read: order cells from its first row, a line per row."""

    ref: str
    rows: list[int]
    cells: dict[str, str]
    lines: list[tuple[int, dict[str, str]]]
    problems: list[Problem]


# --- grouping the rows into orders ---------------------------------------------------------
def _cells(row: fmt.RawRow) -> dict[str, str]:
    return row.cells


def _row_problems(row: fmt.RawRow, cells: dict[str, str]) -> list[Problem]:
    ref = cells["order_ref"]
    out = [Problem(row.number, c, "not valid UTF-8 text", "InvalidInput", ref)
           for c in row.bad_cells]
    if "__extra__" in row.cells:
        out.append(Problem(row.number, "(after the last column)",
                           "the row has more cells than the header has columns",
                           "InvalidInput", ref))
    out += [Problem(row.number, c, f"{c} is required", "InvalidInput", ref)
            for c in fmt.REQUIRED if not cells[c] and c != "created_by"]
    if not cells["created_by"] and cells["order_ref"]:
        out.append(Problem(row.number, "created_by", "created_by is required (over the API "
                           "it may be blank: the signed-in official)", "InvalidInput", ref))
    for c in fmt.DATE_COLUMNS:
        if cells[c]:
            try:
                dt.date.fromisoformat(cells[c])
            except ValueError:
                out.append(Problem(row.number, c, f"{cells[c]!r} is not a date (write "
                                   "YYYY-MM-DD)", "InvalidInput", ref))
    if len(ref) > 80:
        out.append(Problem(row.number, "order_ref", "an order reference has at most 80 "
                           "characters", "InvalidInput", ref[:80]))
    return out


def groups(rows: Iterator[fmt.RawRow], report: ImportReport,
           acting: Acting | None = None) -> Iterator[Group]:
    """Orders from the rows, as the rows arrive. Checks what needs no rules: required cells,
    dates, an order's cells the same on each of its rows (blank repeats the first row), a
    row repeated within an order, and an order whose rows are not next to each other."""
    seen: set[int] = set()  # hashes of the references done: ~60 bytes an order
    current: Group | None = None
    line_keys: dict[tuple[str, ...], int] = {}
    for row in rows:
        report.rows += 1
        cells = _cells(row)
        if acting is not None and not cells["created_by"]:
            cells["created_by"] = acting.official
        ref = cells["order_ref"]
        problems = _row_problems(row, cells)
        # an order is its reference and requesting party (blank on a later row: the same)
        party = cells["requesting_party"].upper()
        same = current is not None and ref == current.ref and bool(ref) and (
            not party or party == current.cells["requesting_party"].upper())
        if not same:
            if current is not None:
                yield current
            current = Group(ref, [row.number], cells, [], [])
            line_keys = {}
            if ref and hash((party, ref)) in seen:
                problems.append(Problem(
                    row.number, "order_ref", f"order {ref!r} appeared earlier in the file, with "
                    "other orders in between: the rows of one order must be next to each "
                    "other", "InvalidInput", ref))
            seen.add(hash((party, ref)))
        else:
            assert current is not None
            current.rows.append(row.number)
            for c in fmt.ORDER_COLUMNS:
                if cells[c] and cells[c] != current.cells[c]:
                    problems.append(Problem(
                        row.number, c, f"differs from row {current.rows[0]} of the same order "
                        f"({current.cells[c]!r}): an order's columns are the same on each of "
                        "its rows (or blank)", "InvalidInput", ref))
        key = tuple(cells[c] for c in fmt.LINE_COLUMNS)
        if key in line_keys:
            problems.append(Problem(row.number, "description", f"duplicate of row "
                                    f"{line_keys[key]}: the same line twice in one order",
                                    "InvalidInput", ref))
        else:
            line_keys[key] = row.number
        current.lines.append((row.number, {c: cells[c] for c in fmt.LINE_COLUMNS}))
        current.problems.extend(problems)
    if current is not None:
        yield current


def batches(items: Iterator[Group]) -> Iterator[list[Group]]:
    batch: list[Group] = []
    lines = 0
    for g in items:
        batch.append(g)
        lines += len(g.lines)
        if lines >= BATCH_LINES:
            yield batch
            batch, lines = [], 0
    if batch:
        yield batch


# --- one batch -----------------------------------------------------------------------------
def _existing(session: Session, batch: list[Group]) -> dict[tuple[str, str], tuple[str, str]]:
    """(requesting party, ref) -> (number, state) of the orders of this batch already in."""
    keys = {(g.cells["requesting_party"].upper(), g.ref) for g in batch if g.ref}
    refs = sorted({ref for _, ref in keys})
    found = {}
    for i in range(0, len(refs), 500):
        # both columns of the unique index (requesting_party, external_ref), so it is used
        stmt = (select(Order.requesting_party, Order.external_ref, Order.number, Order.state)
                .where(Order.requesting_party.in_(sorted({p for p, _ in keys})),
                       Order.external_ref.in_(refs[i:i + 500])))
        for party, ref, number, state in session.execute(stmt):
            if (party, ref) in keys:
                found[(party, ref)] = (number, state)
    return found


def _span(g: Group) -> tuple[int, int]:
    return (g.rows[0], g.rows[-1])


def process(session: Session, rules: Rules, batch: list[Group], report: ImportReport, *,
            write: bool, source: str) -> None:
    """Check a batch and (when `write`) write its good orders in the session's transaction."""
    existing = _existing(session, batch)
    plans: list[Plan] = []
    for g in batch:
        report.orders += 1
        done = existing.get((g.cells["requesting_party"].upper(), g.ref))
        if done is not None and not g.problems:
            report.add("already_imported", OrderOutcome(g.ref, _span(g), done[0], done[1]))
            continue
        checked: Plan | list[Problem] = g.problems if g.problems else check_order(
            session, rules, g.ref, g.rows, g.cells, g.lines)
        if isinstance(checked, list):
            _reject(report, g, checked)
            continue
        plans.append(checked)
    if not write:
        return
    bulk = [p for p in plans if p.state in BULK_STATES]
    for p, number in zip(bulk, write_bulk(session, bulk), strict=True):
        report.add("imported", OrderOutcome(p.ref, (p.rows[0], p.rows[-1]), number, p.state))
    for p in plans:
        if p.state in BULK_STATES:
            continue
        number, problems = write_through_services(session, p, source=source)
        if problems:
            report.rejected_count += 1
            if len(report.rejected) < LIST_LIMIT:
                report.rejected.append(OrderOutcome(p.ref, (p.rows[0], p.rows[-1])))
            for q in problems:
                report.problem(q)
        else:
            report.add("imported", OrderOutcome(p.ref, (p.rows[0], p.rows[-1]), number, p.state))


def _reject(report: ImportReport, g: Group, problems: list[Problem]) -> None:
    report.add("rejected", OrderOutcome(g.ref, _span(g)))
    for p in sorted(problems, key=lambda p: (p.row, p.column)):
        report.problem(p if p.order_ref else Problem(p.row, p.column, p.reason, p.error, g.ref))


# --- the whole file ------------------------------------------------------------------------
class _RollBack(Exception):
    """Raised to leave a unit of work without committing (all-or-nothing refused, dry run)."""


def import_orders(engine: Engine, stream: IO[bytes], *, name: str, size: int,
                  all_or_nothing: bool = False, dry_run: bool = False,
                  acting: Acting | None = None,
                  progress: Callable[[float], None] | None = None) -> ImportReport:
    """Import the orders of one file; the report of what was done.

    Raises `bulk_format.ImportFileInvalid` when the file as a whole cannot be read (too large,
    not UTF-8, wrong header, empty): nothing is written then. A problem met later in the file
    (a CSV that breaks off at row N) is reported as a problem of that row."""
    report = ImportReport(file=name, all_or_nothing=all_or_nothing, dry_run=dry_run)
    rows = fmt.read_rows(stream, name=name, size=size, progress=progress)
    stream_of = groups(_guarded(rows, report), report, acting)
    if all_or_nothing or dry_run:
        try:
            with unit_of_work(engine) as s:
                rules = Rules(s, acting)
                for batch in batches(stream_of):
                    process(s, rules, batch, report, write=not report.problem_count,
                            source=name)
                _check_rows(report)
                if report.problem_count or dry_run:
                    raise _RollBack
                report.written = bool(report.imported_count)
        except _RollBack:
            if not dry_run:
                _unlist_imported(report)
        return report
    rules_holder: list[Rules] = []
    for batch in batches(stream_of):
        with unit_of_work(engine) as s:
            if not rules_holder:
                rules_holder.append(Rules(s, acting))
            process(s, rules_holder[0], batch, report, write=True, source=name)
        report.written = report.written or bool(report.imported_count)
    _check_rows(report)
    return report


def _unlist_imported(report: ImportReport) -> None:
    """All-or-nothing refused: what had been written is rolled back, so nothing counts as
    imported."""
    report.imported_count = 0
    report.imported = []
    report.written = False


def _guarded(rows: Iterator[fmt.RawRow], report: ImportReport) -> Iterator[fmt.RawRow]:
    """The rows; a file that breaks off after its first rows becomes a problem of the row it
    breaks at (earlier orders stand in the default mode), not an exception."""
    started = False
    try:
        for row in rows:
            started = True
            yield row
    except fmt.ImportFileInvalid as e:
        if not started:
            raise
        report.problem(Problem(int(e.details.get("row", 0)), "file", e.message,
                               e.code, ""))


def _check_rows(report: ImportReport) -> None:
    if report.rows == 0 and not report.problem_count:
        raise fmt.ImportFileInvalid("the file has a header but no rows", field="file", row=2)
