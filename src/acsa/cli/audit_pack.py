"""`acsa audit pack|verify-pack`: an audit pack of one order or one activity written as a
zip, and its check, which needs no database (`--against-db` adds a comparison with one)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from sqlalchemy.orm import Session

from acsa import errors
from acsa.cli.admin import audit_app
from acsa.cli.common import JsonOpt, emit, err, fail, out, run

if TYPE_CHECKING:
    from acsa.audit import pack as packs

# `acsa.audit.pack` is imported inside the commands: every `acsa` command loads this module to
# list its commands.


@audit_app.command("pack")
def audit_pack(
    order: str | None = typer.Option(None, "--order", help="An order number."),
    activity: str | None = typer.Option(None, "--activity", help="An activity code: every "
                                        "order placed under it."),
    output: Path = typer.Option(..., "-o", "--output", help="The .zip to write (replaced "
                                "only once the new pack is complete).", dir_okay=False),
    lang: str = typer.Option("ja", "--lang", help="The order forms' second language: ja or "
                             "fil."),
    party: str | None = typer.Option(None, "--party", help="Make the pack a party would get "
                                     "(its orders only, nothing internal to the other party); "
                                     "default: everything."),
    as_json: bool = JsonOpt,
) -> None:
    """Write the audit pack of one order or a whole activity: order forms, source documents,
    the event history and a manifest of SHA-256 hashes, verifiable offline."""
    from acsa.audit import pack as packs

    if (order is None) == (activity is None):
        fail(errors.InvalidInput("name exactly one of --order and --activity",
                                 hint="e.g. `acsa audit pack --order PHJP-JP-2026-0001 -o "
                                 "pack.zip`."), as_json)
    target = output.expanduser()
    if not target.parent.is_dir():
        fail(errors.InvalidInput(f"folder {str(target.parent)!r} does not exist",
                                 field="output"), as_json)

    def go(s: Session) -> packs.PackSummary:
        return packs.write_pack_file(s, target, order=order, activity=activity,
                                     lang=lang.lower(),
                                     viewer_party=party.upper() if party else None)
    summary = run(go, as_json=as_json)
    data = {"file": str(target), **summary.to_dict()}

    def render() -> None:
        what = summary.scope.get("order") or f"activity {summary.scope.get('activity')}"
        out.print(f"audit pack of {what} written to {target}: {len(summary.orders)} "
                  f"order(s), {summary.events} events, {summary.files} files, "
                  f"{summary.bytes:,} bytes", highlight=False)
        out.print(f"manifest SHA-256 {summary.manifest_sha256} (record it: it identifies "
                  "this pack)", highlight=False)
        out.print(f"audit chain head when made: event {summary.chain_head['seq']} "
                  f"{summary.chain_head['hash']}", highlight=False)
    emit(data, as_json, render)
    for w in summary.warnings:
        err.print(f"[yellow]warning[/]: {w}", highlight=False)


@audit_app.command("verify-pack")
def audit_verify_pack(
    file: Path = typer.Argument(..., help="The audit pack (.zip).", dir_okay=False),
    against_db: bool = typer.Option(False, "--against-db", help="Also compare each event "
                                    "with the database's audit chain (needs the database)."),
    as_json: bool = JsonOpt,
) -> None:
    """Check an audit pack offline: every file's size and SHA-256 against the manifest, no
    file missing or added, each event's hash and links, and that the order forms and source
    documents are those the events name. Exit 0 when whole, 8 naming the first problems."""
    from acsa.audit import pack as packs

    if not file.is_file():
        fail(errors.NotFound(f"no file {str(file)!r}", field="file"), as_json)
    try:
        report = packs.verify_pack(file)
    except errors.AcsaError as e:
        fail(e, as_json)
    if report.ok and against_db:
        report.problems.extend(run(lambda s: packs.compare_with_database(s, report),
                                   as_json=as_json))
    data = {"file": str(file), "against_db": against_db, **report.to_dict()}
    if report.ok:
        def render() -> None:
            c = report.checked
            out.print(f"audit pack OK: {file}", highlight=False)
            out.print(f"  {c['files']} files ({c['bytes']:,} bytes) match the manifest; "
                      f"{c['events']} events hash and link; {c['orders']} order(s), "
                      f"{c['forms']} form(s) and {c['documents']} source document(s) tie to "
                      "their events", highlight=False)
            out.print(f"  manifest SHA-256 {report.manifest_sha256}", highlight=False)
            if against_db:
                out.print("  every event is in the database's audit chain, unchanged")
            for note in report.notes:
                out.print(f"  note: {note}", markup=False, highlight=False)
        emit(data, as_json, render)
        return
    error = report.error()
    if as_json:
        fail(error, as_json)
    err.print(f"[bold red]error[/]: {escape(error.message)}", highlight=False)
    for p in report.problems[1:]:
        err.print(f"  also: {p}", markup=False, highlight=False)
    err.print(f"  how to fix: {error.hint}", markup=False, highlight=False)
    raise typer.Exit(error.exit_code)
