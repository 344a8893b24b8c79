"""The SQL behind the routing report, through SQLAlchemy Core; every figure is aggregated in the database.

A period is read from two places: whole UTC days from ``daily_rollups`` / ``daily_latencies`` (kept by a
trigger, thousands of rows for months of traffic), and the hours at either end from ``routing_decisions``
itself, through the covering index ``ix_routing_decisions_stats``. Both are grouped alike and added up.
The times' percentiles are in ``bot.stats.percentiles``.

``db purge`` deletes old decisions but keeps the rollups: ``bot.stats.purges`` tells the report which of
the period's decisions are still there to read.
Without a channel, the decisions of ``support-router demo`` and ``chat`` (``LOCAL_CHANNELS``) are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.stats.period import LOCAL_CHANNELS
from bot.store.records import GAVE_UP, NO_TEXT
from bot.store.tables.decisions import routing_decisions
from bot.store.tables.feedback import route_feedback
from bot.store.tables.messages import inbound_messages
from bot.store.tables.rollups import daily_rollups
from bot.store.tables.threads import seen_by_agents, threads
from router.models import Source

KEY = ("channel_id", "category", "source", "escalated", "escalation_reason")
CONF = tuple(f"conf_{i}" for i in range(10))
SUMS: tuple[str, ...] = ("routing_ms", "handling_ms", "total_ms", "input_tokens", "output_tokens")
SUMS += ("cache_read_tokens", "cache_creation_tokens", "cost_usd", "reply_ms")
# ``replies``: the decisions with a reply time (routing_decisions.reply_ms), which ``reply_ms`` sums;
# ``unmeasured``: those whose router times and tokens are stand-ins (routing_decisions.measured false);
# ``follow_ups``: customers' messages in a thread where the bot had already replied;
# ``acknowledgements``: thank-yous after an answer, given the acknowledgement reply (no handler ran);
# ``withdrawn``: decisions on a message its author deleted before the reply (nothing posted; a thank-you
# among them is not counted in ``acknowledgements``); ``stopped``: answers posted that the customer stopped;
# ``cut_short``: answers stopped before their end (by the customer, or by the message's deletion) with the
# router's times on record: their handling and total times are not summed in ``handling_ms`` / ``total_ms``.
COUNTS = ("replies", "unmeasured", "follow_ups", "acknowledgements", "withdrawn", "stopped", "cut_short")
# The times a stop cuts short (the classification was over before the answer began).
CUT_SUMS = ("handling_ms", "total_ms")
VALUES = ("decisions", "confidence_sum", *CONF, *SUMS, *COUNTS)
# The router's times, and the customer's wait (``reply``: from their message to the bot's reply).
METRICS = ("routing", "handling", "total", "reply")
DAY = timedelta(days=1)
AGENT = Source.AGENT.value
# Decisions recorded for a customer's message that no classifier made: a file alone (source ``none``), and
# the escalation of a message given up on after every retry (``Conversations.give_up``: source
# ``fallback`` with reason ``handler_error``, which a real fallback never has: the policy escalates it as
# ``classifier_error`` before any handler runs). Their category is the first route's and their
# confidence and times 0: the report counts them apart, out of categories, confidence and times (but in
# the reply time: their customer waited for the escalation all the same).
# (The rule itself is the store's, which marks verdicts on such decisions as it records them.)


def classified(source: Any, escalation_reason: Any) -> ColumnElement[bool]:
    """SQL: a customer's decision made by a classifier (:func:`not_classified` is None); not an agent's."""
    gave_up = and_(source == GAVE_UP[0], func.coalesce(escalation_reason, "") == GAVE_UP[1])
    return and_(source.not_in([AGENT, NO_TEXT]), ~gave_up)


@dataclass(frozen=True)
class Span:
    """How a period [start, end) is read: whole days from the rollups, the rest from the decisions."""

    days: tuple[date | None, date] | None
    raw: tuple[tuple[datetime | None, datetime], ...]
    start: datetime | None
    end: datetime
    channel_id: str | None = None


def split_period(
    start: datetime | None, end: datetime, channel_id: str | None = None, *, up_to_now: bool = False
) -> Span:
    """Split [start, end) into whole UTC days and the partial days around them.

    With ``up_to_now`` the period ends at the present, so today's rollups hold exactly its last partial
    day, and only the first partial day is read from the decisions.
    """
    end = end.astimezone(UTC)
    last_day = datetime.combine(end.date(), time.min, UTC)
    if up_to_now and last_day < end:
        last_day += DAY
    first_day = None
    if start is not None:
        start = start.astimezone(UTC)
        first_day = datetime.combine(start.date(), time.min, UTC)
        first_day += DAY if first_day < start else timedelta(0)
        if first_day >= last_day:
            return Span(None, ((start, end),), start, end, channel_id)
    raw: list[tuple[datetime | None, datetime]] = []
    if start is not None and first_day is not None and start < first_day:
        raw.append((start, first_day))
    if last_day < end:
        raw.append((last_day, end))
    days = (first_day.date() if first_day else None, last_day.date())
    return Span(days, tuple(raw), start, end, channel_id)


def in_range(column: Any, low: Any, high: Any) -> ColumnElement[bool]:
    """``low <= column < high``; no lower bound when ``low`` is None."""
    return and_(column < high, *([column >= low] if low is not None else []))


def channel_where(column: Any, span: Span) -> list[ColumnElement[bool]]:
    """The span's channel; without one, every channel but the local ones (demo, console)."""
    if span.channel_id:
        return [column == span.channel_id]
    return [func.coalesce(column, "").not_in(list(LOCAL_CHANNELS))]


def raw_where(span: Span, low: datetime | None, high: datetime) -> list[ColumnElement[bool]]:
    """The span's decisions made in [low, high)."""
    # One range per statement: SQLite answers an OR of ranges through the table, not the covering index.
    d = routing_decisions
    return [in_range(d.c.created_at, low, high), *channel_where(d.c.channel_id, span)]


def _days_where(table: Any, span: Span) -> list[ColumnElement[bool]]:
    if span.days is None:
        return [false()]
    return [in_range(table.c.day, *span.days), *channel_where(table.c.channel_id, span)]


def _one_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return case((condition, literal_column("1")), else_=literal_column("0"))


def _confidence_bucket(i: int) -> ColumnElement[Any]:
    c = routing_decisions.c.confidence
    return _one_if(c >= i / 10 if i == 9 else and_(c >= i / 10, c < (i + 1) / 10))


def _unless_cut_short(name: str) -> ColumnElement[Any]:
    """SQL: the decision's ``name``, or 0 for a time a stop cut short, as the rollup trigger sums it."""
    d = routing_decisions
    if name not in CUT_SUMS:
        return d.c[name]
    return case((d.c.stopped_by_customer.is_(True), literal_column("0")), else_=d.c[name])


def grouped_statements(span: Span) -> list[Select[Any]]:
    """Per channel, category, source and escalation: the summed figures; ``part`` 0 rollups, 1 decisions.

    One statement per source of rows; the same group may come from both, and the caller adds them up.
    The rollups' GROUP BY follows their primary key, so SQLite reads them in order without sorting.
    """
    r, d = daily_rollups, routing_decisions
    statements: list[Select[Any]] = []
    withdrawn = d.c.withdrawn
    if span.days is not None:
        keys = [r.c[n] for n in KEY]
        statements.append(
            select(literal_column("0").label("part"), *keys, *(func.sum(r.c[n]).label(n) for n in VALUES))
            .where(*_days_where(r, span))
            .group_by(*keys)
        )
    for low, high in span.raw:
        raw_keys: list[Any] = [
            func.coalesce(d.c.channel_id, "").label("channel_id"),
            d.c.category,
            d.c.source,
            d.c.escalated,
            func.coalesce(d.c.escalation_reason, "").label("escalation_reason"),
        ]
        values = [
            func.count().label("decisions"),
            func.sum(d.c.confidence).label("confidence_sum"),
            *(func.sum(_confidence_bucket(i)).label(n) for i, n in enumerate(CONF)),
            *(func.sum(_unless_cut_short(n)).label(n) for n in SUMS),
            func.count(d.c.reply_ms).label("replies"),
            func.sum(_one_if(d.c.measured.is_(False))).label("unmeasured"),
            func.sum(_one_if(d.c.follow_up.is_(True))).label("follow_ups"),
            func.sum(_one_if(and_(d.c.acknowledgement.is_(True), withdrawn.is_(False)))).label(
                "acknowledgements"
            ),
            func.sum(_one_if(withdrawn.is_(True))).label("withdrawn"),
            func.sum(_one_if(and_(d.c.stopped_by_customer.is_(True), withdrawn.is_(False)))).label("stopped"),
            func.sum(_one_if(and_(d.c.stopped_by_customer.is_(True), d.c.measured.is_(True)))).label(
                "cut_short"
            ),
        ]
        statements.append(
            select(literal_column("1").label("part"), *raw_keys, *values)
            .where(*raw_where(span, low, high))
            .group_by(*raw_keys)
        )
    return statements


async def read_rows(conn: AsyncConnection, statements: Sequence[Any]) -> list[Row[Any]]:
    """The rows of every statement, one after the other (the caller adds up groups found in several)."""
    return [row for stmt in statements for row in (await conn.execute(stmt)).all()]


def feedback_statement(span: Span) -> Select[Any]:
    """Verdicts per routed category for classifications made in the period, from the verdicts' index
    alone: an agent's verdict on a file alone or a message given up on says nothing of the classifier,
    and is marked so when recorded (``route_feedback.classified``)."""
    f = route_feedback
    where = [in_range(f.c.decided_at, span.start, span.end), *channel_where(f.c.channel_id, span)]
    return (
        select(f.c.routed_category, f.c.verdict, func.count().label("n"))
        .where(*where, f.c.classified)
        .group_by(f.c.routed_category, f.c.verdict)
    )


def handoffs_statement(span: Span) -> Select[Any]:
    """Threads an agent took over during the period (handed back since or not).

    ``taken_over_at`` is set by the first take-over and kept by a hand back, which clears only
    ``taken_over_by``: a thread counts once, in the period of its first take-over.
    """
    t = threads
    # Only Slack's threads are here (demo and chat keep none): without a channel, the index answers.
    where = [in_range(t.c.taken_over_at, span.start, span.end)]
    where += [t.c.channel_id == span.channel_id] if span.channel_id else []
    return select(func.count()).select_from(t).where(*where)


# How soon agents picked up an escalation: the report counts those picked up within each time.
PICKUP_BUCKETS = (("15 min", 15), ("1 h", 60), ("4 h", 240))
PICKUP_NAMES = tuple(name for name, _ in PICKUP_BUCKETS)


def pickups_statement(span: Span, now: datetime) -> Select[Any]:
    """The period's escalations (by when they were made; a thread's latest): how many, how many an agent
    picked up, within each of PICKUP_BUCKETS (cumulative) and of how many (``base_``: see
    :func:`_pickup_base`), and when the longest waiting began, in one pass over ``ix_threads_escalations``.
    Only those whose pick-up agents can be seen to make (``seen_by_agents``: a DM never announced in their
    channel has nowhere to show it), and that still wanted a person: one whose message the customer deleted
    before any agent acted (``escalation_withdrawn_at``, 0024) is neither a miss nor a customer still
    waiting."""
    t = threads
    waiting = t.c.pickup_seconds.is_(None)
    still_wanted = or_(t.c.escalation_withdrawn_at.is_(None), t.c.pickup_seconds.is_not(None))
    where = [in_range(t.c.escalated_at, span.start, span.end), seen_by_agents(t), still_wanted]
    where += [t.c.channel_id == span.channel_id] if span.channel_id else []
    columns: list[Any] = [
        func.count().label("escalations"),
        func.count(t.c.pickup_seconds).label("picked_up"),
        *(
            func.count().filter(t.c.pickup_seconds <= minutes * 60).label(f"within_{minutes}")
            for _, minutes in PICKUP_BUCKETS
        ),
        *(_pickup_base(minutes, now).label(f"base_{minutes}") for _, minutes in PICKUP_BUCKETS),
        func.min(t.c.escalated_at).filter(waiting).label("waiting_since"),
    ]
    return select(*columns).where(*where)


def _pickup_base(minutes: int, now: datetime) -> ColumnElement[Any]:
    """SQL: the escalations that tell whether agents pick up within ``minutes``: those picked up within
    them, and those made longer ago. One made 10 minutes ago and waiting may yet be picked up within 15:
    counted as a miss, a burst of fresh escalations read as agents picking up none."""
    t = threads
    made_before = now - timedelta(minutes=minutes)
    return func.count().filter(or_(t.c.pickup_seconds <= minutes * 60, t.c.escalated_at <= made_before))


# Claimed customer messages that end without a decision of their own (see ``Store.leave_to_agents``,
# ``Store.abandon``), and those not finished yet.
UNDECIDED_STATES = ("left", "failed", "pending")
# Deleted by their author before the bot routed them (``Store.close_withdrawn``): no decision, nothing spent.
WITHDRAWN_STATE = "withdrawn"


def undecided_statement(span: Span) -> Select[Any]:
    """Per state and channel, the customer messages received in the period that have no decision (those
    withdrawn before they were routed among them).

    Few rows are in these states, so the state index finds them without reading the finished ones;
    ``db purge`` deletes the finished ones with the decisions of their time.
    """
    m = inbound_messages
    where = [
        m.c.state.in_([*UNDECIDED_STATES, WITHDRAWN_STATE]),
        in_range(m.c.received_at, span.start, span.end),
        *channel_where(m.c.channel_id, span),
    ]
    return (
        select(m.c.state, m.c.channel_id, func.count().label("n"))
        .where(*where)
        .group_by(m.c.state, m.c.channel_id)
    )
