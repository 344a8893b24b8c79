"""p50 and p95 of the routing, handling, total and reply times: exact from the decisions, or histograms.

Exact with ``percentile_cont`` on PostgreSQL, and on SQLite by ``ORDER BY ... LIMIT 2 OFFSET``; for many
messages on SQLite, or when ``db purge`` has deleted some of the period's decisions, from the daily latency
histograms (two significant digits) that the rollup trigger keeps, and that a purge leaves.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    and_,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.stats.period import LOCAL_CHANNELS
from bot.stats.queries import AGENT, METRICS, Span, classified, in_range, raw_where
from bot.store.tables.decisions import routing_decisions
from bot.store.tables.rollups import ALL_CHANNELS, daily_latencies


def _metric_filter(metric: str) -> list[ColumnElement[bool]]:
    """The decisions whose times count, as the rollup trigger (migration 0022) counts them: for the
    router's times the classifications (not files alone nor give-ups) that were measured (not a reply
    recovered after a restart), for handling only the answered ones, not the thank-yous (no handler
    wrote their reply); for the reply time every customer's message that has one (an agent's re-route
    has none, nor has a withdrawn message: nothing was posted). An answer stopped before its end has no
    handling or total time (migration 0022): the stop, not the bot, ended it."""
    d = routing_decisions
    if metric == "reply":
        return [d.c.reply_ms.is_not(None), d.c.source != AGENT]
    where = [classified(d.c.source, d.c.escalation_reason), d.c.measured.is_(True)]
    if metric != "routing":
        where.append(d.c.stopped_by_customer.is_(False))
    # A withdrawn thank-you closed nothing: counted among the (withdrawn) answers, as migration 0021 does.
    answered = [d.c.escalated.is_(False), or_(d.c.acknowledgement.is_(False), d.c.withdrawn.is_(True))]
    return where + (answered if metric == "handling" else [])


def _bucket(ms: Any, postgres: bool) -> ColumnElement[Any]:
    """Two significant digits, as the rollup trigger of migration 0002 computes them.

    The trigger truncates: SQLite's CAST to INTEGER does too, PostgreSQL's rounds, so there ``floor``.
    """

    def whole(x: Any) -> Any:
        return func.floor(x) if postgres else cast(x, Integer)

    n = literal_column
    return case(
        (ms < n("1"), whole(ms * n("100")) / n("100.0")),
        (ms < n("10"), whole(ms * n("10")) / n("10.0")),
        (ms < n("100"), whole(ms) * n("1.0")),
        (ms < n("1000"), whole(ms / n("10")) * n("10.0")),
        (ms < n("10000"), whole(ms / n("100")) * n("100.0")),
        (ms < n("100000"), whole(ms / n("1000")) * n("1000.0")),
        else_=whole(ms / n("10000")) * n("10000.0"),
    )


def histogram_statements(span: Span, *, postgres: bool = False) -> list[Select[Any]]:
    """Per latency bucket: how many routing, handling, total and reply times fell in it.

    The rollups' rows for one channel are read in primary-key order; for every channel, the rows of
    ``ALL_CHANNELS``, and those of the local channels (demo, console) counted negatively to take them out.
    """
    h, d = daily_latencies, routing_decisions
    statements: list[Select[Any]] = []
    if span.days is not None:
        days = in_range(h.c.day, *span.days)
        channel = span.channel_id or ALL_CHANNELS
        sums = [func.sum(h.c[m]).label(m) for m in METRICS]
        statements.append(
            select(h.c.bucket, *sums).where(days, h.c.channel_id == channel).group_by(h.c.bucket)
        )
        less = [(-func.sum(h.c[m])).label(m) for m in METRICS]
        # One statement per channel: with IN, SQLite's planner skip-scans the whole primary key.
        for local in [] if span.channel_id else LOCAL_CHANNELS:
            where = [days, h.c.channel_id == local]
            statements.append(select(h.c.bucket, *less).where(*where).group_by(h.c.bucket))
    for (low, high), metric in itertools.product(span.raw, METRICS):
        bucket = _bucket(d.c[f"{metric}_ms"], postgres).label("bucket")
        counts = [(func.count() if m == metric else literal_column("0")).label(m) for m in METRICS]
        where = [*raw_where(span, low, high), *_metric_filter(metric)]
        statements.append(select(bucket, *counts).where(*where).group_by(bucket))
    return statements


def percentile_statement(span: Span) -> Select[Any]:
    """p50 and p95 of each time with ``percentile_cont`` (PostgreSQL), over the period's decisions."""
    d = routing_decisions
    columns = []
    for metric in METRICS:
        column = d.c[f"{metric}_ms"]
        for p in (0.5, 0.95):
            aggregate = func.percentile_cont(p).within_group(column).filter(and_(*_metric_filter(metric)))
            columns.append(aggregate.label(f"{metric}_{int(p * 100)}"))
    return select(*columns).where(*raw_where(span, span.start, span.end), d.c.source != AGENT)


def times_kept_statement(span: Span, metric: str) -> Select[Any]:
    """How many of ``metric``'s times the span's decisions still in the log hold (fewer than the rollups
    counted when ``db purge`` deleted some)."""
    where = [*raw_where(span, span.start, span.end), *_metric_filter(metric)]
    return select(func.count()).select_from(routing_decisions).where(*where)


async def exact_percentiles(
    conn: AsyncConnection, span: Span, metric: str, count: int
) -> tuple[float | None, float | None] | None:
    """p50 and p95 as ``percentile_cont`` computes them, by ORDER BY ... LIMIT 2 OFFSET (SQLite).

    ``count`` is how many of the span's decisions have the time; None when fewer are there to read.
    """
    column = routing_decisions.c[f"{metric}_ms"]
    found: list[float | None] = []
    for p in (0.5, 0.95):
        if count == 0:
            found.append(None)
            continue
        rank = p * (count - 1)
        k = int(rank)
        stmt = (
            select(column)
            .where(*raw_where(span, span.start, span.end), *_metric_filter(metric))
            .order_by(column)
            .limit(2)
            .offset(k)
        )
        values = [float(v) for v in (await conn.execute(stmt)).scalars()]
        if not values:
            return None
        low = values[0]
        high = values[1] if len(values) > 1 else low
        found.append(low + (high - low) * (rank - k))
    return found[0], found[1]


@dataclass
class Histogram:
    """Bucket lower bounds (ascending) and counts of one time."""

    buckets: list[tuple[float, int]] = field(default_factory=list)

    def percentile(self, p: float) -> float | None:
        """``percentile_cont`` over the values spread evenly inside their buckets."""
        count = sum(n for _, n in self.buckets)
        if count == 0:
            return None
        rank = p * (count - 1)
        k = int(rank)
        low, high = self._value(k), self._value(min(k + 1, count - 1))
        return low + (high - low) * (rank - k)

    def _value(self, index: int) -> float:
        seen = 0
        for bucket, n in self.buckets:
            if index < seen + n:
                return bucket + bucket_width(bucket) * (index - seen + 0.5) / n
            seen += n
        raise IndexError(index)


def bucket_width(bucket: float) -> float:
    """The width of the two-significant-digit bucket starting at ``bucket``."""
    for limit, width in ((1, 0.01), (10, 0.1), (100, 1.0), (1000, 10.0), (10000, 100.0), (100000, 1000.0)):
        if bucket < limit:
            return width
    return 10000.0


def histograms(rows: Sequence[Row[Any]]) -> dict[str, Histogram]:
    """The histogram statements' rows (a bucket may come from several) as one histogram per time."""
    counts: dict[str, dict[float, int]] = {metric: {} for metric in METRICS}
    for row in rows:
        for metric in METRICS:
            n = int(getattr(row, metric) or 0)
            if n:
                bucket = float(row.bucket)
                counts[metric][bucket] = counts[metric].get(bucket, 0) + n
    return {metric: Histogram(sorted(counts[metric].items())) for metric in METRICS}
