"""`acsa sync ...`: exchange signed events with partner nodes, by file or over HTTPS."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.progress import Progress

from acsa import errors
from acsa.cli.common import STATE, JsonOpt, emit, err, fail, out, run, table
from acsa.db.engine import get_engine
from acsa.sync import bundle
from acsa.sync import service as sync

app = typer.Typer(help="Exchange signed events with partners' nodes: bundle files for a USB "
                  "stick or an email, or push and pull over HTTPS; see what is pending and "
                  "what was refused.", no_args_is_help=True)


@app.command("export")
def export(to: str = typer.Option(..., "--to", help="The partner party the bundle is for."),
           output: Path = typer.Option(..., "-o", "--output", help="The bundle file to write."),
           since: int | None = typer.Option(None, "--since", help="Send our events after this "
                                            "seq (default: everything the partner has not "
                                            "acknowledged)."),
           as_json: bool = JsonOpt) -> None:
    """Write a signed bundle of our events for a partner, for a USB stick or an email.

    Needs the node key's passphrase (ACSA_KEY_PASSPHRASE). A bundle lost on the way does no
    harm: the next export sends again everything the partner has not acknowledged."""
    data = run(lambda s: sync.export(s, to=to, since=since), as_json=as_json)
    output.write_bytes(bundle.dumps(data))
    summary = {"bundle_id": data["bundle_id"], "to": data["to"], "events": data["count"],
               "range": data["range"], "file": str(output)}
    emit(summary, as_json, lambda: out.print(
        f"bundle {data['bundle_id']} for {data['to']}: {data['count']} event(s), seq "
        f"{data['range'][0] + 1}..{data['range'][1]} -> {output}", highlight=False))


def render_result(r: sync.ImportResult) -> None:
    out.print(f"bundle {r.bundle_id} from {r.sender}: {r.events} event(s); {len(r.applied)} "
              f"applied, {r.duplicates} already here, {len(r.pending)} waiting, "
              f"{len(r.superseded)} superseded, {len(r.quarantined)} refused", highlight=False)
    for c in r.conflicts:
        out.print(f"  [yellow]conflict[/] on {c['subject']}: {c['rule']}; the order is now in "
                  "dispute", highlight=False)
    for q in r.quarantined:
        out.print(f"  [red]refused[/] {q['event']}: {q['error']}: {q['reason']}",
                  highlight=False)
    if r.pending:
        out.print(f"  waiting for what they depend on: {', '.join(r.pending[:10])}"
                  f"{' ...' if len(r.pending) > 10 else ''} (see `acsa sync status`)",
                  highlight=False)


def prepare_reconciliation(partner: str, applied: int) -> list[str]:
    """After events of `partner` were applied: cache our summary of our agreements with it as
    of today (`reconcile.prepare`), so the next reconciliation starts warm. Never fails the
    import, which has committed: a problem is reported on stderr."""
    if not applied:
        return []
    import datetime as dt

    from acsa.sync import reconcile
    try:
        return reconcile.prepare(get_engine(STATE.db), partner=partner,
                                 as_of=dt.datetime.now(dt.UTC).date())
    except Exception as e:  # noqa: BLE001 (whatever it is, the import has committed)
        err.print(f"warning: the reconciliation summary was not refreshed: "
                  f"{getattr(e, 'message', None) or e}", highlight=False)
        return []


@app.command("import")
def import_(file: Path = typer.Argument(..., help="A bundle file from a partner's node."),
            as_json: bool = JsonOpt) -> None:
    """Check a partner's bundle and apply its events through the same rules as our own.

    Refused whole (nothing changed, the reason kept in `acsa sync quarantine`): a damaged,
    truncated or altered file, a bad signature, an unknown or revoked key, a bundle for another
    party, a bundle already imported. Each event is then checked and applied on its own; one
    that waits for another is applied when that one arrives. Safe to run again after a crash.
    Once events are applied, our reconciliation summary of our agreements with the sender is
    cached anew, so the next `acsa reconcile` starts warm."""
    try:
        raw = file.read_bytes()
    except OSError as e:
        fail(errors.InvalidInput(f"cannot read {file}: {e.strerror}", field="file"), as_json)
    engine = get_engine(STATE.db)
    try:
        if sys.stderr.isatty() and not as_json:
            with Progress(transient=True) as bar:
                task = bar.add_task("applying", total=None)
                result = sync.import_bundle(
                    engine, raw, progress=lambda d, t: bar.update(task, completed=d, total=t))
        else:
            result = sync.import_bundle(engine, raw)
    except errors.AcsaError as e:
        fail(e, as_json)
    prepared = prepare_reconciliation(result.sender, len(result.applied))

    def render() -> None:
        render_result(result)
        if prepared:
            out.print(f"  reconciliation summary refreshed: {', '.join(prepared)}",
                      highlight=False)
    emit({**result.to_dict(), "reconcile_prepared": prepared}, as_json, render)
    if result.quarantined:
        raise typer.Exit(errors.EXIT_CODES["integrity"])


@app.command("status")
def status(as_json: bool = JsonOpt) -> None:
    """Per partner: what we sent and it acknowledged, what we hold of its events, and what is
    waiting, refused or in conflict."""
    data = run(sync.status, as_json=as_json)

    def render() -> None:
        out.print(f"node of {data['party']}: {data['authored']} event(s) authored; inbox "
                  f"{data['inbox'] or 'empty'}; {data['quarantined']} refused; "
                  f"{data['conflicts']} conflict(s)", highlight=False)
        table("Partners", ["party", "acknowledged up to", "not acknowledged", "received up to",
                           "gaps", "last export", "last import"],
              [[p["party"], p["acknowledged_up_to"], p["not_acknowledged"],
                p["received_up_to"], p["gaps"] or "", p["last_export_at"] or "",
                p["last_import_at"] or ""] for p in data["partners"]])
        if data["pending"]:
            table("Waiting", ["event", "kind", "subject", "for"],
                  [[p["event"], p["kind"], p["subject"], p["waiting_for"]]
                   for p in data["pending"]])
    emit(data, as_json, render)


@app.command("quarantine")
def quarantine(limit: int = typer.Option(100, help="How many, newest first."),
               as_json: bool = JsonOpt) -> None:
    """Refused bundles and events, newest first, with the reason; nothing of them was
    applied."""
    rows = run(lambda s: sync.quarantine(s, limit=limit), as_json=as_json)
    emit(rows, as_json, lambda: table(
        "Quarantine", ["at", "from", "event", "kind", "subject", "error", "reason"],
        [[r["at"][:19], r["origin"], r["event"] or "(bundle)", r["kind"], r["subject"],
          r["error"], r["reason"]] for r in rows]))


@app.command("conflicts")
def conflicts(as_json: bool = JsonOpt) -> None:
    """Orders on which both parties acted at once, which event stood and why."""
    rows = run(sync.conflicts, as_json=as_json)
    emit(rows, as_json, lambda: table("Conflicts", ["subject", "stood", "superseded", "rule"],
                                      [[r["subject"], r["winner"], r["loser"], r["rule"]]
                                       for r in rows]))


Url = typer.Option(None, "--url", help="The partner node's base URL (default: the one "
                   "registered with its key).")
Ca = typer.Option(None, "--ca", help="A CA certificate file (PEM) to check the partner's HTTPS "
                  "certificate against, for a partner's own certificate authority.")


@app.command("push")
def push(party: str = typer.Argument(..., help="The partner to send our events to."),
         url: str | None = Url, ca: str | None = Ca,
         since: int | None = typer.Option(None, "--since", help="Send our events after this "
                                          "seq (default: what the partner has not "
                                          "acknowledged)."),
         as_json: bool = JsonOpt) -> None:
    """Send our events to a partner's running node over HTTPS (signed with our node key)."""
    from acsa.sync import transport

    try:
        data = transport.push(get_engine(STATE.db), to=party, url=url, ca=ca, since=since)
    except errors.AcsaError as e:
        fail(e, as_json)
    emit(data, as_json, lambda: out.print(
        f"pushed {data['events']} event(s) in {data['bundles']} bundle(s) to {data['to']} at "
        f"{data['url']}; it holds all our events up to "
        f"{data['last'].get('received_up_to', '?') if data['last'] else '?'}",
        highlight=False))


@app.command("pull")
def pull(party: str = typer.Argument(..., help="The partner to fetch events from."),
         url: str | None = Url, ca: str | None = Ca,
         since: int | None = typer.Option(None, "--since", help="Ask for its events after "
                                          "this seq (default: what we have not "
                                          "acknowledged)."),
         as_json: bool = JsonOpt) -> None:
    """Fetch a partner's events for us from its running node over HTTPS and apply them (then,
    as `acsa sync import` does, cache our reconciliation summary of our agreements with it)."""
    from acsa.sync import transport

    try:
        data = transport.pull(get_engine(STATE.db), frm=party, url=url, ca=ca, since=since)
    except errors.AcsaError as e:
        fail(e, as_json)
    data["reconcile_prepared"] = prepare_reconciliation(data["from"], data["applied"])

    def render() -> None:
        out.print(f"pulled {data['events']} event(s) in {data['bundles']} bundle(s) from "
                  f"{data['from']} at {data['url']}: {data['applied']} applied, "
                  f"{len(data['pending'])} waiting, {len(data['quarantined'])} refused",
                  highlight=False)
        for c in data["conflicts"]:
            out.print(f"  [yellow]conflict[/] on {c['subject']}: {c['rule']}", highlight=False)
        for q in data["quarantined"]:
            out.print(f"  [red]refused[/] {q['event']}: {q['error']}: {q['reason']}",
                      highlight=False)
        if data["reconcile_prepared"]:
            out.print(f"  reconciliation summary refreshed: "
                      f"{', '.join(data['reconcile_prepared'])}", highlight=False)
    emit(data, as_json, render)
    if data["quarantined"]:
        raise typer.Exit(errors.EXIT_CODES["integrity"])
