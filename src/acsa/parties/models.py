"""Parties, units and officials."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from acsa.db.base import Base


class Party(Base):
    __tablename__ = "parties"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str]
    force: Mapped[str]  # AFP, JSDF, US Armed Forces
    currency: Mapped[str] = mapped_column(String(3))
    billing_address: Mapped[str] = mapped_column(String(500), default="")


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    party_code: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    name: Mapped[str]
    address: Mapped[str] = mapped_column(String(500), default="")


class Official(Base):
    """One person's authority in one role: a person with two roles has two official records
    sharing `person`, which is what separation of duties compares."""

    __tablename__ = "officials"
    __table_args__ = (UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    person: Mapped[str] = mapped_column(String(80))
    name: Mapped[str]
    rank_title: Mapped[str] = mapped_column(String(120), default="")
    party_code: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    role: Mapped[str] = mapped_column(String(20))
    limit_minor: Mapped[int | None]
    limit_currency: Mapped[str | None] = mapped_column(String(3))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    email: Mapped[str] = mapped_column(String(200), default="")
