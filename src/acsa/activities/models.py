"""Activities and the agreements they run under."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Date, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from acsa.agreements.models import AgreementRecord
from acsa.db.base import Base

activity_agreements = Table(
    "activity_agreements",
    Base.metadata,
    Column("activity_id", ForeignKey("activities.id"), primary_key=True),
    Column("agreement_code", ForeignKey("agreements.code"), primary_key=True),
)


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str]
    type: Mapped[str] = mapped_column(String(20))
    place: Mapped[str]
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    agreements: Mapped[list[AgreementRecord]] = relationship(
        secondary=activity_agreements)

