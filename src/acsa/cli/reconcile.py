"""`acsa reconcile --with PARTY`: compare our book with a partner's.

    acsa reconcile --with JP [--agreement PHJP] [--as-of 2026-12-31]         # over HTTPS
    acsa reconcile --with JP --from jp-summary.json [--csv FILE] [--pdf FILE] # from a file
    acsa reconcile --export-summary ph-summary.json --for JP [--as-of ...]    # the file, signed
    acsa reconcile --prepare --with JP [--agreement PHJP] [--as-of ...]       # cache ours only

Roots first: equal roots confirm the books without any record being compared or shipped; only
the months whose roots differ are compared order by order and claim by claim. Exit 0 when the
books agree, 8 (integrity) when they differ.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.orm import Session

from acsa import errors
from acsa.agreements import service as agreements
from acsa.cli.common import STATE, JsonOpt, emit, err, fail, out, parse_date, run, table
from acsa.db.engine import get_engine
from acsa.sync import node
from acsa.sync import reconcile as rc

PATH = "/api/v1/sync/summary"


def _agreement(session: Session, ours: str, partner: str, code: str | None) -> str:
    """The agreement between the two parties: the one given, or the only one there is."""
    pair = {ours, partner}
    found = [a.code for _, a in agreements.list_agreements(session) if set(a.parties) == pair]
    if code:
        code = code.upper()
        if code not in found:
            raise errors.InvalidInput(f"{code} is not an agreement between {ours} and "
                                      f"{partner}", field="agreement",
                                      hint=f"Agreements between them: {', '.join(found) or '-'}")
        return code
    if len(found) != 1:
        raise errors.InvalidInput(
            f"{'no agreement' if not found else 'several agreements'} between {ours} and "
            f"{partner}{': ' + ', '.join(found) if found else ''}", field="agreement",
            hint="Name one with --agreement CODE.")
    return found[0]


def _months(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [rc.check_key(m.strip()) for m in value.split(",") if m.strip()]


def _setup(s: Session, partner: str, code: str | None) -> tuple[str, str, str]:
    rc.repeatable_read(s)
    ours = node.require_party(s)
    partner = partner.upper()
    if partner == ours:
        raise errors.InvalidInput(f"{partner} is this node's own party", field="with")
    return ours, partner, _agreement(s, ours, partner, code)


def _http_fetch(ours: str, partner: str, agreement: str, as_of: str, url: str | None,
                ca: str | None, as_json: bool) -> rc.Fetch:
    """The partner's signed summary from its node, each request signed with our node key."""
    import httpx

    from acsa.sync import keys, transport

    base = run(lambda s: transport.partner_url(s, partner, url), as_json=as_json,
               buffered=False)
    lock = threading.Lock()

    def fetch(months: list[str] | None) -> dict[str, Any]:
        query = {"agreement": agreement, "as_of": as_of}
        if months is not None:
            query["months"] = ",".join(months)
        path = f"{PATH}?{urllib.parse.urlencode(query, safe=',')}"
        with lock:
            signer = run(lambda s: keys.node_signer(s), as_json=as_json, buffered=False)
        headers = keys.sign_request(signer, "GET", path, b"")
        try:
            with httpx.Client(verify=ca if ca else True, timeout=600.0) as client:
                r = client.get(base + path, headers=headers)
        except httpx.HTTPError as e:
            fail(errors.AcsaError(f"cannot reach {partner}'s node at {base}: {e}",
                                  hint="Check the address and the network, or reconcile from "
                                  "a file the partner exported (--from FILE)."), as_json)
        if r.status_code != 200:
            fail(transport._refusal(r, "summary request"), as_json)
        doc = rc.loads(r.content)
        with lock:
            return run(lambda s: rc.verify(s, doc, party=partner, agreement=agreement,
                                           to=ours), as_json=as_json, buffered=False)
    return fetch


def _file_fetch(path: Path, ours: str, partner: str, agreement: str, as_json: bool
                ) -> rc.Fetch:
    try:
        raw = path.read_bytes()
    except OSError as e:
        fail(errors.InvalidInput(f"cannot read {path}: {e.strerror}", field="from"), as_json)
    doc = run(lambda s: rc.verify(s, rc.loads(raw), party=partner, agreement=agreement,
                                  to=ours), as_json=as_json, buffered=False)
    return lambda months: doc


def render(report: rc.Report) -> None:
    verdict = "[bold green]the books agree[/]" if report.agrees else \
        f"[bold red]the books differ[/]: {len(report.differences)} difference(s)"
    out.print(f"Reconciliation of {report.agreement} as of {report.as_of}: our book "
              f"({report.ours}) against {report.theirs}'s: {verdict}", highlight=False)
    out.print(f"  roots: ours {report.our_root[:16]}..., theirs {report.their_root[:16]}..."
              f"{' (equal: no record compared)' if report.our_root == report.their_root else ''}",
              highlight=False)
    out.print(f"  months {report.months}, differing {len(report.months_differing)}"
              f"{': ' + ', '.join(report.months_differing) if report.months_differing else ''}",
              highlight=False)
    out.print(f"  orders matched {report.matched_orders:,} of {report.orders:,}; claims matched "
              f"{report.matched_claims:,} of {report.claims:,}", highlight=False)
    for note in report.notes:
        out.print(f"  note: {note}", highlight=False)
    if report.unresolved:
        out.print(f"  [yellow]unresolved months (no leaves from the partner)[/]: "
                  f"{', '.join(report.unresolved)}: ask the partner for "
                  f"`acsa reconcile --export-summary FILE --for {report.ours} --months "
                  f"{','.join(report.unresolved)}`", highlight=False)
    if report.differences:
        table("Differences", ["month", "subject", "number", "difference", "field", "our book",
                              "their book"],
              [[d.month, d.subject, d.number, rc.KIND_TEXT[d.kind], d.field, d.ours, d.theirs]
               for d in report.differences])


def reconcile(
    with_: str = typer.Option(..., "--with", "--for", metavar="PARTY",
                              help="The partner party whose book to compare with ours (with "
                              "--export-summary: the party the summary is for)."),
    agreement: str | None = typer.Option(None, "--agreement", help="The agreement (default: "
                                         "the only one between the two parties)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Compare the books as of this date "
                                     "(YYYY-MM-DD; default: today, or the file's date)."),
    from_file: Path | None = typer.Option(None, "--from", help="The partner's signed summary "
                                          "file (its `acsa reconcile --export-summary`) instead "
                                          "of asking its node over HTTPS."),
    csv_file: Path | None = typer.Option(None, "--csv", help="Also write the report as CSV."),
    pdf_file: Path | None = typer.Option(None, "--pdf", help="Also write the report as PDF."),
    export: Path | None = typer.Option(None, "--export-summary", metavar="FILE",
                                       help="Write our signed summary for the partner (--for) "
                                       "to FILE instead of comparing: roots and the leaves of "
                                       "every month (or of --months)."),
    months: str | None = typer.Option(None, "--months", help="With --export-summary: only "
                                      "these months' leaves (YYYY-MM,YYYY-MM)."),
    roots_only: bool = typer.Option(False, "--roots-only", help="With --export-summary: the "
                                    "roots alone (enough to confirm equal books)."),
    url: str | None = typer.Option(None, "--url", help="The partner node's base URL (default: "
                                   "the one registered with its key)."),
    ca: str | None = typer.Option(None, "--ca", help="A CA certificate (PEM) for the partner's "
                                  "HTTPS certificate."),
    prepare: bool = typer.Option(False, "--prepare", help="Compare nothing: compute and cache "
                                 "our summary of the agreement(s) with the partner as of the "
                                 "date, so the next reconciliation starts warm (done anyway "
                                 "after each sync import or pull from it)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Recompute our summary from every "
                                  "order, claim and ledger line, ignoring (and not writing) "
                                  "the cached bucket digests."),
    as_json: bool = JsonOpt,
) -> None:
    """Compare our book with a partner's for an agreement as of a date: per order and per
    claim, matched, amount or quantity different, state different, only in our book, only in
    theirs.

    A hash summary (a root per month of order dates, and a root of the roots) is compared
    first, so equal books are confirmed without any record being shipped; only the months
    whose roots differ are compared leaf by leaf. The partner's summary comes from its node
    over HTTPS (the URL registered with its key, each request signed with our node key), or
    from a file it exported with `acsa reconcile --export-summary FILE --for OUR-PARTY`; either
    way its signature is checked and a changed byte is refused. Exit 0 when the books agree,
    8 when they differ."""
    partner = with_.upper()
    if prepare:
        given = [name for name, value in (
            ("--from", from_file), ("--csv", csv_file), ("--pdf", pdf_file),
            ("--export-summary", export), ("--months", months), ("--roots-only", roots_only),
            ("--no-cache", no_cache), ("--url", url), ("--ca", ca)) if value]
        if given:
            fail(errors.InvalidInput(f"--prepare compares nothing: {', '.join(given)} does "
                                     "not go with it", field="prepare"), as_json)
        _prepare(partner, agreement, as_of, as_json)
        return
    if export is not None:
        _export(export, partner, agreement, as_of, _months(months), roots_only, as_json)
        return
    if months or roots_only:
        fail(errors.InvalidInput("--months and --roots-only go with --export-summary",
                                 field="months"), as_json)
    ours, partner, code = run(lambda s: _setup(s, partner, agreement), as_json=as_json,
                              buffered=False)
    if from_file is not None:
        theirs = _file_fetch(from_file, ours, partner, code, as_json)
        file_day = str(theirs(None)["as_of"])
        day = parse_date(as_of, "as-of").isoformat() if as_of else file_day
        if day != file_day:
            fail(errors.InvalidInput(f"the partner's summary is as of {file_day}, not {day}",
                                     field="as-of", hint=f"Run with --as-of {file_day}, or "
                                     "ask the partner for a summary as of your date."), as_json)
    else:
        day = parse_date(as_of, "as-of").isoformat()
        theirs = _http_fetch(ours, partner, code, day, url, ca, as_json)
    on = parse_date(day, "as-of")

    def ours_fetch(wanted: list[str] | None) -> dict[str, Any]:
        def go(s: Session) -> dict[str, Any]:
            rc.repeatable_read(s)
            return rc.summary(s, agreement=code, as_of=on, party_pair=(ours, partner),
                              months=wanted, use_cache=not no_cache)
        return run(go, as_json=as_json, buffered=False)

    report = rc.reconcile(ours_fetch, theirs, parallel=from_file is None)
    if csv_file is not None:
        csv_file.write_text(rc.report_csv(report), encoding="utf-8")
    if pdf_file is not None:
        pdf_file.write_bytes(rc.report_pdf(report))
    emit(report.to_dict(), as_json, lambda: render(report))
    if not as_json:
        for path in (csv_file, pdf_file):
            if path is not None:
                out.print(f"  wrote {path}", highlight=False)
    if not report.agrees:
        raise typer.Exit(errors.EXIT_CODES["integrity"])


def _prepare(partner: str, agreement: str | None, as_of: str | None, as_json: bool) -> None:
    import time

    on = parse_date(as_of, "as-of")

    def check(s: Session) -> str | None:
        ours = node.require_party(s)
        if partner == ours:
            raise errors.InvalidInput(f"{partner} is this node's own party", field="with")
        if agreement:
            return _agreement(s, ours, partner, agreement)
        if not any(set(a.parties) == {ours, partner}
                   for _, a in agreements.list_agreements(s)):
            raise errors.InvalidInput(f"no agreement between {ours} and {partner}",
                                      field="with")
        return None
    code = run(check, as_json=as_json)
    start = time.perf_counter()
    try:
        done = rc.prepare(get_engine(STATE.db), partner=partner, as_of=on, agreement=code)
    except errors.AcsaError as e:
        fail(e, as_json)
    except Exception as e:  # noqa: BLE001 (a database error from the raw cursor)
        fail(errors.AcsaError(f"the summary could not be computed: {e}"), as_json)
    data = {"with": partner, "as_of": on.isoformat(), "prepared": done,
            "seconds": round(time.perf_counter() - start, 3)}
    emit(data, as_json, lambda: out.print(
        f"our summary as of {data['as_of']} cached for {', '.join(done) or 'no agreement'} "
        f"(with {partner}, {data['seconds']} s)", highlight=False))


def _export(path: Path, partner: str, agreement: str | None, as_of: str | None,
            months: list[str] | None, roots_only: bool, as_json: bool) -> None:
    on = parse_date(as_of, "as-of")

    def go(s: Session) -> dict[str, Any]:
        ours, other, code = _setup(s, partner, agreement)
        doc = rc.export_summary(s, agreement=code, as_of=on, party_pair=(ours, other),
                                months=months, roots_only=roots_only)
        return rc.sign(s, {**doc, "to": other})
    doc = run(go, as_json=as_json, buffered=False)
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")),
                    encoding="utf-8")
    data = {"file": str(path), "agreement": doc["agreement"], "as_of": doc["as_of"],
            "for": partner, "root": doc["root"], "months": len(doc["months"]),
            "months_with_leaves": len(doc.get("leaves") or {}), "key": doc["key"]}

    def show() -> None:
        out.print(f"wrote {path}: {doc['party']}'s summary of {doc['agreement']} as of "
                  f"{doc['as_of']} for {partner}, {data['months']} month(s), leaves of "
                  f"{data['months_with_leaves']}, signed with key {doc['key'][:16]}...",
                  highlight=False)
        out.print(f"  root {doc['root']}", highlight=False)
        err.print(f"The partner runs: acsa reconcile --with {doc['party']} --from "
                  f"{path.name}", highlight=False)
    emit(data, as_json, show)
