"""Ledger entries and lines. Append-only: the database refuses UPDATE and DELETE (triggers)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from acsa.db.base import Base, UTCDateTime


class Entry(Base):
    __tablename__ = "ledger_entries"
    # reconciliation: an order's entries (migration 0011)
    __table_args__ = (Index("ix_ledger_entries_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    agreement_code: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(20))
    posted_on: Mapped[dt.date] = mapped_column(Date)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    memo: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    lines: Mapped[list[LedgerLine]] = relationship(viewonly=True, order_by="LedgerLine.id")


class LedgerLine(Base):
    """One posting in one party's book. `amount` is an integer in the commodity's smallest
    unit (minor units of a currency, thousandths of an in-kind unit); debits are positive."""

    __tablename__ = "ledger_lines"
    __table_args__ = (
        Index("ix_ledger_lines_book_account", "book", "account", "counterparty"),
        Index("ix_ledger_lines_claim", "claim_id"),
        # covering indexes of reports.balances and reports.ageing (migration 0003)
        Index("ix_ledger_lines_balances", "account", "agreement_code", "book", "counterparty",
              "commodity", "posted_on", "amount"),
        Index("ix_ledger_lines_claim_sums", "account", "claim_id", "commodity", "posted_on",
              "amount"),
        # reconciliation: an entry's lines with every column its sums read (migration 0011)
        Index("ix_ledger_lines_entry_sums", "entry_id", "agreement_code", "book", "account",
              "commodity", "posted_on", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    book: Mapped[str] = mapped_column(String(3))
    account: Mapped[str] = mapped_column(String(60))
    counterparty: Mapped[str] = mapped_column(String(3))
    commodity: Mapped[str] = mapped_column(String(80))
    amount: Mapped[int]
    posted_on: Mapped[dt.date] = mapped_column(Date)
    fiscal_year: Mapped[int]
    agreement_code: Mapped[str] = mapped_column(String(12))
    claim_id: Mapped[int | None]
    activity_id: Mapped[int | None]
    category: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str | None] = mapped_column(String(10))


class _KeptSum:
    """What a kept sum's row holds beside its key: the sum, how many lines, and the latest
    posting date and line id among them."""

    amount: Mapped[int]
    lines: Mapped[int]
    last_posted_on: Mapped[dt.date] = mapped_column(Date)
    last_line_id: Mapped[int]


class OrderSum(_KeptSum, Base):
    """The sum of an order's ledger lines per book, account and commodity, kept by the
    database (a trigger on `ledger_lines`, migration 0013; see acsa.ledger.sums): how many
    lines, and the latest posting date and line id among them. Lines of entries without an
    order are summed under order id 0."""

    __tablename__ = "order_sums"
    __table_args__ = {"sqlite_with_rowid": False}

    agreement_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    order_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    book: Mapped[str] = mapped_column(String(3), primary_key=True)
    account: Mapped[str] = mapped_column(String(60), primary_key=True)
    commodity: Mapped[str] = mapped_column(String(80), primary_key=True)


class ClaimSum(_KeptSum, Base):
    """The sum of a claim's lines in one receivable account and commodity (what is
    outstanding on it), per the lines' agreement (a claim's lines carry its own), kept by the
    database as `OrderSum` is."""

    __tablename__ = "claim_sums"
    __table_args__ = {"sqlite_with_rowid": False}

    claim_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String(60), primary_key=True)
    commodity: Mapped[str] = mapped_column(String(80), primary_key=True)
    agreement_code: Mapped[str] = mapped_column(String(12), primary_key=True)
