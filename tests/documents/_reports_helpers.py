"""Helpers of the report tests: the service-level test world with a history of claims and
settlements of every kind under PH-JP, reading PDFs and workbooks back, and a fast builder
of a long statement (ledger rows inserted directly, shaped as the services post them).

The fixtures here are imported by the test modules (tests/documents has no conftest of its
own): `books` is `engine` holding the world of tests/factories.py and the history below.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook import Workbook
from pypdf import PdfReader
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from acsa.agreements import service as agreements
from acsa.db.engine import unit_of_work
from acsa.ledger import domain as books_domain
from acsa.ledger import reports
from acsa.ledger.models import Entry, LedgerLine
from acsa.money import Money
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from tests.factories import D, airlift_line, fuel_line, order_to, setup_world

AS_OF = D(2027, 9, 30)


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-"), content[:20]
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def workbook(content: bytes) -> Workbook:
    assert content[:2] == b"PK", content[:20]
    return load_workbook(io.BytesIO(content))


def minor_of(value: object, currency: str) -> int:
    """A number read from a cell, in minor units (exactly: no float rounding)."""
    assert isinstance(value, int | float | Decimal) and not isinstance(value, bool), value
    places = 0 if currency == "JPY" else 2
    return int(Decimal(str(value)).scaleb(places))


def money_text(commodity: str, units: int) -> str:
    """How the PDF writes an amount: 'PHP 1,234.50'."""
    from acsa.documents.reports_data import amount_text
    return amount_text(commodity, units)


def history(s: Session) -> dict[str, str]:
    """Under PH-JP: JP orders from PH (a cash bill part-paid then paid, an in-kind fuel
    obligation partly returned, an airlift settled by equal-value exchange, one converted to
    cash after its deadline), and PH orders from JP (a JPY bill, offset against JP's)."""
    made: dict[str, str] = {}

    def claims_of(number: str) -> list[str]:
        return [c.number for c in settlement.claims_of(s, orders.get_order(s, number))]

    cash = order_to(s, "received", on=D(2026, 5, 10), lines=[fuel_line()]).number
    made["cash"] = claims_of(cash)[0]
    settlement.pay(s, claim_ref=made["cash"], by="jp-finance", on=D(2026, 6, 1),
                   amount=Money.of("400000", "PHP"))
    rik = order_to(s, "received", on=D(2026, 5, 20), lines=[fuel_line("rik", qty="5000")]
                   ).number
    made["rik"] = claims_of(rik)[0]
    settlement.return_in_kind(s, claim_ref=made["rik"], by="jp-supplying", on=D(2026, 7, 1),
                              quantity=Decimal(2000), unit="L", stock_number="9140-00-273-2377")
    eve = order_to(s, "received", on=D(2026, 6, 5), lines=[airlift_line("eve")]).number
    made["eve"] = claims_of(eve)[0]
    settlement.exchange(s, claim_ref=made["eve"], by="jp-supplying", on=D(2026, 7, 10),
                        value=Money.of("250000", "PHP"), category="transportation",
                        description="1 h C-130 airlift")
    late = order_to(s, "received", on=D(2026, 8, 3), activity="HADR-CEBU",
                    lines=[airlift_line("eve", price="100000")]).number
    made["late"] = claims_of(late)[0]
    jpy = order_to(s, "received", requester="PH", on=D(2026, 9, 1),
                   lines=[fuel_line(currency="JPY", price="300", qty="2000")]).number
    made["jpy"] = claims_of(jpy)[0]
    settlement.propose_offset(s, agreement_code="PHJP", by="jp-finance", on=D(2026, 10, 1))
    settlement.approve_offset(s, number="PHJP-OFS-0001", by="ph-finance", on=D(2026, 10, 1))
    settlement.run_deadlines(s, as_of=D(2027, 9, 1))  # converts the overdue exchange
    made["orders"] = ",".join([cash, rik, eve, late, jpy])
    return made


@pytest.fixture
def books(engine: Engine, _acsa_home: Path) -> tuple[Engine, dict[str, str]]:
    with unit_of_work(engine) as s:
        setup_world(s, _acsa_home)
    with unit_of_work(engine) as s:
        made = history(s)
    return engine, made


def party_book(s: Session, *, party: str, partner: str, agreement: str, as_of: dt.date
               ) -> dict[str, int]:
    """What `reports.balances` says `party`'s own book holds against `partner`, per
    commodity: receivables less payables."""
    out: dict[str, int] = {}
    for r in reports.balances(s, as_of=as_of, agreement=agreement):
        if (r.creditor, r.debtor) == (party, partner):
            out[r.commodity] = out.get(r.commodity, 0) + r.creditor_book
        elif (r.creditor, r.debtor) == (partner, party):
            out[r.commodity] = out.get(r.commodity, 0) - r.debtor_book
    return {k: v for k, v in out.items() if v}


def add_movements(engine: Engine, n: int, *, start: dt.date = D(2026, 4, 1)) -> None:
    """`n` claims of PHP 100.00 raised by PH on JP and paid the same day (2n movements in
    each party's statement), inserted directly as ledger entries and lines shaped as the
    services post them; each entry balances per book and commodity."""
    with unit_of_work(engine) as s:
        a = agreements.get(s, "PHJP")
        next_entry = (s.scalar(select(func.max(Entry.id))) or 0) + 1
        entries, lines = [], []
        now = dt.datetime.now(dt.UTC)
        for i in range(n):
            on = start + dt.timedelta(days=i % 300)
            for kind, postings in (
                ("claim", books_domain.transfer("PH", "JP", books_domain.receivable("cash"),
                                                books_domain.PROVIDED, ("PHP", 10000))
                 + books_domain.transfer("JP", "PH", books_domain.RECEIVED,
                                         books_domain.payable("cash"), ("PHP", 10000))),
                ("payment", books_domain.transfer("PH", "JP", books_domain.CASH,
                                                  books_domain.receivable("cash"),
                                                  ("PHP", 10000))
                 + books_domain.transfer("JP", "PH", books_domain.payable("cash"),
                                         books_domain.CASH, ("PHP", 10000)))):
                books_domain.check_balanced(postings)
                entries.append({"id": next_entry, "agreement_code": "PHJP", "kind": kind,
                                "posted_on": on, "memo": f"bulk {i} {kind}",
                                "created_at": now})
                lines += [{"entry_id": next_entry, "book": p.book, "account": p.account,
                           "counterparty": p.counterparty, "commodity": p.commodity,
                           "amount": p.amount, "posted_on": on,
                           "fiscal_year": a.fiscal_year(p.book, on), "agreement_code": "PHJP",
                           "category": "fuel", "kind": "supply"} for p in postings]
                next_entry += 1
        s.execute(insert(Entry), entries)
        s.execute(insert(LedgerLine), lines)
