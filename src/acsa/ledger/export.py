"""Exporting the books as plain text: a ledger-cli/hledger journal, a beancount file or CSV.

Owns how acsa's ledger lines are written for other tools: account names (the book first, then
the account, then the counterparty), amounts in major units at each commodity's own number of
decimals, and in-kind commodity names made acceptable to each format. Lines are streamed in
entry order a batch at a time, so the size of the books never decides the memory used; only
the lines of one entry are held together, to be written as one transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Literal, TextIO

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from acsa import errors
from acsa.ledger import domain as books
from acsa.ledger.models import Entry, LedgerLine
from acsa.money import EXPONENTS

Format = Literal["ledger", "beancount", "csv"]
FORMATS: tuple[Format, ...] = ("ledger", "beancount", "csv")
CSV_HEADER = ("entry_id", "posted_on", "kind", "agreement", "book", "account", "counterparty",
              "commodity", "amount", "memo")
BATCH = 10_000

# one streamed row: entry_id, posted_on, kind, agreement, memo, book, account, counterparty,
# commodity, amount
Row = tuple[int, dt.date, str, str, str, str, str, str, str, int]


def write_journal(session: Session, out: TextIO, *, fmt: Format, book: str | None = None,
                  agreement: str | None = None, as_of: dt.date | None = None) -> int:
    """Stream the ledger entries (ordered by entry id) as a journal; returns postings written."""
    if fmt not in FORMATS:
        raise errors.InvalidInput(f"unknown export format {fmt!r}", field="format",
                                  hint=f"Use one of {', '.join(FORMATS)}.")
    rows = _rows(session, _conditions(book, agreement, as_of))
    writer = {"csv": _write_csv, "ledger": _write_ledger, "beancount": _write_beancount}[fmt]
    return writer(rows, out)


# --- reading ---------------------------------------------------------------------------------
def _conditions(book: str | None, agreement: str | None,
                as_of: dt.date | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if book:
        conds.append(LedgerLine.book == book.upper())
    if agreement:
        conds.append(LedgerLine.agreement_code == agreement.upper())
    if as_of:
        conds.append(LedgerLine.posted_on <= as_of)
    return conds


def _rows(session: Session, conds: list[ColumnElement[bool]]) -> Iterator[Row]:
    stmt = (select(LedgerLine.entry_id, Entry.posted_on, Entry.kind, Entry.agreement_code,
                   Entry.memo, LedgerLine.book, LedgerLine.account, LedgerLine.counterparty,
                   LedgerLine.commodity, LedgerLine.amount)
            .join(Entry, Entry.id == LedgerLine.entry_id)
            .where(*conds)
            .order_by(LedgerLine.entry_id, LedgerLine.id))
    result = session.execute(stmt.execution_options(yield_per=BATCH))
    for part in result.partitions():
        yield from part  # type: ignore[misc]


def _entries(rows: Iterable[Row]) -> Iterator[list[Row]]:
    for _, lines in groupby(rows, key=itemgetter(0)):
        yield list(lines)


# --- amounts ---------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _places(commodity: str) -> int:
    return EXPONENTS[commodity] if books.is_currency(commodity) else books.KIND_SCALE


def decimal_text(amount: int, places: int) -> str:
    """An integer count of 10^-places units as exact decimal text: (-123450, 2) -> '-1234.50'."""
    if places == 0:
        return str(amount)
    whole, frac = divmod(abs(amount), 10 ** places)
    return f"{'-' if amount < 0 else ''}{whole}.{frac:0{places}d}"


_SPACES = re.compile(r"\s+")


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


# --- csv -------------------------------------------------------------------------------------
def _write_csv(rows: Iterable[Row], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    count = 0
    for entry_id, on, kind, code, memo, book, account, cp, commodity, amount in rows:
        writer.writerow((entry_id, on.isoformat(), kind, code, book, account, cp, commodity,
                         decimal_text(amount, _places(commodity)), memo))
        count += 1
    return count


# --- ledger-cli and hledger ------------------------------------------------------------------
def ledger_account(book: str, account: str, counterparty: str) -> str:
    return f"{book}:{account}:{counterparty}"


def ledger_commodity(commodity: str) -> str:
    if books.is_currency(commodity):
        return commodity
    if '"' in commodity or "\n" in commodity:
        raise errors.IntegrityError(f"commodity {commodity!r} cannot be written to a journal")
    return f'"{commodity}"'


def _ledger_payee(entry_id: int, memo: str) -> str:
    # hledger reads ';' as the start of a comment anywhere in a description, and ledger-cli
    # reads a leading '(' as a transaction code: neither may reach the payee as it is
    payee = _one_line(memo).replace(";", ",")
    if not payee or payee.startswith("("):
        payee = f"entry {entry_id}: {payee}".rstrip(": ")
    return payee


def _write_ledger(rows: Iterable[Row], out: TextIO) -> int:
    count = 0
    names: dict[str, str] = {}
    for lines in _entries(rows):
        entry_id, on, kind, _, memo = lines[0][:5]
        parts = [f"{on.isoformat()} * {_ledger_payee(entry_id, memo)}  "
                 f"; entry:{entry_id} kind:{kind}\n"]
        for *_, book, account, cp, commodity, amount in lines:
            name = names.get(commodity)
            if name is None:
                name = names[commodity] = ledger_commodity(commodity)
            parts.append(f"    {ledger_account(book, account, cp)}  "
                         f"{decimal_text(amount, _places(commodity))} {name}\n")
        parts.append("\n")
        out.write("".join(parts))
        count += len(lines)
    return count


# --- beancount -------------------------------------------------------------------------------
BEAN_ROOTS = {"assets": "Assets", "liabilities": "Liabilities", "equity": "Equity",
              "income": "Income", "expenses": "Expenses"}
_BEAN_CURRENCY = re.compile(r"^[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]$")


def _bean_segment(part: str) -> str:
    return "-".join(w[:1].upper() + w[1:] for w in part.split("-"))


def beancount_account(book: str, account: str, counterparty: str) -> str:
    """`PH`, `assets:receivable:cash`, `JP` -> `Assets:PH:Receivable:Cash:JP`."""
    root, *rest = account.split(":")
    if root not in BEAN_ROOTS:
        raise errors.IntegrityError(f"account {account!r} is not under one of "
                                    f"{', '.join(BEAN_ROOTS)}")
    return ":".join([BEAN_ROOTS[root], book, *(_bean_segment(p) for p in rest), counterparty])


def beancount_commodity(commodity: str) -> str:
    """Currencies keep their ISO code; an in-kind item becomes `RIK.` and 8 hex digits of the
    SHA-256 of its name (beancount allows no ':' or '[' in a commodity)."""
    if books.is_currency(commodity):
        return commodity
    return "RIK." + hashlib.sha256(commodity.encode()).hexdigest()[:8].upper()


def _bean_string(text: str) -> str:
    return '"' + _one_line(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write_beancount(rows: Iterable[Row], out: TextIO) -> int:
    # One pass: beancount orders directives by date, not by place in the file, so the account
    # and commodity declarations are written after the transactions, once all are known.
    # (A first pass to find them could disagree with the second if lines were posted between.)
    out.write('option "title" "acsa books"\n\n')
    accounts: dict[tuple[str, str, str], str] = {}
    symbols: dict[str, str] = {}
    owners: dict[str, str] = {}
    first: dt.date | None = None
    count = 0
    for lines in _entries(rows):
        entry_id, on, kind, code, memo = lines[0][:5]
        first = on if first is None or on < first else first
        parts = [f"{on.isoformat()} * {_bean_string(memo)}\n  entry: {entry_id}\n"
                 f"  kind: {_bean_string(kind)}\n  agreement: {_bean_string(code)}\n"]
        for *_, book, account, cp, commodity, amount in lines:
            name = accounts.get((book, account, cp))
            if name is None:
                name = accounts[(book, account, cp)] = beancount_account(book, account, cp)
            symbol = symbols.get(commodity)
            if symbol is None:
                symbol = symbols[commodity] = _new_symbol(commodity, owners)
            parts.append(f"  {name}  {decimal_text(amount, _places(commodity))} {symbol}\n")
        parts.append("\n")
        out.write("".join(parts))
        count += len(lines)
    if first is not None:
        day = first.isoformat()
        out.write("; every account and commodity above, declared on the first day exported\n")
        for symbol, commodity in sorted(owners.items()):
            meta = f"\n  name: {_bean_string(commodity)}" if symbol != commodity else ""
            out.write(f"{day} commodity {symbol}{meta}\n")
        out.writelines(f"{day} open {name}\n" for name in sorted(accounts.values()))
    return count


def _new_symbol(commodity: str, owners: dict[str, str]) -> str:
    symbol = beancount_commodity(commodity)
    if not _BEAN_CURRENCY.match(symbol):
        raise errors.IntegrityError(f"commodity {commodity!r} has no beancount symbol")
    if owners.setdefault(symbol, commodity) != commodity:
        raise errors.IntegrityError(f"commodities {owners[symbol]!r} and {commodity!r} map to "
                                    f"the same beancount symbol {symbol}")
    return symbol
