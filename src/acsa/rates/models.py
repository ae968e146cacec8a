"""The exchange-rate table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from acsa.db.base import Base, UTCDateTime


class Rate(Base):
    """`rate` units of `quote` per one unit of `base`, effective from `effective_on`."""

    __tablename__ = "rates"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    rate: Mapped[str] = mapped_column(String(40))
    effective_on: Mapped[dt.date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(20))  # agreement_fy, market
    agreement_code: Mapped[str | None] = mapped_column(ForeignKey("agreements.code"))
    fiscal_year: Mapped[int | None]
    source: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
