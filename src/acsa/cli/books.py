"""`acsa books ...`: balances, ageing, totals and ceilings, and journal exports."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import typer
from sqlalchemy.orm import Session

from acsa import money
from acsa.agreements import service as agreements
from acsa.cli.common import JsonOpt, emit, out, parse_date, run, table
from acsa.ledger import domain as books

# The ledger reports and the activity service are imported inside the commands: every `acsa`
# command loads this module to list its commands.

app = typer.Typer(help="The two parties' books: who owes whom, ageing, totals, ceilings, "
                  "exports.", no_args_is_help=True)

AsOf = typer.Option(None, "--as-of", help="As of this date, YYYY-MM-DD (default: today).")
Agreement = typer.Option(None, "--agreement", help="Only this agreement.")


def balance_data(s: Session, as_of_text: str | None, agreement: str | None,
                 currency: str | None) -> dict[str, object]:
    from acsa.ledger import reports

    as_of = parse_date(as_of_text, "as_of")
    if currency:  # both reports, side by side where the database allows (see the function)
        currency = money.check_currency(currency.upper())
        rows, aged = reports.balances_and_ageing(s, as_of=as_of, agreement=agreement)
    else:
        rows, aged = reports.balances(s, as_of=as_of, agreement=agreement), []
    data: dict[str, object] = {
        "as_of": as_of.isoformat(),
        "balances": [{"agreement": r.agreement, "creditor": r.creditor, "debtor": r.debtor,
                      "method": r.method, "commodity": r.commodity,
                      "creditor_book": reports.amount_text(r.commodity, r.creditor_book),
                      "debtor_book": reports.amount_text(r.commodity, r.debtor_book),
                      "creditor_book_units": r.creditor_book, "debtor_book_units": r.debtor_book,
                      "books_agree": r.agrees} for r in rows]}
    if currency:
        defs = {a.code: a for _, a in agreements.list_agreements(s)}
        sums, used = reports.in_currency(s, defs, aged, currency, as_of)
        data["reporting_currency"] = currency
        data["net"] = [{"creditor": c, "debtor": d, "amount": str(money.Money(v, currency))}
                       for (c, d), v in sorted(sums.items())]
        data["rates_used"] = used
    return data


@app.command("balance")
def balance(as_of: str | None = AsOf, agreement: str | None = Agreement,
            currency: str | None = typer.Option(None, help="Also total everything owed in "
                                                "this reporting currency."),
            as_json: bool = JsonOpt) -> None:
    """What each party owes the other, in cash and in kind, from both parties' books."""
    def go(s: Session) -> None:
        data = balance_data(s, as_of, agreement, currency)
        emit(data, as_json, lambda: render_balance(data))
    run(go, as_json=as_json, read_only=True)


def render_balance(data: dict[str, object]) -> None:
    rows = data["balances"]
    assert isinstance(rows, list)
    table(f"Statement of balances as of {data['as_of']}",
          ["agreement", "owed to", "owed by", "method", "creditor's book", "debtor's book",
           "books"],
          [[r["agreement"], r["creditor"], r["debtor"], r["method"], r["creditor_book"],
            r["debtor_book"], "agree" if r["books_agree"] else "[red]DIFFER[/]"]
           for r in rows])
    if not rows:
        out.print("nothing is owed")
    for n in data.get("net", []):  # type: ignore[attr-defined]
        out.print(f"  {n['debtor']} owes {n['creditor']} {n['amount']} in all "
                  f"(in {data['reporting_currency']})")
    for r in data.get("rates_used", []):  # type: ignore[attr-defined]
        out.print(f"  rate used: {r}")


@app.command("ageing")
def ageing(as_of: str | None = AsOf, agreement: str | None = Agreement,
           as_json: bool = JsonOpt) -> None:
    """Open claims aged from delivery: 0-30, 31-90, 91-180, 181-365 days, over 12 and 18
    months."""
    from acsa.ledger import reports

    def go(s: Session) -> None:
        date = parse_date(as_of, "as_of")
        rows = reports.ageing(s, as_of=date, agreement=agreement)
        buckets: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for r in rows:
            buckets[(r.creditor, r.debtor, r.currency)][r.bucket] += r.value_minor
        names = [b[0] for b in books.AGEING_BUCKETS]
        data = {"as_of": date.isoformat(),
                "claims": [{"claim": r.claim, "agreement": r.agreement, "creditor": r.creditor,
                            "debtor": r.debtor, "method": r.method,
                            "outstanding": reports.amount_text(r.commodity, r.outstanding),
                            "value": str(money.Money(r.value_minor, r.currency)),
                            "delivered_on": r.delivered_on.isoformat(),
                            "due_on": r.due_on.isoformat(), "age_days": r.age_days,
                            "bucket": r.bucket, "overdue": r.overdue} for r in rows],
                "buckets": [{"creditor": c, "debtor": d, "currency": cur,
                             **{n: str(money.Money(v.get(n, 0), cur)) for n in names}}
                            for (c, d, cur), v in sorted(buckets.items())]}

        def render() -> None:
            table(f"Ageing of open claims as of {data['as_of']}",
                  ["owed to", "owed by", *names],
                  [[b["creditor"], b["debtor"], *[b[n] for n in names]]
                   for b in data["buckets"]])
            table(None, ["claim", "method", "owed by", "outstanding", "delivered", "due", "age"],
                  [[c["claim"], c["method"], c["debtor"], c["outstanding"], c["delivered_on"],
                    c["due_on"] + (" OVERDUE" if c["overdue"] else ""), c["bucket"]]
                   for c in data["claims"]])
        emit(data, as_json, render)
    run(go, as_json=as_json)


@app.command("report")
def report(as_of: str | None = AsOf, agreement: str | None = Agreement,
           fiscal_year: int | None = typer.Option(None, help="Ceiling use for this FY "
                                                  "(default: the current one)."),
           as_json: bool = JsonOpt) -> None:
    """Support provided by activity, category, fiscal year and supplies vs services, with
    ceiling use and headroom."""
    from acsa.activities import service as activities
    from acsa.ledger import reports

    def go(s: Session) -> None:
        date = parse_date(as_of, "as_of")
        acts = {a.id: a.code for a in activities.list_activities(s)}
        rows = reports.totals(s, agreement=agreement, as_of=date)
        data: dict[str, object] = {"as_of": date.isoformat(), "totals": [
            {"agreement": r.agreement, "supplier": r.supplier, "recipient": r.recipient,
             "fiscal_year": r.fiscal_year, "activity": acts.get(r.activity_id),
             "category": r.category, "kind": r.kind,
             "amount": reports.amount_text(r.commodity, r.amount)}
            for r in rows]}
        chosen = [a for _, a in agreements.list_agreements(s)
                  if not agreement or a.code == agreement.upper()]
        ceilings = [{"agreement": c.agreement, "party": c.party, "fiscal_year": c.fiscal_year,
                     "part": c.part, "ceiling": str(c.limit), "used": str(c.used),
                     "headroom": str(c.headroom), "percent": c.percent}
                    for c in reports.ceiling_lines(s, chosen, as_of=date,
                                                   fiscal_year=fiscal_year)]
        data["ceilings"] = ceilings

        def render() -> None:
            totals = data["totals"]
            assert isinstance(totals, list)
            table(f"Support provided as of {data['as_of']}",
                  ["agreement", "supplier", "to", "FY", "activity", "category", "kind",
                   "amount"],
                  [[t["agreement"], t["supplier"], t["recipient"], t["fiscal_year"],
                    t["activity"], t["category"], t["kind"], t["amount"]] for t in totals])
            if ceilings:
                table("Ceilings", ["agreement", "party", "FY", "part", "ceiling", "used",
                                   "headroom", "use"],
                      [[c["agreement"], c["party"], c["fiscal_year"], c["part"], c["ceiling"],
                        c["used"], c["headroom"], c["percent"]] for c in ceilings])
        emit(data, as_json, render)
    run(go, as_json=as_json)


@app.command("export")
def export(fmt: str = typer.Option("ledger", "--format",
                                   help="ledger (also read by hledger), hledger, beancount, csv"),
           output: Path | None = typer.Option(None, "-o", "--output", help="File (default: "
                                              "standard output)."),
           book: str | None = typer.Option(None, help="Only this party's book."),
           agreement: str | None = Agreement, as_of: str | None = AsOf) -> None:
    """Export the books as a ledger/hledger or beancount journal, or CSV."""
    from acsa.ledger import export as exporter

    kind = {"hledger": "ledger"}.get(fmt, fmt)
    if kind not in ("ledger", "beancount", "csv"):
        raise typer.BadParameter("use ledger, hledger, beancount or csv", param_hint="--format")

    def go(s: Session) -> None:
        date = parse_date(as_of, "as_of") if as_of else None
        if output:
            with output.open("w", encoding="utf-8", newline="") as fh:
                n = exporter.write_journal(s, fh, fmt=kind, book=book and book.upper(),  # type: ignore[arg-type]
                                           agreement=agreement and agreement.upper(), as_of=date)
            out.print(f"wrote {n} postings to {output}", highlight=False)
        else:
            exporter.write_journal(s, sys.stdout, fmt=kind, book=book and book.upper(),  # type: ignore[arg-type]
                                   agreement=agreement and agreement.upper(), as_of=date)
    run(go, buffered=output is not None)
