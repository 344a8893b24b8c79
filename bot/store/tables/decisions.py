"""The routing-decision log: one row per decision, with every field of ``router.models.RoutingDecision``."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Table, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables.base import Base, SlackId, UTCDateTime, utcnow

# What /routing-stats reads from recent decisions: the covering index ix_routing_decisions_stats.
STATS_COLUMNS = (
    "created_at",
    "channel_id",
    "category",
    "source",
    "escalated",
    "escalation_reason",
    "confidence",
    "routing_ms",
    "handling_ms",
    "total_ms",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "cost_usd",
    "reply_ms",
    "measured",
    "follow_up",
    "acknowledgement",
    "withdrawn",
    "stopped_by_customer",
)


class DecisionRow(Base):
    """One routing decision: its Slack identifiers and every field of ``router.models.RoutingDecision``."""

    __tablename__ = "routing_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL"), unique=True
    )
    team_id: Mapped[str | None] = mapped_column(SlackId)
    channel_id: Mapped[str | None] = mapped_column(SlackId)
    user_id: Mapped[str | None] = mapped_column(SlackId)
    message_ts: Mapped[str | None] = mapped_column(SlackId)
    thread_ts: Mapped[str | None] = mapped_column(SlackId)
    query: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    reasoning: Mapped[str] = mapped_column(Text)
    escalated: Mapped[bool] = mapped_column(Boolean)
    escalation_reason: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    classifier_model: Mapped[str | None] = mapped_column(Text)
    handler_model: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    offline: Mapped[bool] = mapped_column(Boolean)
    routing_ms: Mapped[float] = mapped_column(Float)
    handling_ms: Mapped[float] = mapped_column(Float)
    total_ms: Mapped[float] = mapped_column(Float)
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cache_read_tokens: Mapped[int] = mapped_column(Integer)
    cache_creation_tokens: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    routes_version: Mapped[str] = mapped_column(Text)
    reply_ts: Mapped[str | None] = mapped_column(SlackId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The customer's wait: from their message's ts to this decision's record, after the reply was posted
    # (queueing, Slack and retries included). None for an agent's re-route, without a Slack ts, and for a
    # withdrawn message (nothing was posted: no wait for a reply; 0021).
    reply_ms: Mapped[float | None] = mapped_column(Float)
    # False when the router's times and the tokens are stand-ins of 0 (a reply recovered after a restart,
    # a give-up): left out of the report's times and cost per message (0009).
    measured: Mapped[bool] = mapped_column(Boolean, server_default=true())
    # A customer's message in a thread where the bot had already replied (0009).
    follow_up: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # A thank-you or goodbye after an answer, given the acknowledgement reply (no handler ran): left out of
    # the handling time and the category shares (0015).
    acknowledgement: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The customer stopped the streamed answer in Slack; Claude's request was closed there (0019).
    stopped_by_customer: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Its message was deleted by its author before the reply was posted: nothing was posted (0020).
    withdrawn: Mapped[bool] = mapped_column(Boolean, server_default=false())

    __table_args__ = (
        # Feedback finds a message's decisions by its Slack key.
        Index("ix_routing_decisions_channel_id_message_ts", "channel_id", "message_ts"),
        # /routing-stats reads the hours not yet in daily_rollups from this index alone (no table rows).
        Index("ix_routing_decisions_stats", *STATS_COLUMNS),
    )


# The Core table, for DML statements (INSERT ... ON CONFLICT, UPDATE ... RETURNING).
routing_decisions = cast(Table, DecisionRow.__table__)
