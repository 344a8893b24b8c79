"""Agents' verdicts on routing decisions (the agent controls' *Route is correct* and *Re-route to…*)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Table, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables.base import Base, SlackId, UTCDateTime, utcnow


class FeedbackRow(Base):
    """An agent's verdict on a routing decision: the route was correct, or it was re-routed to ``category``.

    One verdict per decision; a later click replaces it.
    """

    __tablename__ = "route_feedback"
    __table_args__ = (
        CheckConstraint("verdict IN ('correct', 'rerouted')", name="verdict"),
        # /routing-stats counts verdicts by when the decision was made, from this index alone.
        Index(
            "ix_route_feedback_stats", "decided_at", "channel_id", "routed_category", "verdict", "classified"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(
        ForeignKey("routing_decisions.id", ondelete="CASCADE"), unique=True
    )
    agent_id: Mapped[str] = mapped_column(SlackId)
    verdict: Mapped[str] = mapped_column(String(16))
    # The category the agent chose (None when the route was confirmed).
    category: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Copied from the decision (which never changes) so that /routing-stats reads this table alone.
    routed_category: Mapped[str] = mapped_column(Text)
    channel_id: Mapped[str | None] = mapped_column(SlackId)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # False for a verdict on a decision no classifier made (a file alone, a give-up): not counted.
    classified: Mapped[bool] = mapped_column(Boolean, server_default=true())


# The Core table, for DML statements (INSERT ... ON CONFLICT, UPDATE ... RETURNING).
route_feedback = cast(Table, FeedbackRow.__table__)
