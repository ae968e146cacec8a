"""The books of the demo story through `acsa books ...`: the ledger journal export, the ageing
of open claims and the support report, each checked against the statement of balances."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import shutil
import subprocess
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.helpers import minor

DEMO_TODAY = "2026-11-29"
POSTING = re.compile(r"^ {4}(\S+) {2}(-?\d+(?:\.\d+)?) (\S+|\"[^\"]+\")$")
HEADER = re.compile(r"^(\d{4}-\d{2}-\d{2}) \* (.*?)\s+; entry:(\d+) kind:(\S+)$")
BUCKETS = [("0-30", 0, 30), ("31-90", 31, 90), ("91-180", 91, 180), ("181-365", 181, 365)]


def _months_later(on: dt.date, months: int) -> dt.date:
    year, month = divmod(on.month - 1 + months, 12)
    for d in (on.day, 30, 29, 28):
        try:
            return dt.date(on.year + year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError(on)


def _bucket(delivered: dt.date, as_of: dt.date) -> str:
    """The ageing bucket: calendar months for the 12- and 18-month marks, days below them."""
    if as_of > _months_later(delivered, 18):
        return "over 18 months"
    if as_of > _months_later(delivered, 12):
        return "over 12 months"
    age = (as_of - delivered).days
    return next(name for name, low, high in BUCKETS if low <= min(age, 365) <= high)


def _cash_balances(cli: Cli) -> dict[tuple[str, str, str], int]:
    rows = cli.json("books", "balance", "--as-of", DEMO_TODAY)["balances"]
    assert all(r["books_agree"] for r in rows), rows
    return {(r["creditor"], r["debtor"], r["commodity"]): r["creditor_book_units"]
            for r in rows if r["method"] == "cash"}


@pytest.mark.skipif(importlib.util.find_spec("acsa.ledger.export") is None,
                    reason="acsa.ledger.export is not written yet")
def test_books_export_ageing_and_report(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--demo")
    balance = _cash_balances(cli)
    _check_export(cli, tmp_path, balance)
    _check_ageing(cli, balance)
    _check_report(cli)


def _check_export(cli: Cli, tmp_path: Path, balance: dict[tuple[str, str, str], int]) -> None:
    journal = tmp_path / "acsa.ledger"
    wrote = cli("books", "export", "--format", "ledger", "-o", journal)
    written = int(re.search(r"wrote (\d+) postings", wrote.out).group(1))  # type: ignore[union-attr]

    entries: list[tuple[str, str, list[tuple[str, Decimal, str]]]] = []
    for text_line in journal.read_text(encoding="utf-8").splitlines():
        if not text_line.strip():
            continue
        if head := HEADER.match(text_line):
            entries.append((head.group(1), head.group(4), []))
            continue
        posting = POSTING.match(text_line)
        assert posting and entries, f"not a ledger posting: {text_line!r}"
        account, amount, commodity = posting.groups()
        entries[-1][2].append((account, Decimal(amount), commodity.strip('"')))
    assert sum(len(p) for _, _, p in entries) == written > 0
    assert max(d for d, _, _ in entries) <= DEMO_TODAY  # in entry order, not date order
    assert {"delivery", "claim", "payment", "return", "exchange"} <= {k for _, k, _ in entries}

    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for _, _, postings in entries:
        per_book: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for account, amount, commodity in postings:
            per_book[(account.split(":")[0], commodity)] += amount
            totals[(account, commodity)] += amount
        assert set(per_book.values()) == {Decimal(0)}, postings  # each book balances

    # what each creditor's book says it is owed in cash is the statement of balances
    assert balance
    expected = []
    for (creditor, debtor, currency), units in balance.items():
        account = f"{creditor}:assets:receivable:cash:{debtor}"
        assert minor(f"{totals[(account, currency)]} {currency}") == units
        expected.append(f'"{account}","{totals[(account, currency)]} {currency}"')

    hledger = shutil.which("hledger")
    if hledger:  # and hledger reads the journal as written, to the same balances
        out = subprocess.run([hledger, "-f", str(journal), "balance", "receivable:cash",
                              "-O", "csv", "--no-total"], capture_output=True, text=True,
                             check=True).stdout
        assert sorted(out.strip().splitlines()[1:]) == sorted(expected), out


def _check_ageing(cli: Cli, balance: dict[tuple[str, str, str], int]) -> None:
    ageing = cli.json("books", "ageing", "--as-of", DEMO_TODAY)
    assert ageing["as_of"] == DEMO_TODAY and ageing["claims"]
    open_value: dict[tuple[str, str, str], int] = defaultdict(int)
    today = dt.date.fromisoformat(DEMO_TODAY)
    for c in ageing["claims"]:
        delivered = dt.date.fromisoformat(c["delivered_on"])
        assert c["age_days"] == (today - delivered).days, c
        assert c["bucket"] == _bucket(delivered, today), c
        assert c["overdue"] == (c["due_on"] < DEMO_TODAY), c
        currency = c["value"].split()[1]
        open_value[(c["creditor"], c["debtor"], currency)] += minor(c["value"])
    # the buckets add up to the claims, and the open cash claims to the statement of balances
    for b in ageing["buckets"]:
        key = (b["creditor"], b["debtor"], b["currency"])
        names = [n for n in b if n not in ("creditor", "debtor", "currency")]
        assert sum(minor(b[n]) for n in names) == open_value[key]
    assert balance == dict(open_value)


def _check_report(cli: Cli) -> None:
    report = cli.json("books", "report", "--as-of", DEMO_TODAY)
    totals = report["totals"]
    assert totals and all(minor(t["amount"]) > 0 for t in totals)
    seen = {(t["supplier"], t["activity"], t["category"], t["kind"]) for t in totals}
    assert ("PH", "KAMANDAG-10", "fuel", "supply") in seen
    assert ("JP", "TY-RELIEF-CEBU", "transportation", "service") in seen
    # the billeting order is only requested: nothing provided yet
    assert not any(t["category"] == "billeting" for t in totals)
    for c in report["ceilings"]:
        assert minor(c["used"]) + minor(c["headroom"]) == minor(c["ceiling"]), c
