"""Building the routing report: run the aggregates of ``bot.stats.queries`` and add up their groups (in
:mod:`bot.stats.figures`).

After ``db purge`` the rollups still count a period's old messages, but their decisions are gone: the
times' percentiles are then read from the daily histograms (which purge keeps too), and agent feedback is
weighed against the messages whose decisions are still there (their verdicts went with the others).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.stats.figures import Averages, fold_feedback, fold_groups, fold_undecided
from bot.stats.percentiles import exact_percentiles, histogram_statements, histograms, percentile_statement
from bot.stats.period import StatsRequest
from bot.stats.previous import read_previous
from bot.stats.purges import (
    first_day_statements,
    kept_since_statement,
    last_cutoff_statement,
    purged_statements,
)
from bot.stats.queries import (
    METRICS,
    PICKUP_BUCKETS,
    Span,
    feedback_statement,
    grouped_statements,
    handoffs_statement,
    pickups_statement,
    read_rows,
    split_period,
    undecided_statement,
)
from bot.stats.report import StatsReport, Timing
from bot.stats.waiting_now import read_waiting_now
from bot.store.database import Database
from bot.store.errors import DatabaseError

# Up to this many messages the database sorts the times for exact percentiles; beyond, the report reads
# the daily histograms (PostgreSQL's percentile_cont over a million decisions took 2 s).
EXACT_LIMIT = 10_000


@dataclass(frozen=True)
class Kept:
    """What the log still holds of a period that ``db purge`` cut into."""

    since: datetime | None  # when the earliest decision kept was made; None when none is left
    messages: int
    routed: dict[str, int]  # per category


async def build_report(store: Database, request: StatsRequest) -> StatsReport:
    """The report for ``request``, read in one read-only connection (no write lock on SQLite), but for the
    escalations' pickups and the customers waiting on an agent now, each read at the same time in another:
    over a long period the pickups' is the report's longest statement, and without a channel the waits'
    reads every thread (on SQLite each connection queries in a thread of its own)."""
    span = split_period(request.start, request.end, request.channel_id, up_to_now=request.up_to_now)
    pickups = asyncio.create_task(_read_pickups(store, span), name="routing-stats pickups")
    waiting = asyncio.create_task(read_waiting_now(store, span), name="routing-stats waiting now")
    try:
        async with store.reading() as conn:
            whole_day = await _from_the_first_days_start(conn, span, request.up_to_now)
            span = whole_day or span
            groups = await read_rows(conn, grouped_statements(span))
            verdicts = (await conn.execute(feedback_statement(span))).all()
            handoffs = int((await conn.execute(handoffs_statement(span))).scalar_one())
            undecided = (await conn.execute(undecided_statement(span))).all()
            figures, averages = fold_groups(groups)
            kept = await _kept(conn, span, request.up_to_now, figures["messages"])
            timings, exact = await _timings(conn, store, span, averages, whole=kept is None)
            postgres = store.engine.dialect.name == "postgresql"
            previous = await read_previous(conn, request, postgres=postgres, exact_limit=EXACT_LIMIT)
        picked_up = await pickups
        waiting_now = await waiting
    finally:
        for task in (pickups, waiting):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, DatabaseError):
                    await task
    routed = {s.name: s.count for s in figures["categories"]} if kept is None else kept.routed
    return StatsReport(
        period=request.period,
        start=span.start,
        first_day_whole=whole_day is not None,
        end=request.end,
        range_end=request.range_end,
        channel=request.channel_label,
        upcoming=request.start is not None and request.start > datetime.now(UTC),
        handoffs=handoffs,
        percentiles_exact=exact,
        kept_messages=None if kept is None else kept.messages,
        kept_since=None if kept is None else kept.since,
        previous=previous,
        **timings,
        **figures,
        **fold_feedback(verdicts, routed),
        **fold_undecided(undecided),
        **picked_up,
        **waiting_now,
    )


async def _from_the_first_days_start(conn: AsyncConnection, span: Span, up_to_now: bool) -> Span | None:
    """The period from 00:00 UTC of its first day when ``db purge`` deleted decisions of that day from
    the period's start on (a daily purge as long as the report, run earlier that day, takes only hours
    before it): the part of it in the period can no longer be counted from the decisions, and the daily
    totals kept cannot be split by the hour, so the whole day is read from them. None otherwise."""
    statements = first_day_statements(span)
    if statements is None or span.start is None:
        return None
    rolled, present = [int((await conn.execute(s)).scalar_one()) for s in statements]
    if rolled <= present:
        return None
    cutoff = (await conn.execute(last_cutoff_statement())).scalar()
    if cutoff is not None and cutoff <= span.start:
        return None  # the purge took only that day's hours before the period: all of it is still there
    start = datetime.combine(span.start.date(), time.min, UTC)
    return split_period(start, span.end, span.channel_id, up_to_now=up_to_now)


async def _kept(conn: AsyncConnection, span: Span, up_to_now: bool, messages: int) -> Kept | None:
    """What is left of the period's ``messages`` when a purge deleted some of their decisions, else None."""
    if messages == 0 or span.days is None:
        return None  # no messages, or all counted from the decisions that are there
    since = (await conn.execute(kept_since_statement())).scalar()
    if since is not None and span.days[0] is not None and span.days[0] > since.astimezone(UTC).date():
        return None  # the rollups read are of days after the purge: every decision is still there
    rolled, present = [int((await conn.execute(s)).scalar_one()) for s in purged_statements(since)]
    if rolled <= present:
        return None  # nothing was ever purged
    groups = []
    if since is not None and since < span.end:
        kept_span = split_period(since, span.end, span.channel_id, up_to_now=up_to_now)
        groups = await read_rows(conn, grouped_statements(kept_span))
    kept, _ = fold_groups(groups)
    if kept["messages"] == messages:
        return None  # the purged decisions were of other channels or periods
    return Kept(since, kept["messages"], {s.name: s.count for s in kept["categories"]})


Percentiles = dict[str, tuple[float | None, float | None]]


async def _timings(
    conn: AsyncConnection, store: Database, span: Span, averages: Averages, *, whole: bool
) -> tuple[dict[str, Timing], bool]:
    """Average, p50 and p95 of each time.

    The percentiles are exact when the period's decisions are ``whole`` (none purged) and no more than
    EXACT_LIMIT; otherwise they are read from the daily histograms.
    """
    postgres = store.engine.dialect.name == "postgresql"
    percentiles: Percentiles | None = None
    if whole and max(count for count, _ in averages.values()) <= EXACT_LIMIT:
        if postgres:
            row = (await conn.execute(percentile_statement(span))).one()
            percentiles = {m: (getattr(row, f"{m}_50"), getattr(row, f"{m}_95")) for m in METRICS}
        else:
            percentiles = await _exact(conn, span, averages)
    exact = percentiles is not None
    if percentiles is None:
        found = histograms(await read_rows(conn, histogram_statements(span, postgres=postgres)))
        percentiles = {m: (found[m].percentile(0.5), found[m].percentile(0.95)) for m in METRICS}
    timings = {}
    for metric in METRICS:
        count, summed = averages[metric]
        p50, p95 = percentiles[metric]
        timings[metric] = Timing(
            count=count,
            average_ms=summed / count if count else None,
            p50_ms=None if p50 is None else float(p50),
            p95_ms=None if p95 is None else float(p95),
        )
    return timings, exact


async def _exact(conn: AsyncConnection, span: Span, averages: Averages) -> Percentiles | None:
    """Every time's exact percentiles on SQLite; None if the log holds fewer times than were counted."""
    found: Percentiles = {}
    for metric in METRICS:
        pair = await exact_percentiles(conn, span, metric, averages[metric][0])
        if pair is None:
            return None
        found[metric] = pair
    return found


async def _read_pickups(store: Database, span: Span) -> dict[str, Any]:
    """The period's escalations (see ``pickups_statement``): how many agents picked up within each time
    (cumulative) and of how many made long enough ago to tell, and how many wait still, since when the
    longest has. (A purge deletes threads with their decisions: the span needs no first-day adjustment.)"""
    async with store.reading() as conn:
        row = (await conn.execute(pickups_statement(span, datetime.now(UTC)))).one()
    return {
        "escalations_to_pick_up": int(row.escalations),
        "picked_up": int(row.picked_up),
        "picked_up_within": {
            name: int(getattr(row, f"within_{minutes}")) for name, minutes in PICKUP_BUCKETS
        },
        "pickup_bases": {name: int(getattr(row, f"base_{minutes}")) for name, minutes in PICKUP_BUCKETS},
        "awaiting_since": row.waiting_since,  # aware UTC: min() keeps the column's UTCDateTime
    }
