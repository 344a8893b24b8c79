"""Building the routing report: run the aggregates of ``bot.stats.queries`` and add up their groups."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.stats.period import StatsRequest
from bot.stats.queries import (
    AGENT,
    CONF,
    METRICS,
    Span,
    exact_percentiles,
    feedback_statement,
    grouped_statements,
    handoffs_statement,
    histogram_statements,
    histograms,
    percentile_statement,
    split_period,
)
from bot.stats.report import CategoryFeedback, StatsReport, Timing, shares
from bot.store.database import Database
from router.models import EscalationReason, Source

BUSIEST_CHANNELS = 5
# Up to this many messages SQLite sorts the times for exact percentiles; beyond, it reads the histograms.
EXACT_LIMIT = 10_000
NO_CHANNEL = "(none)"
NO_REASON = "unspecified"
ERROR_REASONS = {EscalationReason.CLASSIFIER_ERROR.value, EscalationReason.HANDLER_ERROR.value}


async def build_report(store: Database, request: StatsRequest) -> StatsReport:
    """The report for ``request``, read in one read-only connection (no write lock on SQLite)."""
    span = split_period(request.start, request.end, request.channel_id, up_to_now=request.up_to_now)
    async with store.reading() as conn:
        groups = [row for stmt in grouped_statements(span) for row in (await conn.execute(stmt)).all()]
        verdicts = (await conn.execute(feedback_statement(span))).all()
        handoffs = int((await conn.execute(handoffs_statement(span))).scalar_one())
        figures, averages = _fold(groups)
        timings, exact = await _timings(conn, store, span, averages)
    return StatsReport(
        period=request.period,
        start=request.start,
        end=request.end,
        channel=request.channel_label,
        handoffs=handoffs,
        percentiles_exact=exact,
        **timings,
        **figures,
        **_feedback(verdicts, figures["categories"]),
    )


Averages = dict[str, tuple[int, float]]


def _fold(groups: Sequence[Row[Any]]) -> tuple[dict[str, Any], Averages]:
    """Add up the grouped rows into the report's counts, shares and sums, and each time's (count, sum)."""
    customers = [g for g in groups if g.source != AGENT]
    answered = [g for g in customers if not g.escalated]
    messages = sum(int(g.decisions) for g in customers)
    categories: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    for g in customers:
        n = int(g.decisions)
        categories[g.category] += n
        sources[g.source] += n
        channels[g.channel_id or NO_CHANNEL] += n
        if g.escalated:
            reasons[g.escalation_reason or NO_REASON] += n
    escalations = sum(reasons.values())

    def total(rows: Sequence[Row[Any]], name: str) -> float:
        return sum(float(getattr(g, name) or 0) for g in rows)

    answered_count = sum(int(g.decisions) for g in answered)
    averages = {
        "routing": (messages, total(customers, "routing_ms")),
        "handling": (answered_count, total(answered, "handling_ms")),
        "total": (messages, total(customers, "total_ms")),
    }
    figures = {
        "messages": messages,
        "categories": shares(dict(categories), messages),
        "escalations": escalations,
        "escalation_reasons": shares(dict(reasons), escalations),
        "confidence_average": total(customers, "confidence_sum") / messages if messages else None,
        "confidence_buckets": [int(total(customers, name)) for name in CONF],
        "sources": shares(dict(sources), messages),
        "errors": sum(n for reason, n in reasons.items() if reason in ERROR_REASONS),
        "fallbacks": sources[Source.FALLBACK.value],
        "reroutes_answered": sum(int(g.decisions) for g in groups if g.source == AGENT),
        "channels": shares(dict(channels), messages, BUSIEST_CHANNELS),
        "input_tokens": int(total(groups, "input_tokens")),
        "output_tokens": int(total(groups, "output_tokens")),
        "cache_read_tokens": int(total(groups, "cache_read_tokens")),
        "cache_creation_tokens": int(total(groups, "cache_creation_tokens")),
        "cost_usd": total(groups, "cost_usd"),
    }
    return figures, averages


async def _timings(
    conn: AsyncConnection, store: Database, span: Span, averages: Averages
) -> tuple[dict[str, Timing], bool]:
    """Average, p50 and p95 of each time: exact, or on SQLite beyond EXACT_LIMIT, from the histograms."""
    percentiles: dict[str, tuple[float | None, float | None]] = {}
    exact = True
    if store.engine.dialect.name == "postgresql":
        row = (await conn.execute(percentile_statement(span))).one()
        percentiles = {m: (getattr(row, f"{m}_50"), getattr(row, f"{m}_95")) for m in METRICS}
    elif averages["total"][0] > EXACT_LIMIT:
        exact = False
        rows = [row for stmt in histogram_statements(span) for row in (await conn.execute(stmt)).all()]
        found = histograms(rows)
        percentiles = {m: (found[m].percentile(0.5), found[m].percentile(0.95)) for m in METRICS}
    else:
        for metric in METRICS:
            percentiles[metric] = await exact_percentiles(conn, span, metric, averages[metric][0])
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


def _feedback(verdicts: Sequence[Row[Any]], routed: list[Any]) -> dict[str, Any]:
    """Per routed category: reviewed, correct and re-routed decisions, against how many were routed."""
    counts: dict[str, Counter[str]] = {}
    for row in verdicts:
        counts.setdefault(row.routed_category, Counter())[row.verdict] += int(row.n)
    routed_counts = {share.name: share.count for share in routed}
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
