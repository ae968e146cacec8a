"""The books as the viewer's party may read them: balances, ageing, support totals with ceiling
use, and the export of its own book as a journal.

Every report is computed per agreement the viewer's party is a party to (an agreement of other
parties is 404), and keeps only rows the party is creditor or debtor (supplier or recipient)
of. The export is always the viewer's party's own book.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from typing import IO, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from acsa import money
from acsa.activities import service as activities
from acsa.agreements import service as agreements
from acsa.agreements.domain import Agreement
from acsa.api import deps
from acsa.api.routes.orders import today
from acsa.api.schemas import (
    PROBLEM_RESPONSES,
    AgeingBucketsOut,
    AgeingClaimOut,
    AgeingReport,
    BalanceOut,
    BalanceReport,
    CeilingUseOut,
    Identifier,
    NetOut,
    SupportReport,
    SupportTotalOut,
)
from acsa.ledger import domain as books
from acsa.ledger import export as exporter
from acsa.ledger import reports
from acsa.users.service import Viewer

router = APIRouter(prefix="/books", tags=["books"], responses=PROBLEM_RESPONSES)

CHUNK = 64 * 1024
MEDIA = {"ledger": "text/plain; charset=utf-8", "beancount": "text/plain; charset=utf-8",
         "csv": "text/csv; charset=utf-8"}
SUFFIX = {"ledger": "ledger", "beancount": "beancount", "csv": "csv"}


def _as_of() -> Any:
    return Query(None, description="As of this date (default: today).")


def _agreement_filter() -> Any:
    return Query(None, description="Only this agreement.")


def _agreements(s: Session, viewer: Viewer, code: str | None) -> list[Agreement]:
    """The agreements a report covers: the one asked for (if the viewer's party is a party to
    it), or all of the viewer's party's."""
    if code:
        return [agreements.get_for_party(s, code, viewer.party)]
    return [a for _, a in agreements.list_for_party(s, viewer.party)]


def _ageing_rows(s: Session, viewer: Viewer, covered: list[Agreement],
                 as_of: dt.date) -> list[reports.AgeingRow]:
    rows = [r for a in covered for r in reports.ageing(s, as_of=as_of, agreement=a.code)]
    rows = [r for r in rows if viewer.party in (r.creditor, r.debtor)]
    return sorted(rows, key=lambda r: (r.delivered_on, r.claim))


@router.get("/balance", response_model=BalanceReport)
def balance(request: Request, viewer: Viewer = deps.ViewerDep, as_of: dt.date | None = _as_of(),
            agreement: Identifier | None = _agreement_filter(),
            currency: str | None = Query(None, pattern=r"^[A-Za-z]{3}$",
                                         description="Also total everything owed in this "
                                         "reporting currency.")) -> BalanceReport:
    """What the viewer's party and each partner owe each other, in cash and in kind, from
    both parties' books (and whether the two books agree)."""
    date = as_of or today()

    def go(s: Session) -> BalanceReport:
        covered = _agreements(s, viewer, agreement)
        rows = [r for a in covered for r in reports.balances(s, as_of=date, agreement=a.code)
                if viewer.party in (r.creditor, r.debtor)]
        report = BalanceReport(as_of=date, balances=[
            BalanceOut(agreement=r.agreement, creditor=r.creditor, debtor=r.debtor,
                       method=r.method, commodity=r.commodity,
                       creditor_book=reports.amount_text(r.commodity, r.creditor_book),
                       debtor_book=reports.amount_text(r.commodity, r.debtor_book),
                       creditor_book_units=r.creditor_book, debtor_book_units=r.debtor_book,
                       books_agree=r.agrees) for r in rows])
        if currency:
            cur = money.check_currency(currency.upper())
            sums, used = reports.in_currency(s, {a.code: a for a in covered},
                                             _ageing_rows(s, viewer, covered, date), cur, date)
            report.reporting_currency = cur
            report.net = [NetOut(creditor=c, debtor=d, amount=str(money.Money(v, cur)),
                                 amount_minor=v, currency=cur)
                          for (c, d), v in sorted(sums.items())]
            report.rates_used = used
        return report
    return deps.run(request, go)


@router.get("/ageing", response_model=AgeingReport)
def ageing(request: Request, viewer: Viewer = deps.ViewerDep, as_of: dt.date | None = _as_of(),
           agreement: Identifier | None = _agreement_filter()) -> AgeingReport:
    """Open claims of the viewer's party (owed to it or by it), aged from delivery: 0-30,
    31-90, 91-180, 181-365 days, over 12 and over 18 months."""
    date = as_of or today()
    names = [b[0] for b in books.AGEING_BUCKETS]

    def go(s: Session) -> AgeingReport:
        rows = _ageing_rows(s, viewer, _agreements(s, viewer, agreement), date)
        sums: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for r in rows:
            sums[(r.creditor, r.debtor, r.currency)][r.bucket] += r.value_minor
        return AgeingReport(
            as_of=date, bucket_names=names,
            claims=[AgeingClaimOut(
                claim=r.claim, agreement=r.agreement, creditor=r.creditor, debtor=r.debtor,
                method=r.method, outstanding=reports.amount_text(r.commodity, r.outstanding),
                outstanding_units=r.outstanding, value=str(money.Money(r.value_minor, r.currency)),
                value_minor=r.value_minor, currency=r.currency, delivered_on=r.delivered_on,
                due_on=r.due_on, age_days=r.age_days, bucket=r.bucket, overdue=r.overdue)
                for r in rows],
            buckets=[AgeingBucketsOut(
                creditor=c, debtor=d, currency=cur,
                amounts={n: str(money.Money(v.get(n, 0), cur)) for n in names},
                amounts_minor={n: v.get(n, 0) for n in names})
                for (c, d, cur), v in sorted(sums.items())])
    return deps.run(request, go)


@router.get("/report", response_model=SupportReport)
def report(request: Request, viewer: Viewer = deps.ViewerDep, as_of: dt.date | None = _as_of(),
           agreement: Identifier | None = _agreement_filter(),
           fiscal_year: int | None = Query(None, ge=1900, le=2200,
                                           description="Ceiling use for this fiscal year "
                                           "(default: each party's current one).")
           ) -> SupportReport:
    """Support the viewer's party provided and received, by agreement, fiscal year, activity,
    category and supplies vs services, with each ceiling's use and headroom."""
    date = as_of or today()

    def go(s: Session) -> SupportReport:
        covered = _agreements(s, viewer, agreement)
        acts = {a.id: a.code for a in activities.list_activities_under(
            s, [a.code for a in covered])}
        totals = [SupportTotalOut(
            agreement=r.agreement, supplier=r.supplier, recipient=r.recipient,
            fiscal_year=r.fiscal_year, activity=acts.get(r.activity_id) if r.activity_id
            else None, category=r.category, kind=r.kind, commodity=r.commodity,
            amount=reports.amount_text(r.commodity, r.amount), amount_units=r.amount)
            for a in covered for r in reports.totals(s, agreement=a.code, as_of=date)
            if viewer.party in (r.supplier, r.recipient)]
        ceilings = [CeilingUseOut(
            agreement=c.agreement, party=c.party, fiscal_year=c.fiscal_year, part=c.part,
            currency=c.limit.currency, ceiling=str(c.limit), ceiling_minor=c.limit.minor,
            used=str(c.used), used_minor=c.used.minor, headroom=str(c.headroom),
            headroom_minor=c.headroom.minor, percent=c.percent)
            for c in reports.ceiling_lines(s, covered, as_of=date, fiscal_year=fiscal_year)]
        return SupportReport(as_of=date, totals=totals, ceilings=ceilings)
    return deps.run(request, go)


def _chunks(spool: IO[str]) -> Iterator[str]:
    try:
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()


@router.get("/export", response_class=StreamingResponse, responses={200: {
    "description": "The viewer's party's book as a journal.",
    "content": {"text/plain": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}}}}})
def export(request: Request, viewer: Viewer = deps.ViewerDep,
           fmt: Literal["ledger", "hledger", "beancount", "csv"] = Query(
               "ledger", alias="format", description="ledger (also read by hledger), "
               "beancount or csv"),
           agreement: Identifier | None = _agreement_filter(),
           as_of: dt.date | None = Query(None, description="Only entries posted on or before "
                                         "this date (default: all).")) -> StreamingResponse:
    """Export the viewer's party's own book as a ledger-cli/hledger or beancount journal, or
    CSV, streamed. The journal is written in one transaction, then sent in chunks."""
    kind: exporter.Format = "ledger" if fmt == "hledger" else fmt
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+",
                                          encoding="utf-8", newline="")

    def go(s: Session) -> None:
        code = agreements.get_for_party(s, agreement, viewer.party).code if agreement else None
        exporter.write_journal(s, spool, fmt=kind, book=viewer.party, agreement=code,
                               as_of=as_of)
    try:
        deps.run(request, go)
    except BaseException:
        spool.close()
        raise
    name = f"acsa-{viewer.party}-book.{SUFFIX[kind]}"
    return StreamingResponse(_chunks(spool), media_type=MEDIA[kind],
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})
