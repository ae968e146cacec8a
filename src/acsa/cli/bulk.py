"""`acsa import orders|template` and `acsa export orders|lines|settlements|ledger`.

Thin over `documents.bulk_import` and `documents.bulk_export`. An import opens its own units of
work (one per batch, or one for the file with --all-or-nothing or --dry-run); an export streams
from one read-only unit of work. Both show a Rich progress bar on stderr when it is a terminal
and --json is not given.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from acsa import errors
from acsa.cli.common import STATE, JsonOpt, err, fail, out, parse_date, run, table
from acsa.db.engine import get_engine

if TYPE_CHECKING:
    from acsa.documents.bulk_import import ImportReport

# The import and export machinery (and the order services under it) is imported inside the
# commands: every `acsa` command loads this module, few of them import or export.

import_app = typer.Typer(help="Bulk import from CSV or xlsx.", no_args_is_help=True)
export_app = typer.Typer(help="Bulk export to CSV or xlsx.", no_args_is_help=True)

SHOWN_PROBLEMS = 50


@contextmanager
def _progress(label: str, enabled: bool) -> Iterator[Callable[[float], None] | None]:
    """A progress bar on stderr taking fractions done, or None when there is no terminal."""
    if not enabled or not err.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                   TimeElapsedColumn(), console=err, transient=True)
    with bar:
        task = bar.add_task(label, total=1.0)
        yield lambda done: bar.update(task, completed=done)


# --- import --------------------------------------------------------------------------------
@import_app.command("orders")
def import_orders_cmd(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                    help="A .csv (UTF-8) or .xlsx file in the layout of "
                                    "docs/import-format.md."),
        all_or_nothing: bool = typer.Option(False, "--all-or-nothing",
                                            help="Import nothing if any row is bad."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Check everything, write "
                                     "nothing."),
        as_json: bool = JsonOpt) -> None:
    """Import orders (and their history up to a state) from CSV or xlsx: one row per line.
    Every bad row is reported with its row, column and reason; an order with a bad row is not
    imported; orders already imported from the file are found and left alone. Exit 0 when
    every order is in, 3 when any row was refused."""
    from acsa.documents.bulk_import import import_orders

    try:
        engine = get_engine(STATE.db)
        with _progress(f"importing {file.name}", not as_json) as progress, \
                file.open("rb") as fh:
            report = import_orders(engine, fh, name=file.name, size=file.stat().st_size,
                                   all_or_nothing=all_or_nothing, dry_run=dry_run,
                                   progress=progress)
    except errors.AcsaError as e:
        fail(e, as_json)
    data = report.to_dict()
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _render(report)
    if report.problem_count:
        raise typer.Exit(errors.EXIT_CODES["invalid"])


def _render(report: ImportReport) -> None:
    verb = {"checked": "would import", "refused": "imported nothing:"}.get(report.status,
                                                                          "imported")
    out.print(f"{report.file}: {report.rows:,} rows, {report.orders:,} orders", highlight=False)
    if report.status == "refused" and report.all_or_nothing:
        out.print(f"  {verb} {report.rejected_count:,} order(s) have bad rows "
                  "(--all-or-nothing)", highlight=False)
    else:
        out.print(f"  {verb} {report.imported_count:,} order(s)", highlight=False)
    if report.already_imported_count:
        out.print(f"  already imported before: {report.already_imported_count:,} order(s), "
                  "left as they are", highlight=False)
    if report.rejected_count:
        out.print(f"  refused: {report.rejected_count:,} order(s), "
                  f"{report.problem_count:,} problem(s)", highlight=False)
    if report.imported and report.status != "refused":
        table(None, ["order_ref", "rows", "number", "state"],
              [[o.order_ref, f"{o.rows[0]}-{o.rows[1]}", o.number, o.state]
               for o in report.imported[:20]])
        if report.imported_count > 20:
            out.print(f"  ... and {report.imported_count - 20:,} more", highlight=False)
    if report.problems:
        table("Problems", ["row", "column", "order_ref", "reason"],
              [[p.row, p.column, p.order_ref, p.reason]
               for p in report.problems[:SHOWN_PROBLEMS]])
        if report.problem_count > SHOWN_PROBLEMS:
            out.print(f"  ... {report.problem_count - SHOWN_PROBLEMS:,} more: use --json for "
                      "the first 1,000", highlight=False)


@import_app.command("template")
def template(output: Path = typer.Option(..., "-o", "--output",
                                         help="orders-template.csv or .xlsx: the format "
                                         "follows the suffix."),
             as_json: bool = JsonOpt) -> None:
    """Write the import template (header, one example order, and in xlsx the meaning of each
    column)."""
    from acsa.documents import bulk_format

    try:
        kind = bulk_format.file_kind(output.name)
    except errors.AcsaError as e:
        fail(e, as_json)
    output.write_bytes(bulk_format.template_bytes(kind))
    if as_json:
        print(json.dumps({"written": str(output), "format": kind,
                          "columns": list(bulk_format.NAMES)}))
    else:
        out.print(f"wrote the {kind} import template to {output}", highlight=False)


# --- export --------------------------------------------------------------------------------
def _export(what: str, fmt: str, output: Path, party: str | None, agreement: str | None,
            date_from: str | None, date_to: str | None, as_json: bool) -> None:
    from acsa.documents import bulk_export

    if fmt not in bulk_export.FORMATS:
        raise typer.BadParameter("use csv or xlsx", param_hint="--format")

    def go(s: object) -> int:
        query = bulk_export.ExportQuery(
            party=party.upper() if party else None,
            agreement=agreement.upper() if agreement else None,
            date_from=parse_date(date_from, "from") if date_from else None,
            date_to=parse_date(date_to, "to") if date_to else None)
        with _progress(f"exporting {what}", not as_json) as progress, \
                output.open("wb") as fh:
            return bulk_export.export(s, what, fmt, fh, query,  # type: ignore[arg-type]
                                      progress=progress)
    rows = run(go, as_json=as_json, buffered=False)
    if as_json:
        print(json.dumps({"written": str(output), "what": what, "format": fmt, "rows": rows}))
    else:
        out.print(f"wrote {rows:,} {what} row(s) to {output}", highlight=False)


def _register(what: str, doc: str) -> None:
    def command(fmt: str = typer.Option("csv", "--format", help="csv or xlsx"),
                output: Path = typer.Option(..., "-o", "--output", help="The file to write."),
                party: str | None = typer.Option(
                    None, "--party", help="Only what this party is a party to; its partners' "
                    "internal fields left blank." + (" Required: whose book."
                                                      if what == "ledger" else "")),
                agreement: str | None = typer.Option(None, "--agreement",
                                                     help="Only this agreement."),
                date_from: str | None = typer.Option(None, "--from", help="From this date, "
                                                     "YYYY-MM-DD."),
                date_to: str | None = typer.Option(None, "--to", help="To this date, "
                                                   "YYYY-MM-DD (inclusive)."),
                as_json: bool = JsonOpt) -> None:
        _export(what, fmt, output, party, agreement, date_from, date_to, as_json)
    command.__doc__ = doc
    export_app.command(what)(command)


_register("orders", "One row per order: parties, dates, state, total and signatures.")
_register("lines", "One row per order line, with its order's number.")
_register("settlements", "Payments, returns, exchanges, offsets and conversions of claims.")
_register("ledger", "One party's book: every ledger line, with --party naming the book.")

__all__ = ["export_app", "import_app"]
