"""What the catch-up after a restart reads from the store: where customers wrote lately, and when the bot
last decided."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, func, or_, select, tuple_

from bot.store.database import Database
from bot.store.tables.decisions import routing_decisions
from bot.store.tables.messages import inbound_messages
from bot.store.tables.threads import threads

# Threads looked up per query by the catch-up's (3 bound values each).
THREADS_PER_QUERY = 300


class LastSeen(NamedTuple):
    """A channel customers wrote in lately, and the ts of the last of their messages the bot took there."""

    team_id: str
    channel_id: str
    ts: str
    # The threads here a customer wrote in lately that the bot still has a part in (see
    # :meth:`RecentActivity.last_seen`), the most recently active first.
    threads: tuple[SeenThread, ...] = ()


class SeenThread(NamedTuple):
    """A thread of :class:`LastSeen`: its root's ts, the ts of the last message the bot took in it, and
    its customer."""

    thread_ts: str
    ts: str
    customer_id: str | None


class RecentActivity(Database):
    """The store's reads for the catch-up (:mod:`bot.catch_up`)."""

    def last_seen_statement(self, since: datetime) -> Select[Any]:
        """See :meth:`last_seen`: the messages posted since ``since``, in order, through
        ``ix_inbound_messages_ts``. (Grouped by channel in SQL, SQLite read the whole table along the
        unique key instead.)"""
        m = inbound_messages
        # Slack's ts strings are fixed-width ("1712345678.000100"): they sort as they were sent. A reply
        # waiting for its thread's first message is no sign the bot saw what came before it: that first
        # message, which the catch-up must find, is older.
        return (
            select(m.c.team_id, m.c.channel_id, m.c.thread_ts, m.c.ts)
            .where(m.c.ts >= _ts(since), m.c.state != "waiting")
            .order_by(m.c.ts)
        )

    async def last_seen(
        self, since: datetime, limit: int, *, threads_since: datetime | None = None
    ) -> list[LastSeen]:
        """The channels (and DMs) where the bot took a customer message posted since ``since``, the most
        recently active first, at most ``limit``: each with the ts of the last message it took there.

        With ``threads_since``, each also lists its threads where the bot took a message posted since
        then and which are still partly its own: every thread in a DM (what a customer adds to an escalated
        one goes on to the agents), and in a channel those no agent took over (an escalation an agent
        answered while the bot was away is that agent's pick-up).
        """
        channels: dict[tuple[str, str], str] = {}
        in_threads: dict[tuple[str, str, str], str] = {}
        threads_from = _ts(threads_since) if threads_since is not None else None
        async with self.reading() as conn:
            async for team, channel, thread_ts, ts in await conn.stream(self.last_seen_statement(since)):
                # In ts order, re-inserted: each dict ends in the order of its keys' last message.
                channels.pop((team, channel), None)
                channels[(team, channel)] = ts
                if threads_from is not None and ts >= threads_from:
                    in_threads.pop((team, channel, thread_ts), None)
                    in_threads[(team, channel, thread_ts)] = ts
            recent = list(channels.items())[::-1][:limit]
            wanted = {key for key, _ in recent}
            candidates = [key for key in reversed(in_threads) if key[:2] in wanted]
            open_threads = await _still_ours(conn, candidates)
        by_channel: dict[tuple[str, str], list[SeenThread]] = {}
        for key in candidates:
            if key in open_threads:
                seen = SeenThread(key[2], in_threads[key], open_threads[key])
                by_channel.setdefault(key[:2], []).append(seen)
        return [
            LastSeen(team, channel, ts, tuple(by_channel.get((team, channel), ())))
            for (team, channel), ts in recent
        ]

    async def last_decided(self) -> datetime | None:
        """When the bot last recorded a decision (None: never): it had posted every reply it recorded by
        then, so a thread whose latest reply is later had someone write in it since."""
        async with self.reading() as conn:
            return (await conn.execute(select(func.max(routing_decisions.c.created_at)))).scalar()


async def _still_ours(
    conn: Any, keys: Sequence[tuple[str, str, str]]
) -> dict[tuple[str, str, str], str | None]:
    """Those of the threads ``keys`` (team, channel, root ts) that :meth:`RecentActivity.last_seen` lists,
    with their customer: in a DM, or not taken over by an agent; in batches, by the threads' unique key."""
    t = threads
    found: dict[tuple[str, str, str], str | None] = {}
    for start in range(0, len(keys), THREADS_PER_QUERY):
        batch = keys[start : start + THREADS_PER_QUERY]
        stmt = select(t.c.team_id, t.c.channel_id, t.c.thread_ts, t.c.customer_id).where(
            tuple_(t.c.team_id, t.c.channel_id, t.c.thread_ts).in_(batch),
            or_(t.c.channel_id.like("D%"), t.c.taken_over_by.is_(None)),
        )
        found.update(
            {(team, channel, ts): customer for team, channel, ts, customer in await conn.execute(stmt)}
        )
    return found


def _ts(moment: datetime) -> str:
    """``moment`` as a Slack ts, to compare with those stored."""
    return f"{moment.timestamp():.6f}"
