"""Posting entries to the books, in the caller's transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from acsa.agreements.domain import Agreement
from acsa.db.base import utcnow
from acsa.ledger.domain import Posting, check_balanced, reversal
from acsa.ledger.models import Entry, LedgerLine


def post(session: Session, *, agreement: Agreement, kind: str, posted_on: dt.date,
         postings: list[Posting], memo: str, order_id: int | None = None,
         claim_id: int | None = None, activity_id: int | None = None,
         category: str | None = None, line_kind: str | None = None,
         reverses_id: int | None = None) -> Entry:
    check_balanced(postings)
    entry = Entry(agreement_code=agreement.code, kind=kind, posted_on=posted_on,
                  order_id=order_id, claim_id=claim_id, memo=memo[:300], created_at=utcnow(),
                  reverses_id=reverses_id)
    session.add(entry)
    session.flush()
    fy = {p: agreement.fiscal_year(p, posted_on) for p in agreement.parties}
    # one multi-row INSERT: lines are never changed, so they need no tracked objects
    session.execute(insert(LedgerLine), [
        {"entry_id": entry.id, "book": p.book, "account": p.account,
         "counterparty": p.counterparty, "commodity": p.commodity, "amount": p.amount,
         "posted_on": posted_on, "fiscal_year": fy[p.book], "agreement_code": agreement.code,
         "claim_id": p.claim_id if p.claim_id is not None else claim_id,
         "activity_id": activity_id, "category": p.category or category,
         "kind": p.kind or line_kind}
        for p in postings])
    return entry


def reverse(session: Session, *, agreement: Agreement, entry: Entry, posted_on: dt.date,
            memo: str) -> Entry:
    """A correction: the same postings with opposite signs, pointing at what it reverses."""
    lines = list(session.scalars(select(LedgerLine).where(LedgerLine.entry_id == entry.id)
                                 .order_by(LedgerLine.id)))
    postings = [Posting(x.book, x.account, x.counterparty, x.commodity, x.amount, x.claim_id,
                        x.category, x.kind) for x in lines]
    first = lines[0] if lines else None
    return post(session, agreement=agreement, kind="reversal", posted_on=posted_on,
                postings=reversal(postings), memo=memo, order_id=entry.order_id,
                claim_id=entry.claim_id, reverses_id=entry.id,
                activity_id=first.activity_id if first else None,
                category=first.category if first else None,
                line_kind=first.kind if first else None)
