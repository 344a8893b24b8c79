"""What replicas read and hold in the store to take turns on a conversation (``bot.turns``).

A message waits while an earlier one of its conversation is pending, in whichever replica; an agent's
re-route holds its answered message, so that two agents choosing at once get one answer. Both use the
inbound messages' rows: their state, and the lease of a message that no longer needs one.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select, update

from bot.store.database import Database
from bot.store.inbox import message_key
from bot.store.records import InboundMessage
from bot.store.tables.base import utcnow
from bot.store.tables.messages import inbound_messages


class TurnTaking(Database):
    """Whether a conversation's earlier message is still pending, and the holds on re-routed messages."""

    async def earlier_pending(
        self, msg: InboundMessage, *, whole_channel: bool = False, besides: Collection[str] = ()
    ) -> bool:
        """Whether a message sent before ``msg`` in its thread (or, ``whole_channel``, anywhere in its
        channel: a DM) is still pending, here or in another replica; messages whose ts is in
        ``besides`` (the caller's own, already in line) do not count.

        A thread's question is answered from its own index entries (``ix_inbound_messages_state_thread``),
        not from the channel's history; a DM's from the DM's history, one customer's.
        """
        async with self.reading() as conn:
            stmt = earlier_pending_statement(msg, whole_channel=whole_channel, besides=besides)
            return (await conn.execute(stmt)).first() is not None

    async def hold_answered(
        self, msg: InboundMessage, lease_seconds: float, *, holding: datetime | None = None
    ) -> datetime | None:
        """Hold ``msg``, answered already, for ``lease_seconds`` while an agent's re-route of it is
        answered, in whichever replica: the lease of a message, unused once it is done, says who is at it.

        Returns when the hold ends: the caller's proof of holding it, given back as ``holding`` to renew
        it, and to :meth:`release_answered`. None while another re-route holds it (renewing: once this
        one's ran out and another took it). A message never claimed (a decision of the demo's) holds
        nothing, and no one else can re-route it in Slack: its end is returned all the same.
        """
        now = utcnow()
        until = now + timedelta(seconds=lease_seconds)
        m = inbound_messages
        free = or_(m.c.lease_until.is_(None), m.c.lease_until <= now)
        ours = free if holding is None else m.c.lease_until == holding
        stmt = update(m).where(message_key(msg), m.c.state == "done", ours).values(lease_until=until)
        async with self._transaction() as conn:
            if (await conn.execute(stmt)).rowcount:
                return until
            if holding is not None:
                return None
            held = select(m.c.id).where(message_key(msg), m.c.state == "done", ~free)
            return None if (await conn.execute(held)).first() is not None else until

    async def release_answered(self, msg: InboundMessage, holding: datetime) -> None:
        """End the hold :meth:`hold_answered` gave (``holding``, its end), if it is still the caller's: the
        next agent's re-route of ``msg`` may go ahead."""
        m = inbound_messages
        stmt = (
            update(m)
            .where(message_key(msg), m.c.state == "done", m.c.lease_until == holding)
            .values(lease_until=None)
        )
        async with self._transaction() as conn:
            await conn.execute(stmt)


def earlier_pending_statement(
    msg: InboundMessage, *, whole_channel: bool = False, besides: Collection[str] = ()
) -> Select[tuple[int]]:
    """The query behind :meth:`Store.earlier_pending`."""
    m = inbound_messages
    stmt = select(m.c.id).where(
        m.c.state == "pending",
        m.c.team_id == msg.team_id,
        m.c.channel_id == msg.channel_id,
        # Slack's ts strings are fixed-width ("1712345678.000100"): they sort as they were sent.
        m.c.ts < msg.ts,
    )
    if not whole_channel:
        stmt = stmt.where(m.c.thread_ts == msg.thread_ts)
    if besides:
        stmt = stmt.where(m.c.ts.not_in(list(besides)))
    return stmt.limit(1)
