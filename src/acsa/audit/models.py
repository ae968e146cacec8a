"""Audit events. Append-only: the database refuses UPDATE and DELETE (triggers)."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from acsa.db.base import Base


class Event(Base):
    """One change. `hash` = SHA-256 of the previous hash and the event's fields (see
    `audit.chain`); every field is plain text so the chain is byte-identical on every database."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC
    party: Mapped[str] = mapped_column(String(3))
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(60), index=True)
    order_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
