"""Orders, their lines, deliveries, receipts and source documents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from acsa.db.base import Base, Quantity, UTCDateTime


class OrderCounter(Base):
    """The last number issued per agreement, requesting party and fiscal year. Incremented in
    the same transaction as the order it numbers, so numbers are gap-free."""

    __tablename__ = "order_counters"

    agreement_code: Mapped[str] = mapped_column(ForeignKey("agreements.code"), primary_key=True)
    party_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int]


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("number"),
        # a bulk-imported order keeps the requesting unit's own reference: importing the same
        # file twice finds it instead of creating it again (migration 0008)
        Index("uq_orders_external_ref", "requesting_party", "external_ref", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40))
    agreement_code: Mapped[str] = mapped_column(ForeignKey("agreements.code"), index=True)
    agreement_version: Mapped[int]
    implementing_arrangement: Mapped[str] = mapped_column(String(200), default="")
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    fiscal_year: Mapped[int]
    # indexed: every register query is scoped to one party, as requester or supplier
    requesting_party: Mapped[str] = mapped_column(ForeignKey("parties.code"), index=True)
    supplying_party: Mapped[str] = mapped_column(ForeignKey("parties.code"), index=True)
    requesting_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    supplying_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    order_on: Mapped[dt.date] = mapped_column(Date, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    delivery_place: Mapped[str] = mapped_column(String(300), default="")
    delivery_on: Mapped[dt.date | None] = mapped_column(Date)
    fund_citation: Mapped[str] = mapped_column(String(300), default="")
    billing_address: Mapped[str] = mapped_column(String(500), default="")
    requester_poc: Mapped[str] = mapped_column(String(300), default="")
    supplier_poc: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), index=True)
    state_before_dispute: Mapped[str | None] = mapped_column(String(20))
    dispute_reason: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    overdue: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    requested_hash: Mapped[str | None] = mapped_column(String(64))
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    accepted_hash: Mapped[str | None] = mapped_column(String(64))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    # value counted against the agreement's ceilings, fixed at acceptance
    ceiling_currency: Mapped[str | None] = mapped_column(String(3))
    ceiling_supplies_minor: Mapped[int | None]
    ceiling_services_minor: Mapped[int | None]
    version: Mapped[int] = mapped_column(default=1)
    # the requesting unit's reference of an order brought in by `acsa import orders`
    external_ref: Mapped[str | None] = mapped_column(String(80))

    lines: Mapped[list[OrderLine]] = relationship(
        order_by="OrderLine.line_no", lazy="selectin", back_populates="order")
    deliveries: Mapped[list[Delivery]] = relationship(
        order_by="Delivery.id", lazy="selectin", back_populates="order")
    receipts: Mapped[list[Receipt]] = relationship(
        order_by="Receipt.id", lazy="selectin", back_populates="order")

    __mapper_args__ = {"version_id_col": version}


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    line_no: Mapped[int]
    category: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(String(300))
    stock_number: Mapped[str] = mapped_column(String(40), default="")
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit: Mapped[str] = mapped_column(String(30))
    unit_price_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(5))

    order: Mapped[Order] = relationship(back_populates="lines")


class Document(Base):
    """A source document, stored once by its SHA-256 in the same database as the books, so it
    commits or rolls back with the delivery it supports."""

    __tablename__ = "documents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    stored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Delivery(Base):
    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    delivered_on: Mapped[dt.date] = mapped_column(Date)
    delivered_by_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    document_sha256: Mapped[str] = mapped_column(ForeignKey("documents.sha256"))
    note: Mapped[str] = mapped_column(Text, default="")
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))

    order: Mapped[Order] = relationship(back_populates="deliveries")
    lines: Mapped[list[DeliveryLine]] = relationship(lazy="selectin")


class DeliveryLine(Base):
    __tablename__ = "delivery_lines"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())


class Receipt(Base):
    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    received_on: Mapped[dt.date] = mapped_column(Date)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    order: Mapped[Order] = relationship(back_populates="receipts")
    lines: Mapped[list[ReceiptLine]] = relationship(lazy="selectin")


class ReceiptLine(Base):
    __tablename__ = "receipt_lines"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    delivered: Mapped[Decimal] = mapped_column(Quantity())
    received: Mapped[Decimal] = mapped_column(Quantity())
    damaged: Mapped[Decimal] = mapped_column(Quantity())
    discrepancy: Mapped[str] = mapped_column(String(20), default="")  # short, over, damaged
    reason: Mapped[str] = mapped_column(Text, default="")
