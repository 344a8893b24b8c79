"""What ``db purge`` took from a period: the SQL that tells the report which decisions are still there.

A purge deletes old decisions but keeps the rollups, so the report reads whole days as before; the hours it
would read from the decisions, and the counts beside them, may be missing some. These statements compare
what the rollups counted with what the log still holds.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import Select, func, literal_column, select

from bot.stats.queries import DAY, Span, channel_where, raw_where
from bot.store.tables.decisions import routing_decisions
from bot.store.tables.purges import purges
from bot.store.tables.rollups import daily_rollups


def first_day_statements(span: Span) -> tuple[Select[Any], Select[Any]] | None:
    """For a period that starts within a day (that day read from the decisions, not the rollups): the
    decisions the rollups counted that whole day, and those of that day still in the log (fewer when
    ``db purge`` deleted some). None when the period starts at a day's start, or at the beginning."""
    if span.start is None or not span.raw or span.raw[0][0] != span.start:
        return None
    day = span.start.date()
    low = datetime.combine(day, time.min, UTC)
    r, d = daily_rollups, routing_decisions
    rolled = select(func.coalesce(func.sum(r.c.decisions), 0)).where(
        r.c.day == day, *channel_where(r.c.channel_id, span)
    )
    present = select(func.count()).select_from(d).where(*raw_where(span, low, low + DAY))
    return rolled, present


def last_cutoff_statement() -> Select[Any]:
    """How far back the latest ``db purge`` deleted decisions (None: no purge recorded, or only purges
    made before migration 0014, which recorded none)."""
    return select(func.max(purges.c.cutoff))


def kept_since_statement() -> Select[Any]:
    """When the earliest decision still in the log was made (None: the log is empty).

    ``db purge`` deletes every decision older than a cutoff, in every channel: those made since this
    time are all there, and the rollups are the only trace of any made before it.
    """
    return select(func.min(routing_decisions.c.created_at))


def purged_statements(kept_since: datetime | None) -> tuple[Select[Any], Select[Any]]:
    """Decisions counted by the rollups up to the day of ``kept_since``, and those still in the log.

    Every purged decision is older than ``kept_since``, so the difference is how many were ever purged;
    the second statement reads at most a day of decisions.
    """
    r, d = daily_rollups, routing_decisions
    if kept_since is None:
        return select(func.coalesce(func.sum(r.c.decisions), 0)), select(literal_column("0"))
    day = kept_since.astimezone(UTC).date()
    rolled = select(func.coalesce(func.sum(r.c.decisions), 0)).where(r.c.day <= day)
    before = datetime.combine(day, time.min, UTC) + DAY
    return rolled, select(func.count()).select_from(d).where(d.c.created_at < before)
