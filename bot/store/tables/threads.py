"""The Slack threads the bot answered: who took them over, their escalations, reminders and hand-backs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Boolean, Float, Index, Integer, Table, Text, UniqueConstraint, and_, false, or_
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables.base import Base, SlackId, UTCDateTime, utcnow


def seen_by_agents(table: Any) -> Any:
    """Threads whose pick-up agents can be seen to make: those in channels, where they write in the thread
    itself, and the DMs announced to them in their channel (0011), where they reply under the notice. Not
    a DM without a notice: agents cannot write in a customer's DM with the bot. (A thread keeps no channel
    type; Slack's DM ids begin with D.)"""
    return or_(table.c.channel_id.not_like("D%"), table.c.notice_ts.is_not(None))


def held_by_agents(table: Any) -> Any:
    """Threads a person has picked up and holds, not handed back: taken over by an agent, or escalated and
    picked up without a take-over (a DM whose customer an agent took up under another of its notices, an
    escalation a re-route made). The bot stays out of them; what their customer writes waits for an agent
    (``customer_waiting_since``)."""
    return or_(
        table.c.taken_over_by.is_not(None), and_(table.c.escalated, table.c.pickup_seconds.is_not(None))
    )


# An escalation no agent has answered, whose message the customer has not deleted, and that the agents were
# not reminded of: ix_threads_awaiting_agent.
AWAITING_AGENT = (
    "escalated AND pickup_seconds IS NULL AND reminded_at IS NULL AND escalated_at IS NOT NULL"
    " AND escalation_withdrawn_at IS NULL"
)
# A customer who wrote again in a thread an agent holds, no agent's reply since, and no reminder yet:
# ix_threads_customer_waiting.
CUSTOMER_WAITING = "customer_waiting_since IS NOT NULL AND reminded_at IS NULL"
# Every customer waiting on the agent holding their thread, reminded of or not, with the channel:
# ix_threads_customers_waiting_now, for /routing-stats' "Now:" line (bot.stats.waiting_now).
WAITING_NOW = "customer_waiting_since IS NOT NULL"
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
    # When the customer wrote in the thread while an agent held it (:func:`held_by_agents`), first since
    # an agent's last reply there (0023): cleared by an agent's reply, a hand-back, a re-route. Its one
    # reminder is claimed by ``reminded_at`` as an escalation's is: the escalation's wait is over once an
    # agent holds the thread, and this one starts with ``reminded_at`` cleared.
    customer_waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The customer's message the wait under way is about (an escalation's, or what they wrote to the agent
    # holding the thread; 0024), while it is about one: deleted, it ends the wait (see
    # :mod:`bot.store.withdrawn_waits`). None when the wait is about more than one, or began before 0024.
    waiting_on: Mapped[str | None] = mapped_column(SlackId)
    # When the customer deleted the message an escalation no agent had picked up was about (0024): its
    # reminder is no longer due. What they write there after it waits as ``customer_waiting_since``.
    escalation_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # /routing-stats counts hand-offs and escalations by when they happened; the reminders look for
    # escalations and customers waiting.
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "thread_ts"),
        Index("ix_threads_taken_over_at", "taken_over_at"),
        Index(
            "ix_threads_escalations",
            "escalated_at",
            "channel_id",
            "escalated",
            "pickup_seconds",
            "notice_ts",
            "escalation_withdrawn_at",
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
        Index(
            "ix_threads_customer_waiting",
            "customer_waiting_since",
            sqlite_where=sql_text(CUSTOMER_WAITING),
            postgresql_where=sql_text(CUSTOMER_WAITING),
        ),
        Index(
            "ix_threads_customers_waiting_now",
            "customer_waiting_since",
            "channel_id",
            sqlite_where=sql_text(WAITING_NOW),
            postgresql_where=sql_text(WAITING_NOW),
        ),
    )


# The Core table, for DML statements (INSERT ... ON CONFLICT, UPDATE ... RETURNING).
threads = cast(Table, ThreadRow.__table__)
