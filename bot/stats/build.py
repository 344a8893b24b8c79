"""Building the routing report: run the aggregates of ``bot.stats.queries`` and add up their groups.

After ``db purge`` the rollups still count a period's old messages, but their decisions are gone: the
times' percentiles are then read from the daily histograms (which purge keeps too), and agent feedback is
weighed against the messages whose decisions are still there (their verdicts went with the others).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.stats.percentiles import exact_percentiles, histogram_statements, histograms, percentile_statement
from bot.stats.period import StatsRequest
from bot.stats.queries import (
    AGENT,
    CONF,
    DAY,
    METRICS,
    PICKUP_BUCKETS,
    Span,
    feedback_statement,
    first_day_statements,
    grouped_statements,
    handoffs_statement,
    kept_since_statement,
    last_cutoff_statement,
    pickups_statement,
    purged_statements,
    split_period,
    undecided_statement,
)
from bot.stats.report import (
    GAVE_UP_REASON,
    NO_REASON,
    CategoryFeedback,
    Previous,
    StatsReport,
    Timing,
    group_direct_messages,
    shares,
)
from bot.store.database import Database
from bot.store.errors import DatabaseError
from bot.store.records import not_classified
from router.models import EscalationReason, Source

BUSIEST_CHANNELS = 5
# Up to this many messages the database sorts the times for exact percentiles; beyond, the report reads
# the daily histograms (PostgreSQL's percentile_cont over a million decisions took 2 s).
EXACT_LIMIT = 10_000
NO_CHANNEL = "(none)"
# What a customer adds under a DM already escalated goes on to the person in charge (``bot.conversation``):
# not another escalation, counted apart.
PASSED_ON = EscalationReason.WITH_A_PERSON.value
ERROR_REASONS = {
    EscalationReason.CLASSIFIER_ERROR.value,
    EscalationReason.HANDLER_ERROR.value,
    GAVE_UP_REASON,
}


@dataclass(frozen=True)
class Kept:
    """What the log still holds of a period that ``db purge`` cut into."""

    since: datetime | None  # when the earliest decision kept was made; None when none is left
    messages: int
    routed: dict[str, int]  # per category


async def build_report(store: Database, request: StatsRequest) -> StatsReport:
    """The report for ``request``, read in one read-only connection (no write lock on SQLite), but for the
    escalations' pickups, read at the same time in another: over a long period theirs is the report's
    longest statement (on SQLite each connection queries in a thread of its own)."""
    span = split_period(request.start, request.end, request.channel_id, up_to_now=request.up_to_now)
    pickups = asyncio.create_task(_read_pickups(store, span), name="routing-stats pickups")
    try:
        async with store.reading() as conn:
            whole_day = await _from_the_first_days_start(conn, span, request.up_to_now)
            span = whole_day or span
            groups = await _rows(conn, grouped_statements(span))
            verdicts = (await conn.execute(feedback_statement(span))).all()
            handoffs = int((await conn.execute(handoffs_statement(span))).scalar_one())
            undecided = (await conn.execute(undecided_statement(span))).all()
            figures, averages = _fold(groups)
            kept = await _kept(conn, span, request.up_to_now, figures["messages"])
            timings, exact = await _timings(conn, store, span, averages, whole=kept is None)
            previous = await _previous(conn, request)
        picked_up = await pickups
    finally:
        if not pickups.done():
            pickups.cancel()
            with contextlib.suppress(asyncio.CancelledError, DatabaseError):
                await pickups
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
        **_feedback(verdicts, routed),
        **_undecided(undecided),
        **picked_up,
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


async def _previous(conn: AsyncConnection, request: StatsRequest) -> Previous | None:
    """The headline figures of the whole UTC days just before ``request``'s period, as many as it has
    (24h: the day before it began; 7d: the 7 days before): read from the daily rollups alone, so the
    comparison costs a few milliseconds. None before ``all`` and before a period yet to come.

    A date range cut at now is read against the same stretch of the days before it, as long as the part
    of it that has happened (this week's range on Wednesday morning: last week's Monday to Wednesday
    morning): against all of them, its traffic would seem to collapse. That stretch's last hours are read
    from the decisions."""
    if request.start is None or request.start > datetime.now(UTC):
        return None
    days = max(1, round(((request.range_end or request.end) - request.start) / DAY))
    end = datetime.combine(request.start.astimezone(UTC).date(), time.min, UTC)
    try:
        start = end - days * DAY
    except OverflowError:
        return None  # a period in year 1 has none before it
    if request.range_end is not None:
        end = start + (request.end - request.start)
    span = split_period(start, end, request.channel_id)
    figures, averages = _fold(await _rows(conn, grouped_statements(span)))
    reviews = _feedback((await conn.execute(feedback_statement(span))).all(), {})["feedback_total"]
    replies, waited = averages["reply"]
    return Previous(
        start=start,
        end=end,
        messages=figures["messages"],
        escalations=figures["escalations"],
        passed_on=figures["passed_on"],
        confidence_average=figures["confidence_average"],
        measured_messages=figures["messages"] - figures["unmeasured"],
        cost_usd=figures["cost_usd"],
        reply_average_ms=waited / replies if replies else None,
        reviewed=reviews.reviewed,
        correct=reviews.correct,
    )


async def _rows(conn: AsyncConnection, statements: Sequence[Any]) -> list[Row[Any]]:
    return [row for stmt in statements for row in (await conn.execute(stmt)).all()]


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
        groups = await _rows(conn, grouped_statements(kept_span))
    kept, _ = _fold(groups)
    if kept["messages"] == messages:
        return None  # the purged decisions were of other channels or periods
    return Kept(since, kept["messages"], {s.name: s.count for s in kept["categories"]})


Averages = dict[str, tuple[int, float]]


def _fold(groups: Sequence[Row[Any]]) -> tuple[dict[str, Any], Averages]:
    """Add up the grouped rows into the report's counts, shares and sums, and each time's (count, sum).

    Every customer's message counts in messages, escalations, channels and the reply time; only
    classifications in categories, sources, confidence and the router's times (see
    ``bot.store.records.not_classified``). A message passed on to the person in charge (``PASSED_ON``) is
    escalated but is no new escalation: counted apart, out of the escalations and their reasons. A
    thank-you after an answer (``acknowledgements``) is counted apart too, out of the categories and the
    handling time: no handler wrote its reply, and "thanks" is no customer's need.
    """
    customers = [g for g in groups if g.source != AGENT]
    unclassified: Counter[str] = Counter()
    unclassified_unmeasured: Counter[str] = Counter()  # of those, with no tokens on record
    for g in customers:
        kind = not_classified(g.source, g.escalation_reason) or ""
        unclassified[kind] += int(g.decisions)
        unclassified_unmeasured[kind] += int(g.unmeasured or 0)
    classified = [g for g in customers if not not_classified(g.source, g.escalation_reason)]
    answered = [g for g in classified if not g.escalated]
    messages = sum(int(g.decisions) for g in customers)
    count = unclassified[""]
    categories: Counter[str] = Counter()
    escalated: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    passed_on = fallbacks_passed_on = 0
    for g in customers:
        n = int(g.decisions)
        channels[g.channel_id or NO_CHANNEL] += n
        if g.escalated and g.escalation_reason == PASSED_ON:
            passed_on += n
            # Claude failed all the same: an error, as every fallback is (blocks.FALLBACKS says so).
            fallbacks_passed_on += n if g.source == Source.FALLBACK.value else 0
        elif g.escalated:
            gave_up = not_classified(g.source, g.escalation_reason) == "gave_up"
            reasons[GAVE_UP_REASON if gave_up else g.escalation_reason or NO_REASON] += n
    thanked = 0
    for g in classified:
        n = int(g.decisions)
        sources[g.source] += n
        # An escalated thank-you (an agent wrote first) stays among the escalations of its category.
        acknowledgements = 0 if g.escalated else int(g.acknowledgements or 0)
        categories[g.category] += n - acknowledgements
        thanked += acknowledgements
        if g.escalated and g.escalation_reason != PASSED_ON:
            escalated[g.category] += n
    escalations = sum(reasons.values())

    def total(rows: Sequence[Row[Any]], name: str) -> float:
        return sum(float(getattr(g, name) or 0) for g in rows)

    def measured(rows: Sequence[Row[Any]]) -> int:
        """How many of the rows' decisions have the router's times (not stand-ins of 0)."""
        return sum(int(g.decisions) - int(g.unmeasured or 0) for g in rows)

    averages = {
        "routing": (measured(classified), total(classified, "routing_ms")),
        # A thank-you's handling time is a stand-in of 0 ms, in the sum: taken out of the count alone.
        "handling": (measured(answered) - thanked, total(answered, "handling_ms")),
        "total": (measured(classified), total(classified, "total_ms")),
        # Every customer's message, classified or not: a file alone or a give-up kept them waiting too.
        "reply": (int(total(customers, "replies")), total(customers, "reply_ms")),
    }
    figures = {
        "messages": messages,
        "follow_ups": int(total(customers, "follow_ups")),
        "unmeasured": int(total(customers, "unmeasured")),
        "no_text": unclassified["no_text"],
        "gave_up": unclassified["gave_up"],
        "gave_up_unmeasured": unclassified_unmeasured["gave_up"],
        "categories": shares(dict(categories), count - thanked),
        "category_escalations": dict(escalated),
        "escalations": escalations,
        "passed_on": passed_on,
        "acknowledgements": thanked,
        "escalation_reasons": shares(dict(reasons), escalations),
        "confidence_average": total(classified, "confidence_sum") / count if count else None,
        "confidence_buckets": [int(total(classified, name)) for name in CONF],
        "sources": shares(dict(sources), count),
        "errors": sum(n for reason, n in reasons.items() if reason in ERROR_REASONS) + fallbacks_passed_on,
        "fallbacks": sources[Source.FALLBACK.value],
        # Re-routes that could not be answered count in tokens and cost alone.
        "reroutes_answered": sum(int(g.decisions) for g in groups if g.source == AGENT and not g.escalated),
        "channels": shares(group_direct_messages(dict(channels)), messages, BUSIEST_CHANNELS),
        "input_tokens": int(total(groups, "input_tokens")),
        "output_tokens": int(total(groups, "output_tokens")),
        "cache_read_tokens": int(total(groups, "cache_read_tokens")),
        "cache_creation_tokens": int(total(groups, "cache_creation_tokens")),
        "cost_usd": total(groups, "cost_usd"),
    }
    return figures, averages


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
        found = histograms(await _rows(conn, histogram_statements(span, postgres=postgres)))
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


def _undecided(rows: Sequence[Row[Any]]) -> dict[str, Any]:
    """The messages without a decision, per state; where the undelivered ones are (the busiest channels,
    and how many others)."""
    states: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    for row in rows:
        states[row.state] += int(row.n)
        if row.state == "failed":
            lost[row.channel_id or NO_CHANNEL] += int(row.n)
    places = group_direct_messages(dict(lost))
    return {
        "undelivered": states["failed"],
        "undelivered_channels": shares(places, limit=BUSIEST_CHANNELS),
        "undelivered_more_channels": max(0, len(places) - BUSIEST_CHANNELS),
        "left_to_agents": states["left"],
        "pending": states["pending"],
    }


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


def _feedback(verdicts: Sequence[Row[Any]], routed_counts: dict[str, int]) -> dict[str, Any]:
    """Per routed category: reviewed, correct and re-routed decisions, against how many were routed
    (whose decisions are still in the log: a purge deletes verdicts with their decisions)."""
    counts: dict[str, Counter[str]] = {}
    for row in verdicts:
        counts.setdefault(row.routed_category, Counter())[row.verdict] += int(row.n)
    per_category = []
    for category in sorted(set(counts) | set(routed_counts)):
        c = counts.get(category, Counter())
        per_category.append(
            CategoryFeedback(
                category=category,
                routed=routed_counts.get(category, 0),
                reviewed=c["correct"] + c["rerouted"],
                correct=c["correct"],
                rerouted=c["rerouted"],
            )
        )
    overall = CategoryFeedback(
        category="All",
        routed=sum(f.routed for f in per_category),
        reviewed=sum(f.reviewed for f in per_category),
        correct=sum(f.correct for f in per_category),
        rerouted=sum(f.rerouted for f in per_category),
    )
    return {"feedback": per_category, "feedback_total": overall}
