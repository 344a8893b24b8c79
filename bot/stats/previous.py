"""The period before the report's, to read its headline figures against: the whole UTC days just before
it, as many as it has, read from the daily rollups (and their latency histograms) alone.

A comparison to the hour (the same span shifted back, its two partial days read from the decisions)
nearly doubled the report's time over a million decisions, for a difference no manager reads
(docs/performance.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.stats.figures import fold_feedback, fold_groups
from bot.stats.headline import Previous
from bot.stats.percentiles import (
    exact_percentiles,
    histogram_statements,
    histograms,
    percentile_statement,
    times_kept_statement,
)
from bot.stats.period import StatsRequest
from bot.stats.queries import DAY, Span, feedback_statement, grouped_statements, read_rows, split_period


async def read_previous(
    conn: AsyncConnection, request: StatsRequest, *, postgres: bool, exact_limit: int
) -> Previous | None:
    """The headline figures of the whole UTC days just before ``request``'s period, as many as it has
    (24h: the day before it began; 7d: the 7 days before). None before ``all`` and before a period yet
    to come.

    A date range cut at now is read against the same stretch of the days before it, as long as the part
    of it that has happened (this week's range on Wednesday morning: last week's Monday to Wednesday
    morning): against all of them, its traffic would seem to collapse. That stretch's last hours are read
    from the decisions.

    The customers' median wait is exact when the report's would be (up to ``exact_limit`` replies, all
    still in the log), else read from the daily histograms: compared with one read otherwise, the
    rounding of one would show as a change."""
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
    figures, averages = fold_groups(await read_rows(conn, grouped_statements(span)))
    reviews = fold_feedback((await conn.execute(feedback_statement(span))).all(), {})["feedback_total"]
    replies, _ = averages["reply"]
    exact = replies <= exact_limit and await _all_kept(conn, span, replies)
    return Previous(
        start=start,
        end=end,
        days=days,
        messages=figures["messages"],
        escalations=figures["escalations"],
        passed_on=figures["passed_on"],
        withdrawn=figures["withdrawn"],
        measured_messages=figures["messages"] - figures["unmeasured"],
        cost_usd=figures["cost_usd"],
        reply_p50_ms=await _median_wait(conn, span, replies, exact=exact, postgres=postgres),
        reviewed=reviews.reviewed,
        correct=reviews.correct,
        answers=answers(figures),
        stopped=sum(figures["category_stopped"].values()),
    )


def answers(figures: dict[str, Any]) -> int:
    """The answers posted among ``fold_groups``' figures: the categories' messages neither escalated nor
    passed on (as :attr:`StatsReport.answers` counts them)."""
    escalated = sum(figures["category_escalations"].values()) + sum(figures["category_passed_on"].values())
    return sum(share.count for share in figures["categories"]) - escalated


async def _all_kept(conn: AsyncConnection, span: Span, replies: int) -> bool:
    """Whether every reply time the rollups counted is still in the log (``db purge`` keeps the counts)."""
    return int((await conn.execute(times_kept_statement(span, "reply"))).scalar_one()) == replies


async def _median_wait(
    conn: AsyncConnection, span: Span, replies: int, *, exact: bool, postgres: bool
) -> float | None:
    """The p50 of the customers' wait over ``span``: exact, or from the daily histograms."""
    if replies == 0:
        return None
    if exact and postgres:
        median = (await conn.execute(percentile_statement(span))).one().reply_50
        return None if median is None else float(median)
    if exact:
        found = await exact_percentiles(conn, span, "reply", replies)
        if found is not None:
            return found[0]
    rows = await read_rows(conn, histogram_statements(span, postgres=postgres))
    return histograms(rows)["reply"].percentile(0.5)
