"""The schema: SQLAlchemy declarative tables (the stats summaries in ``bot.store.rollups``); every change
needs a revision in bot/store/migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    or_,
    true,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.orm import Mapped, mapped_column

# Imported for its tables: Alembic and create_all read Base.metadata, which holds only the tables of the
# modules imported by then, and this module is the one they import for the whole schema.
from bot.store import rollups  # noqa: F401
from bot.store.base import Base, SlackId, UTCDateTime

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


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class InboundMessageRow(Base):
    """A customer message, claimed once by its Slack key; its state drives retries and crash recovery."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "ts"),
        # 'waiting': a reply in a thread whose first message is not claimed yet (Inbox.claim); 'withdrawn':
        # deleted by its author before the bot routed it (Withdrawals).
        CheckConstraint(
            "state IN ('pending', 'done', 'failed', 'left', 'waiting', 'withdrawn')", name="state"
        ),
        Index("ix_inbound_messages_state_lease_until", "state", "lease_until"),
        # Store.earlier_pending: a thread's unfinished messages, without scanning the channel's history.
        Index("ix_inbound_messages_state_thread", "state", "team_id", "channel_id", "thread_ts", "ts"),
        # Store.last_seen: the channels customers wrote in lately (a Slack ts is when), the last in each.
        Index("ix_inbound_messages_ts", "ts", "team_id", "channel_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(SlackId)
    channel_id: Mapped[str] = mapped_column(SlackId)
    ts: Mapped[str] = mapped_column(SlackId)
    user_id: Mapped[str] = mapped_column(SlackId)
    # The thread root the answer goes to (the message's own ts when it starts a thread).
    thread_ts: Mapped[str] = mapped_column(SlackId)
    channel_type: Mapped[str | None] = mapped_column(String(16))
    # The author's workspace when it is another organisation's (Slack Connect); a stream names it.
    user_team_id: Mapped[str | None] = mapped_column(SlackId)
    # What is kept is the caller's decision (full, redacted or nothing).
    text: Mapped[str | None] = mapped_column(Text)
    # The ts of a streamed reply once it has started: after a crash, the half-written reply to remove.
    reply_ts: Mapped[str | None] = mapped_column(SlackId)
    # The decision (JSON) of an attempt whose reply Slack would not take, for the next attempt to post
    # instead of asking Claude again; kept while pending, like the text (0012).
    kept_decision: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Its author deleted it before it was answered (0020): not to be answered (state 'withdrawn' once
    # closed, or its decision marked withdrawn, when the deletion came after it was routed).
    withdrawn: Mapped[bool] = mapped_column(Boolean, server_default=false())


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


def seen_by_agents(table: Any) -> Any:
    """Threads whose pick-up agents can be seen to make: those in channels, where they write in the thread
    itself, and the DMs announced to them in their channel (0011), where they reply under the notice. Not
    a DM without a notice: agents cannot write in a customer's DM with the bot. (A thread keeps no channel
    type; Slack's DM ids begin with D.)"""
    return or_(table.c.channel_id.not_like("D%"), table.c.notice_ts.is_not(None))


# An escalation no agent has answered and the agents were not reminded of: ix_threads_awaiting_agent.
AWAITING_AGENT = "escalated AND pickup_seconds IS NULL AND reminded_at IS NULL AND escalated_at IS NOT NULL"
# A DM's thread announced to the agents: ix_threads_notice.
NOTICED = "notice_ts IS NOT NULL"


class ThreadRow(Base):
    """What the bot knows about a Slack thread it answered: escalated or taken over means it stays silent."""

    __tablename__ = "threads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(SlackId)
    channel_id: Mapped[str] = mapped_column(SlackId)
    thread_ts: Mapped[str] = mapped_column(SlackId)
    # Who the bot answers in this thread; anyone else writing there is taken for an agent.
    customer_id: Mapped[str | None] = mapped_column(SlackId)
    category: Mapped[str | None] = mapped_column(Text)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    bot_answered: Mapped[bool] = mapped_column(Boolean, default=False)
    taken_over_by: Mapped[str | None] = mapped_column(SlackId)
    taken_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the thread last went to a person, how many seconds later an agent first acted on that (wrote
    # in the thread, re-routed it, handed it back; None: nobody yet), and when the agents were reminded
    # that nobody had (0010). The wait is kept, not the moment: /routing-stats counts it in ranges, and
    # working it out from two timestamps per row took most of the report's time over a year.
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pickup_seconds: Mapped[float | None] = mapped_column(Float)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The reminder was given back after a failure that does not say whether Slack posted it (a 5xx, a
    # timeout; 0017): the next look reads the thread for it before posting it again.
    reminder_maybe_posted: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # A DM's: where its escalation was announced to the agents (the first notice; 0011). A reply under
    # it is an agent's pick-up; the reminder and what the customer adds go there.
    notice_channel_id: Mapped[str | None] = mapped_column(SlackId)
    notice_ts: Mapped[str | None] = mapped_column(SlackId)
    # When an agent last handed the thread back to the bot (the click's Slack ts; 0018): an agent's
    # message written there before it takes the thread over no more, however late its event (or the
    # catch-up after a restart) brings it.
    handed_back_ts: Mapped[str | None] = mapped_column(SlackId)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # /routing-stats counts hand-offs and escalations by when they happened; the reminders look for
    # escalations waiting.
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "thread_ts"),
        Index("ix_threads_taken_over_at", "taken_over_at"),
        Index(
            "ix_threads_escalations", "escalated_at", "channel_id", "escalated", "pickup_seconds", "notice_ts"
        ),
        Index(
            "ix_threads_notice",
            "team_id",
            "notice_channel_id",
            "notice_ts",
            sqlite_where=sql_text(NOTICED),
            postgresql_where=sql_text(NOTICED),
        ),
        Index(
            "ix_threads_awaiting_agent",
            "escalated_at",
            sqlite_where=sql_text(AWAITING_AGENT),
            postgresql_where=sql_text(AWAITING_AGENT),
        ),
    )


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


# The Core tables, for DML statements (INSERT ... ON CONFLICT, UPDATE ... RETURNING).
inbound_messages = cast(Table, InboundMessageRow.__table__)
routing_decisions = cast(Table, DecisionRow.__table__)
threads = cast(Table, ThreadRow.__table__)
route_feedback = cast(Table, FeedbackRow.__table__)


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


class PurgeRow(Base):
    """One run of ``db purge``: every decision made before ``cutoff`` was deleted then (the daily rollups
    stay). /routing-stats reads the latest cutoff to know whether a purge reached into a period."""

    __tablename__ = "purges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decisions: Mapped[int] = mapped_column(Integer)


purges = cast(Table, PurgeRow.__table__)
