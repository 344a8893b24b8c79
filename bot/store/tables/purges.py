"""The runs of ``db purge``, for /routing-stats to tell which periods a purge reached into."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Integer, Table
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables.base import Base, UTCDateTime, utcnow


class PurgeRow(Base):
    """One run of ``db purge``: every decision made before ``cutoff`` was deleted then (the daily rollups
    stay). /routing-stats reads the latest cutoff to know whether a purge reached into a period."""

    __tablename__ = "purges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decisions: Mapped[int] = mapped_column(Integer)


purges = cast(Table, PurgeRow.__table__)
