"""The customer messages the bot claimed: one row per Slack message, its state driving retries and
recovery."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, Table, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables.base import Base, SlackId, UTCDateTime, utcnow


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


# The Core table, for DML statements (INSERT ... ON CONFLICT, UPDATE ... RETURNING).
inbound_messages = cast(Table, InboundMessageRow.__table__)
