"""Exporting the books: ledger-cli and hledger read the journal and agree with acsa's balances;
beancount accepts its file; the CSV gives back every line, each entry balanced per book."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acsa.ledger import domain as books
from acsa.ledger import reports
from acsa.ledger.export import (
    CSV_HEADER,
    beancount_account,
    beancount_commodity,
    ledger_account,
    write_journal,
)
from acsa.ledger.models import LedgerLine
from acsa.money import EXPONENTS, Money
from acsa.settlement import service as settlement
from tests.factories import D, airlift_line, fuel_line, official, order_to

LATER = D(2027, 12, 31)
BEFORE_PAYMENT = D(2026, 5, 31)

Balances = dict[tuple[str, str], Decimal]  # (account, commodity) -> amount in major units


@pytest.fixture
def books_session(session: Session) -> Session:
    """Books with cash, in-kind and service claims under two agreements: some settled (a
    payment in another currency among them), one in-kind claim half returned, one left open."""
    cash = order_to(session, "received")  # JP owes PH 955,000.00 PHP
    [bill] = settlement.claims_of(session, cash)
    settlement.pay(session, claim_ref=bill.number, by=official("JP", "finance"),
                   on=D(2026, 6, 1), amount=Money.of(600_000, "PHP"))
    # the rest in yen, at the agreement's FY rate: JPY passes through equity:conversion
    settlement.pay(session, claim_ref=bill.number, by=official("JP", "finance"),
                   on=D(2026, 6, 2), amount=Money.of(948_183, "JPY"))
    fuel = order_to(session, "received", lines=[fuel_line(method="rik", qty="2500.5")])
    [rik] = settlement.claims_of(session, fuel)
    settlement.return_in_kind(session, claim_ref=rik.number, by=official("JP", "supplying"),
                              on=D(2026, 7, 1), quantity=Decimal("1000.25"), unit="L",
                              stock_number="9140-00-273-2377")
    order_to(session, "received", lines=[airlift_line()], on=D(2026, 5, 12))  # EVE, open
    usd = order_to(session, "received", agreement="JPUS", activity="PORTCALL-YOKO",
                   lines=[fuel_line(price="1.25", currency="USD")], on=D(2026, 5, 3))
    [usd_bill] = settlement.claims_of(session, usd)
    settlement.pay(session, claim_ref=usd_bill.number, by=official("JP", "finance"),
                   on=D(2026, 6, 3), amount=Money.of("12500.00", "USD"))
    session.flush()
    return session


# --- what acsa says --------------------------------------------------------------------------
def _major(commodity: str, amount: int) -> Decimal:
    places = EXPONENTS[commodity] if books.is_currency(commodity) else books.KIND_SCALE
    return Decimal(amount).scaleb(-places)


def _acsa_balances(session: Session, *, as_of=LATER, agreement: str | None = None) -> Balances:
    """Receivables and payables as acsa.ledger.reports.balances reports them, written as the
    journal's accounts: a payable is a credit, so negative."""
    out: Balances = defaultdict(Decimal)
    for row in reports.balances(session, as_of=as_of, agreement=agreement):
        receivable = ledger_account(row.creditor, books.receivable(row.method), row.debtor)
        payable = ledger_account(row.debtor, books.payable(row.method), row.creditor)
        out[(receivable, row.commodity)] += _major(row.commodity, row.creditor_book)
        out[(payable, row.commodity)] -= _major(row.commodity, row.debtor_book)
    return {k: v for k, v in out.items() if v}


def _trial_balance(session: Session, **where) -> Balances:
    """Every account, summed in the database."""
    stmt = (select(LedgerLine.book, LedgerLine.account, LedgerLine.counterparty,
                   LedgerLine.commodity, func.sum(LedgerLine.amount))
            .group_by(LedgerLine.book, LedgerLine.account, LedgerLine.counterparty,
                      LedgerLine.commodity))
    for column, value in where.items():
        stmt = stmt.where(getattr(LedgerLine, column) == value)
    return {(ledger_account(b, a, cp), com): _major(com, int(s))
            for b, a, cp, com, s in session.execute(stmt) if int(s)}


# --- what ledger-cli and hledger say ---------------------------------------------------------
def _binary(name: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required in CI and is not installed (apt-get install {name})")
    pytest.skip(f"{name} is not installed")


AMOUNT = re.compile(r'^\s*(-?\d+(?:\.\d+)?) "?([^"]+?)"?(?:  (\S.*))?$')


def _tool_balances(tool: str, journal: Path) -> Balances:
    """`TOOL -f FILE bal --flat`, read back: both print an account's other commodities on
    lines of their own above the line that names it."""
    run = subprocess.run([_binary(tool), "-f", str(journal), "bal", "--flat", "--no-total"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, f"{tool} refused the journal:\n{run.stderr}"
    out: Balances = {}
    pending: list[tuple[str, Decimal]] = []
    for line in run.stdout.splitlines():
        if not line.strip():
            continue
        m = AMOUNT.match(line)
        assert m, f"{tool}: cannot read balance line {line!r}"
        number, commodity, account = m.groups()
        if Decimal(number) != 0:
            pending.append((commodity, Decimal(number)))
        if account:
            for com, amount in pending:
                out[(account, com)] = amount
            pending = []
    assert not pending, f"{tool}: amounts without an account in:\n{run.stdout}"
    return out


def _export(session: Session, tmp_path: Path, fmt: str, name: str = "books", **kw) -> Path:
    path = tmp_path / f"{name}.{fmt}"
    with path.open("w", encoding="utf-8") as out:
        written = write_journal(session, out, fmt=fmt, **kw)  # type: ignore[arg-type]
    assert written > 0
    return path


def _only_claims(b: Balances) -> Balances:
    return {k: v for k, v in b.items() if ":receivable:" in k[0] or ":payable:" in k[0]}


@pytest.mark.parametrize("tool", ["ledger", "hledger"])
def test_ledger_journal_agrees_with_acsa(books_session: Session, tmp_path: Path, tool: str):
    journal = _export(books_session, tmp_path, "ledger")
    text = journal.read_text()
    assert '"RIK:FUEL:9140-00-273-2377[L]"' in text  # in-kind names quoted, 3 decimals
    assert re.search(r"-?\d+\.\d{3} \"RIK:", text)
    assert re.search(r"\n    JP:\S+  -?\d+ JPY\n", text)  # yen without decimals
    assert re.search(r"; entry:\d+ kind:payment\n", text)
    said = _tool_balances(tool, journal)
    assert _only_claims(said) == _acsa_balances(books_session)
    assert said == _trial_balance(books_session)
    assert _acsa_balances(books_session)  # the comparison above compared something


@pytest.mark.parametrize("tool", ["ledger", "hledger"])
def test_filtered_journal_agrees_with_acsa(books_session: Session, tmp_path: Path, tool: str):
    """Before the payments, for one agreement, and one party's book alone."""
    early = _export(books_session, tmp_path, "ledger", "early", as_of=BEFORE_PAYMENT)
    assert _only_claims(_tool_balances(tool, early)) == _acsa_balances(
        books_session, as_of=BEFORE_PAYMENT)
    jpus = _export(books_session, tmp_path, "ledger", "jpus", agreement="JPUS")
    assert _tool_balances(tool, jpus) == _trial_balance(books_session, agreement_code="JPUS")
    ph = _export(books_session, tmp_path, "ledger", "ph", book="PH")
    said = _tool_balances(tool, ph)
    assert said and all(account.startswith("PH:") for account, _ in said)
    assert said == _trial_balance(books_session, book="PH")


def test_csv_gives_back_every_line_balanced(books_session: Session, tmp_path: Path):
    buf = io.StringIO()
    written = write_journal(books_session, buf, fmt="csv")
    buf.seek(0)
    reader = csv.DictReader(buf)
    assert tuple(reader.fieldnames or ()) == CSV_HEADER
    rows = list(reader)
    assert written == len(rows) == books_session.scalar(
        select(func.count()).select_from(LedgerLine))
    ids = [int(r["entry_id"]) for r in rows]
    assert ids == sorted(ids)
    sums: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        sums[(r["entry_id"], r["book"], r["commodity"])] += Decimal(r["amount"])
        places = EXPONENTS.get(r["commodity"], books.KIND_SCALE)
        assert len(r["amount"].partition(".")[2]) == places, r
    assert len({e for e, _, _ in sums}) > 5
    assert {k: v for k, v in sums.items() if v != 0} == {}
    assert any(r["commodity"].startswith("RIK:") for r in rows)
    assert any(r["commodity"] == "JPY" and "." not in r["amount"] for r in rows)


def test_beancount_file_is_valid_and_agrees(books_session: Session, tmp_path: Path):
    try:
        from beancount import loader
        from beancount.core import data
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("beancount is required in CI to check the export (pip install beancount)")
        pytest.skip("beancount is not installed")
    path = _export(books_session, tmp_path, "beancount")
    entries, errors, _ = loader.load_file(str(path))
    assert errors == [], "\n".join(str(e.message) for e in errors)
    said: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    names: dict[str, str] = {}
    for e in entries:
        if isinstance(e, data.Transaction):
            for p in e.postings:
                said[(p.account, p.units.currency)] += p.units.number
        elif isinstance(e, data.Commodity) and "name" in e.meta:
            names[e.currency] = e.meta["name"]
    expected = {}
    for (account, commodity), amount in _trial_balance(books_session).items():
        book, rest = account.split(":", 1)
        base, cp = rest.rsplit(":", 1)
        expected[(beancount_account(book, base, cp), beancount_commodity(commodity))] = amount
    assert {k: v for k, v in said.items() if v} == expected
    rik = _rik_commodity(books_session)
    assert names == {beancount_commodity(rik): rik}  # the original name kept as metadata
    bean_check = Path(sys.executable).parent / "bean-check"
    run = subprocess.run([str(bean_check) if bean_check.exists() else "bean-check", str(path)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def _rik_commodity(session: Session) -> str:
    [commodity] = session.scalars(select(LedgerLine.commodity).distinct()
                                  .where(LedgerLine.commodity.like("RIK:%")))
    return commodity


def test_names_for_other_tools():
    assert beancount_account("PH", "assets:delivered-unreceipted", "JP") == \
        "Assets:PH:Delivered-Unreceipted:JP"
    assert beancount_account("JP", "liabilities:payable:cash", "PH") == \
        "Liabilities:JP:Payable:Cash:PH"
    symbol = beancount_commodity("RIK:FUEL:9140-00-273-2377[L]")
    assert re.fullmatch(r"RIK\.[0-9A-F]{8}", symbol)
    assert beancount_commodity("JPY") == "JPY"


def test_memo_cannot_break_the_journal(books_session: Session, tmp_path: Path):
    """A memo with ';', quotes, a backslash and a line break stays one description."""
    from acsa.agreements import service as agreements
    from acsa.ledger import service as ledger

    postings = books.transfer("PH", "JP", books.CASH, books.OFFSET, ("PHP", 1))
    ledger.post(books_session, agreement=agreements.get(books_session, "PHJP"), kind="test",
                posted_on=D(2026, 6, 5), postings=postings,
                memo='(odd) memo; with "quotes" \\ and\na break')
    books_session.flush()
    journal = _export(books_session, tmp_path, "ledger")
    assert _tool_balances("hledger", journal) == _trial_balance(books_session)
    assert _tool_balances("ledger", journal) == _trial_balance(books_session)
    whole = '(odd) memo, with "quotes" \\ and a break'  # ';' would start a comment in hledger
    for tool, command in (("hledger", "descriptions"), ("ledger", "payees")):
        run = subprocess.run([_binary(tool), "-f", str(journal), command], capture_output=True,
                             text=True, check=True)
        assert any(line.endswith(whole) for line in run.stdout.splitlines()), run.stdout
    buf = io.StringIO()
    write_journal(books_session, buf, fmt="csv")
    assert 'memo; with ""quotes"" \\ and\na break' in buf.getvalue()
