"""The SQL behind the routing report, through SQLAlchemy Core; every figure is aggregated in the database.

A period is read from two places: whole UTC days from ``daily_rollups`` / ``daily_latencies`` (kept by a
trigger, thousands of rows for months of traffic), and the hours at either end from ``routing_decisions``
itself, through the covering index ``ix_routing_decisions_stats``. Both are grouped alike and added up.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    and_,
    case,
    cast,
    false,
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.tables import (
    ALL_CHANNELS,
    daily_latencies,
    daily_rollups,
    route_feedback,
    routing_decisions,
    threads,
)
from router.models import Source

KEY = ("channel_id", "category", "source", "escalated", "escalation_reason")
CONF = tuple(f"conf_{i}" for i in range(10))
SUMS: tuple[str, ...] = ("routing_ms", "handling_ms", "total_ms", "input_tokens", "output_tokens")
SUMS += ("cache_read_tokens", "cache_creation_tokens", "cost_usd")
VALUES = ("decisions", "confidence_sum", *CONF, *SUMS)
METRICS = ("routing", "handling", "total")
DAY = timedelta(days=1)
AGENT = Source.AGENT.value


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


def _in(column: Any, low: Any, high: Any) -> ColumnElement[bool]:
    return and_(column < high, *([column >= low] if low is not None else []))


def _raw_where(span: Span, low: datetime | None, high: datetime) -> list[ColumnElement[bool]]:
    # One range per statement: SQLite answers an OR of ranges through the table, not the covering index.
    d = routing_decisions
    return [_in(d.c.created_at, low, high)] + ([d.c.channel_id == span.channel_id] if span.channel_id else [])


def _days_where(table: Any, span: Span) -> list[ColumnElement[bool]]:
    if span.days is None:
        return [false()]
    return [_in(table.c.day, *span.days)] + (
        [table.c.channel_id == span.channel_id] if span.channel_id else []
    )


def _confidence_bucket(i: int) -> ColumnElement[Any]:
    c = routing_decisions.c.confidence
    inside = c >= i / 10 if i == 9 else and_(c >= i / 10, c < (i + 1) / 10)
    return case((inside, literal_column("1")), else_=literal_column("0"))


def grouped_statements(span: Span) -> list[Select[Any]]:
    """Per channel, category, source and escalation: the summed figures; ``part`` 0 rollups, 1 decisions.

    One statement per source of rows; the same group may come from both, and the caller adds them up.
    The rollups' GROUP BY follows their primary key, so SQLite reads them in order without sorting.
    """
    r, d = daily_rollups, routing_decisions
    statements: list[Select[Any]] = []
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
            *(func.sum(d.c[n]).label(n) for n in SUMS),
        ]
        statements.append(
            select(literal_column("1").label("part"), *raw_keys, *values)
            .where(*_raw_where(span, low, high))
            .group_by(*raw_keys)
        )
    return statements


def feedback_statement(span: Span) -> Select[Any]:
    """Verdicts per routed category for decisions made in the period."""
    f = route_feedback
    where = [_in(f.c.decided_at, span.start, span.end)]
    where += [f.c.channel_id == span.channel_id] if span.channel_id else []
    return (
        select(f.c.routed_category, f.c.verdict, func.count().label("n"))
        .where(*where)
        .group_by(f.c.routed_category, f.c.verdict)
    )


def handoffs_statement(span: Span) -> Select[Any]:
    """Threads an agent took over during the period."""
    t = threads
    # taken_over_at is set with taken_over_by and cleared with it (hand back): the index covers the count.
    where = [_in(t.c.taken_over_at, span.start, span.end)]
    where += [t.c.channel_id == span.channel_id] if span.channel_id else []
    return select(func.count()).select_from(t).where(*where)


def _metric_filter(metric: str) -> list[ColumnElement[bool]]:
    d = routing_decisions
    return [d.c.source != AGENT] + ([d.c.escalated.is_(False)] if metric == "handling" else [])


def _bucket(ms: Any) -> ColumnElement[Any]:
    """Two significant digits, as the rollup trigger of migration 0002 computes them (SQLite)."""

    def whole(x: Any) -> Any:
        return cast(x, Integer)

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


def histogram_statements(span: Span) -> list[Select[Any]]:
    """Per latency bucket: how many routing, handling and total times fell in it (SQLite).

    The rollups' rows for one channel (or for all, ``ALL_CHANNELS``) are read in primary-key order.
    """
    h, d = daily_latencies, routing_decisions
    statements: list[Select[Any]] = []
    if span.days is not None:
        where = [_in(h.c.day, *span.days), h.c.channel_id == (span.channel_id or ALL_CHANNELS)]
        sums = (func.sum(h.c[m]).label(m) for m in METRICS)
        statements.append(select(h.c.bucket, *sums).where(*where).group_by(h.c.bucket))
    for (low, high), metric in itertools.product(span.raw, METRICS):
        bucket = _bucket(d.c[f"{metric}_ms"]).label("bucket")
        counts = [(func.count() if m == metric else literal_column("0")).label(m) for m in METRICS]
        where = [*_raw_where(span, low, high), *_metric_filter(metric)]
        statements.append(select(bucket, *counts).where(*where).group_by(bucket))
    return statements


def percentile_statement(span: Span) -> Select[Any]:
    """p50 and p95 of each time with ``percentile_cont`` (PostgreSQL), over the period's decisions."""
    d = routing_decisions
    columns = []
    for metric in METRICS:
        column = d.c[f"{metric}_ms"]
        for p in (0.5, 0.95):
            aggregate: Any = func.percentile_cont(p).within_group(column)
            if metric == "handling":
                aggregate = aggregate.filter(d.c.escalated.is_(False))
            columns.append(aggregate.label(f"{metric}_{int(p * 100)}"))
    return select(*columns).where(*_raw_where(span, span.start, span.end), d.c.source != AGENT)


async def exact_percentiles(
    conn: AsyncConnection, span: Span, metric: str, count: int
) -> tuple[float | None, float | None]:
    """p50 and p95 as ``percentile_cont`` computes them, by ORDER BY ... LIMIT 2 OFFSET (SQLite)."""
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
            .where(*_raw_where(span, span.start, span.end), *_metric_filter(metric))
            .order_by(column)
            .limit(2)
            .offset(k)
        )
        values = [float(v) for v in (await conn.execute(stmt)).scalars()]
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
