"""Claims (bills and in-kind obligations), settlements and offsets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from acsa.db.base import Base, Quantity, UTCDateTime


class Claim(Base):
    """What the debtor owes the creditor for one receipt: a cash bill for the cash lines, or
    one in-kind (RIK) or equal-value (EVE) obligation per line."""

    __tablename__ = "claims"
    __table_args__ = (UniqueConstraint("number"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(50))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))
    converted_from_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    agreement_code: Mapped[str] = mapped_column(ForeignKey("agreements.code"), index=True)
    method: Mapped[str] = mapped_column(String(5))
    creditor_party: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    debtor_party: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int]  # cash and EVE: the amount; RIK: the value at the order price
    quantity: Mapped[Decimal | None] = mapped_column(Quantity())  # RIK only
    unit: Mapped[str | None] = mapped_column(String(30))
    item: Mapped[str] = mapped_column(String(300), default="")
    category: Mapped[str] = mapped_column(String(20))
    stock_number: Mapped[str] = mapped_column(String(40), default="")
    commodity: Mapped[str] = mapped_column(String(80))
    delivered_on: Mapped[dt.date] = mapped_column(Date)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    state: Mapped[str] = mapped_column(String(12), index=True)  # open, settled, converted
    overdue: Mapped[bool] = mapped_column(default=False)
    settled_on: Mapped[dt.date | None] = mapped_column(Date)

    settlements: Mapped[list[SettlementRecord]] = relationship(
        order_by="SettlementRecord.id", lazy="selectin")


class SettlementRecord(Base):
    __tablename__ = "settlements"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # payment, return, exchange, offset, conversion
    settled_on: Mapped[dt.date] = mapped_column(Date)
    applied_minor: Mapped[int] = mapped_column(default=0)  # in the claim currency
    applied_quantity: Mapped[Decimal | None] = mapped_column(Quantity())  # in the claim unit
    tendered_minor: Mapped[int | None]
    tendered_currency: Mapped[str | None] = mapped_column(String(3))
    tendered_quantity: Mapped[Decimal | None] = mapped_column(Quantity())
    tendered_unit: Mapped[str | None] = mapped_column(String(30))
    rate_id: Mapped[int | None] = mapped_column(ForeignKey("rates.id"))
    rate: Mapped[str | None] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    offset_id: Mapped[int | None] = mapped_column(ForeignKey("offsets.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Offset(Base):
    """A netting document: proposed by one party's finance official, binding once the other
    party's finance official approves it."""

    __tablename__ = "offsets"
    __table_args__ = (UniqueConstraint("number"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(50))
    agreement_code: Mapped[str] = mapped_column(ForeignKey("agreements.code"))
    proposing_party: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    approving_party: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int]
    offset_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12))  # proposed, approved, withdrawn
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    items: Mapped[list[OffsetItem]] = relationship(lazy="selectin")


class OffsetItem(Base):
    __tablename__ = "offset_items"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    offset_id: Mapped[int] = mapped_column(ForeignKey("offsets.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    applied_minor: Mapped[int]  # in the claim currency
    value_minor: Mapped[int]  # in the offset currency
    rate: Mapped[str] = mapped_column(String(40))
    rate_id: Mapped[int | None] = mapped_column(ForeignKey("rates.id"))
