"""`acsa docs statement|ageing|activity|annual`: statements and reports as PDF or xlsx files.

Each command reads the books in one unit of work, builds the whole document in memory and
only then writes it, atomically (a temporary file beside the target, renamed into place), so
a refusal or a failure leaves no file. The format is `--format`, or the suffix of `-o`;
captions are English (`--lang en`, the default) or English with Japanese or Filipino. A bad
option exits 3 naming it; an unknown agreement or activity exits 5.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from sqlalchemy.orm import Session

from acsa import errors
from acsa.cli.common import JsonOpt, fail, out, run
from acsa.cli.docs import app

if TYPE_CHECKING:
    from acsa.documents import reports

# `acsa.documents.reports` (and what reads the books for it) is imported inside the commands:
# every `acsa` command loads this module to list its commands.

Output = typer.Option(..., "-o", "--output", help="The file to write (.pdf or .xlsx).")
FormatOpt = typer.Option(None, "--format", help="pdf or xlsx (default: from the -o suffix).")
LangOpt = typer.Option("en", "--lang", help="en (English), or English with ja (Japanese) or "
                       "fil (Filipino).")
AsOf = typer.Option(None, "--as-of", help="As of this date, YYYY-MM-DD (default: today).")


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise errors.InvalidInput(f"{option}: {value!r} is not a date", field=option[2:],
                                  hint="Write dates as YYYY-MM-DD.") from None


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _write(output: Path, fmt: str | None, lang: str, as_json: bool,
           build: Callable[[Session, reports.Format], bytes]) -> None:
    """Check the options, build the document in one unit of work, then write it."""
    from acsa.documents import reports

    try:
        chosen = reports.format_for(output, fmt)
        reports.check_lang(lang)
    except errors.AcsaError as e:
        fail(e, as_json)
    content = run(lambda s: build(s, chosen), as_json=as_json)
    try:
        written = reports.write_atomically(output, content)
    except errors.AcsaError as e:
        fail(e, as_json)
    if as_json:
        print(json.dumps(written))
    else:
        out.print(f"wrote {written['file']} ({written['bytes']:,} bytes, sha256 "
                  f"{written['sha256']})", highlight=False)


@app.command("statement")
def statement(party: str = typer.Option(..., "--party", help="Whose book: the party the "
                                        "statement is from."),
              agreement: str = typer.Option(..., "--agreement", help="The agreement."),
              partner: str | None = typer.Option(None, "--partner", help="The other party "
                                                 "(default: the agreement's other party)."),
              as_of: str | None = AsOf,
              from_on: str | None = typer.Option(None, "--from", help="Opening balance on "
                                                 "this date (default: start of the party's "
                                                 "fiscal year, or its first movement)."),
              currency: str | None = typer.Option(None, "--currency", help="Reporting "
                                                  "currency (default: the party's own; given, "
                                                  "a missing rate is refused)."),
              fmt: str | None = FormatOpt, lang: str = LangOpt, output: Path = Output,
              as_json: bool = JsonOpt) -> None:
    """Statement of account of one party's book against its partner: opening balance, each
    movement with its running balance, closing balance, and the balances in a reporting
    currency with the rates used."""
    from acsa.documents import reports

    def build(s: Session, chosen: reports.Format) -> bytes:
        return reports.statement_document(
            s, party=party, agreement=agreement, partner=partner,
            as_of=_date(as_of, "--as-of") or _today(), from_on=_date(from_on, "--from"),
            currency=currency, fmt=chosen, lang=lang)
    _write(output, fmt, lang, as_json, build)


@app.command("ageing")
def ageing(as_of: str | None = AsOf,
           agreement: str | None = typer.Option(None, "--agreement", help="Only this "
                                                "agreement."),
           party: str | None = typer.Option(None, "--party", help="Only claims owed to or by "
                                            "this party."),
           fmt: str | None = FormatOpt, lang: str = LangOpt, output: Path = Output,
           as_json: bool = JsonOpt) -> None:
    """Ageing of open claims with each claim's 12-month (settlement deadline) and 18-month
    (US offset) marks, and totals per age bucket."""
    from acsa.documents import reports

    def build(s: Session, chosen: reports.Format) -> bytes:
        return reports.ageing_document(s, as_of=_date(as_of, "--as-of") or _today(),
                                       agreement=agreement, party=party, fmt=chosen, lang=lang)
    _write(output, fmt, lang, as_json, build)


@app.command("activity")
def activity(code: str = typer.Argument(..., help="The activity's code."),
             fmt: str | None = FormatOpt, lang: str = LangOpt, output: Path = Output,
             as_json: bool = JsonOpt) -> None:
    """Register of an activity: every order with its state and value, totals by category and
    supplies vs services."""
    from acsa.documents import reports

    def build(s: Session, chosen: reports.Format) -> bytes:
        return reports.activity_document(s, code, fmt=chosen, lang=lang)
    _write(output, fmt, lang, as_json, build)


@app.command("annual")
def annual(fy: int = typer.Option(..., "--fy", help="The fiscal year, as the party names it."),
           party: str = typer.Option(..., "--party", help="Whose fiscal year and support."),
           agreement: str | None = typer.Option(None, "--agreement", help="Only this "
                                                "agreement (default: all of the party's)."),
           fmt: str | None = FormatOpt, lang: str = LangOpt, output: Path = Output,
           as_json: bool = JsonOpt) -> None:
    """Annual report of a party's fiscal year: support provided and received by partner,
    category, activity and supplies vs services, with ceiling use."""
    from acsa.documents import reports

    def build(s: Session, chosen: reports.Format) -> bytes:
        return reports.annual_document(s, party=party, fiscal_year=fy, agreement=agreement,
                                       fmt=chosen, lang=lang)
    _write(output, fmt, lang, as_json, build)
