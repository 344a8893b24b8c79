"""The customer messages the local model learnt from, read back at start."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import CheckConstraint, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables.base import Base, UTCDateTime, utcnow


class LearnedExampleRow(Base):
    """A customer message whose category is known well enough to teach the local model.

    Agents' confirmations and corrections, and Claude's confident decisions; bounded per category
    (the newest kept), read back at start so the local model keeps what it learnt.
    """

    __tablename__ = "learned_examples"
    __table_args__ = (
        CheckConstraint("source IN ('agent', 'claude')", name="source"),
        Index("ix_learned_examples_category_id", "category", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


learned_examples = cast(Table, LearnedExampleRow.__table__)
