"""What /routing-stats reads instead of the decisions: per-day sums and latency histograms.

A database trigger on ``routing_decisions`` keeps both tables (see the migrations each docstring names); the
code only reads them, and ``db purge`` leaves them, so a report over a purged period keeps its counts.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import Boolean, Date, Float, Integer, String, Table, Text
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables.base import Base, SlackId


class DailyRollupRow(Base):
    """Per channel, category, source, escalation and UTC day: sums of every decision's figures.

    Kept by a database trigger on ``routing_decisions`` (migrations 0002, 0008, 0009, 0015, 0021 and
    0022), so ``/routing-stats`` reads thousands of rows instead of millions. ``channel_id`` and
    ``escalation_reason`` are '' for none. The primary key is in GROUP BY order and, on SQLite, the table
    is clustered on it (WITHOUT ROWID), so the report's GROUP BY streams through it without sorting.
    """

    __tablename__ = "daily_rollups"
    __table_args__ = ({"sqlite_with_rowid": False},)

    channel_id: Mapped[str] = mapped_column(SlackId, primary_key=True)
    category: Mapped[str] = mapped_column(Text, primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    escalated: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    escalation_reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    decisions: Mapped[int] = mapped_column(Integer)
    confidence_sum: Mapped[float] = mapped_column(Float)
    # How many decisions had a confidence in [i/10, (i+1)/10) (1.0 counts in the last).
    conf_0: Mapped[int] = mapped_column(Integer)
    conf_1: Mapped[int] = mapped_column(Integer)
    conf_2: Mapped[int] = mapped_column(Integer)
    conf_3: Mapped[int] = mapped_column(Integer)
    conf_4: Mapped[int] = mapped_column(Integer)
    conf_5: Mapped[int] = mapped_column(Integer)
    conf_6: Mapped[int] = mapped_column(Integer)
    conf_7: Mapped[int] = mapped_column(Integer)
    conf_8: Mapped[int] = mapped_column(Integer)
    conf_9: Mapped[int] = mapped_column(Integer)
    routing_ms: Mapped[float] = mapped_column(Float)
    handling_ms: Mapped[float] = mapped_column(Float)
    total_ms: Mapped[float] = mapped_column(Float)
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cache_read_tokens: Mapped[int] = mapped_column(Integer)
    cache_creation_tokens: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Float)
    # The customers' waits (routing_decisions.reply_ms) summed, and how many decisions had one (0008).
    reply_ms: Mapped[float] = mapped_column(Float, server_default=sql_text("0"))
    replies: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"))
    # How many decisions were not measured (routing_decisions.measured), and were follow-ups (0009).
    unmeasured: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"))
    follow_ups: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"))
    # How many decisions were thank-yous closing a conversation (routing_decisions.acknowledgement; 0015).
    acknowledgements: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"))
    # How many decisions were on a message its author deleted before the reply (routing_decisions.withdrawn;
    # a withdrawn thank-you counts here, not among the acknowledgements), and how many answers posted were
    # stopped by the customer (stopped_by_customer, not withdrawn) (0021).
    withdrawn: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"))
    stopped: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"))
    # How many answers were cut short (stopped_by_customer, withdrawn or not) with the router's times on
    # record: their handling and total times, ended by the stop, are in neither the sums above nor the
    # histograms (0022).
    cut_short: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"))


# daily_latencies.channel_id of the rows that count every channel.
ALL_CHANNELS = "*"


class DailyLatencyRow(Base):
    """Per channel, latency bucket and UTC day: how many routing, handling, total and reply times fell in it.

    ``bucket`` is the lower bound in ms at two significant digits (1234.5 ms counts in 1200). Every
    decision is counted twice: under its channel and under ``ALL_CHANNELS``, so a report reads one
    channel's rows either way. Kept by the same trigger; it gives p50/p95 on SQLite without sorting
    millions of rows (agents' re-routes are not counted, handling times only for answered messages, and
    since migration 0015 not for thank-yous; since migration 0008 files alone and give-ups count in the
    reply time only; since 0021 withdrawn messages have no reply time; since 0022 answers cut short by a
    stop have no handling or total time).
    """

    __tablename__ = "daily_latencies"
    __table_args__ = ({"sqlite_with_rowid": False},)

    channel_id: Mapped[str] = mapped_column(SlackId, primary_key=True)
    bucket: Mapped[float] = mapped_column(Float, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    routing: Mapped[int] = mapped_column(Integer)
    handling: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    reply: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"))


# The Core tables, for the report's SELECTs.
daily_rollups = cast(Table, DailyRollupRow.__table__)
daily_latencies = cast(Table, DailyLatencyRow.__table__)
