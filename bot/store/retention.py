"""Retention: ``db purge``, which deletes what the store keeps of customers' words once it is old enough."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, delete, func, select

from bot.store.database import Database
from bot.store.tables.base import utcnow
from bot.store.tables.decisions import routing_decisions
from bot.store.tables.examples import learned_examples
from bot.store.tables.messages import inbound_messages
from bot.store.tables.purges import purges
from bot.store.tables.threads import threads

# Rows ``db purge`` deletes per transaction.
PURGE_BATCH = 5000


class Purged(NamedTuple):
    """How many rows :meth:`Store.purge` deleted."""

    decisions: int
    messages: int
    threads: int
    examples: int


class Retention(Database):
    """The retention half of the store (see :class:`bot.store.Store`)."""

    async def purge(self, older_than: timedelta) -> Purged:
        """Delete decisions, finished messages, quiet threads and learned examples (customers' words)
        older than ``older_than``.

        Pending messages are never deleted, whatever their age: they are still owed an answer. Agents'
        feedback on a deleted decision goes with it; the daily stats rollups (no text) stay. Rows go
        :data:`PURGE_BATCH` at a time, each batch its own transaction: on SQLite one transaction over
        months of rows held the write lock for seconds, and the serving bot's claims timed out.
        """
        cutoff = utcnow() - older_than
        m, d, t, e = inbound_messages, routing_decisions, threads, learned_examples
        finished = and_(m.c.state != "pending", func.coalesce(m.c.completed_at, m.c.received_at) < cutoff)
        decisions = await self._delete_in_batches(d, d.c.created_at < cutoff)
        # Noted once the decisions are gone: /routing-stats reads how far the purge reached.
        async with self._transaction() as conn:
            await conn.execute(purges.insert().values(cutoff=cutoff, purged_at=utcnow(), decisions=decisions))
        return Purged(
            decisions,
            await self._delete_in_batches(m, finished),
            await self._delete_in_batches(t, t.c.updated_at < cutoff),
            await self._delete_in_batches(e, e.c.created_at < cutoff),
        )

    async def _delete_in_batches(self, table: Any, where: ColumnElement[bool]) -> int:
        deleted = 0
        while True:
            batch = select(table.c.id).where(where).limit(PURGE_BATCH).scalar_subquery()
            async with self._transaction() as conn:
                count = (await conn.execute(delete(table).where(table.c.id.in_(batch)))).rowcount
            deleted += count
            if count < PURGE_BATCH:
                return deleted
