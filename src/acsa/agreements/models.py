"""The agreements as loaded into the database: the definition each order was checked against."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from acsa.db.base import Base, UTCDateTime


class AgreementRecord(Base):
    __tablename__ = "agreements"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    version: Mapped[int]
    definition: Mapped[dict] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(500))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
