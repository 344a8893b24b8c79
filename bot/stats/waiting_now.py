"""The routing report's one figure of the present, not of its period: the customers waiting right now on the
agent who holds their thread (``threads.customer_waiting_since``, 0023: they wrote again after an agent took
the thread over, and no agent has replied since). A manager reads it to step in; a wait that began before
the period is as much theirs to act on as one that began in it, so the period does not limit it.

Reminded waits count too (the reminder tags the agents once; the customer waits on), so the partial index
``ix_threads_customer_waiting``, of the waits not yet reminded of, cannot answer it: without a channel the
statement reads the whole of ``threads`` (40-55 ms over 700,000 threads, on SQLite), which
:func:`bot.stats.build.build_report` runs beside the report's other reads; with a channel, SQLite finds the
channel's threads through their unique key. A partial index of every wait would make it instant: see
docs/performance.md, "/routing-stats: how it stays fast".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from bot.stats.queries import Span, channel_where
from bot.store.database import Database
from bot.store.tables.threads import threads


def waiting_now_statement(span: Span) -> Select[Any]:
    """How many customers wait on the agent holding their thread, in the span's channel (without one, in
    every channel but the local ones, as the report's other figures: demo and chat keep no threads
    today, and one they kept would be no customer's), and since when the longest has waited."""
    t = threads
    waiting = t.c.customer_waiting_since
    columns: list[Any] = [func.count().label("customers"), func.min(waiting).label("since")]
    return select(*columns).where(waiting.is_not(None), *channel_where(t.c.channel_id, span))


async def read_waiting_now(store: Database, span: Span) -> dict[str, Any]:
    """The report's fields of the customers waiting on an agent (see :func:`waiting_now_statement`), read
    in a connection of its own: how many, and how long the longest has waited (None with none waiting)."""
    async with store.reading() as conn:
        row = (await conn.execute(waiting_now_statement(span))).one()
    # Aware UTC: min() keeps the column's UTCDateTime. A wait begun a moment after this clock's now (by
    # another replica's clock) has waited no time, not a negative one.
    longest = None if row.since is None else max(datetime.now(UTC) - row.since, timedelta(0))
    return {"customers_waiting": int(row.customers), "customers_waiting_longest": longest}
