"""Messages their author deleted before the bot answered them (see :mod:`bot.withdrawals`)."""

from __future__ import annotations

from sqlalchemy import and_, select, update

from bot.store.inbox import Inbox, message_key
from bot.store.records import InboundMessage
from bot.store.tables import inbound_messages

# The states of a claimed message not answered yet: worked on, or waiting for its thread's first message.
_UNANSWERED = ("pending", "waiting")


class Withdrawals(Inbox):
    """Marking a claimed message withdrawn, reading the mark, and closing the message on it."""

    async def withdraw(self, team_id: str, channel_id: str, ts: str) -> bool:
        """Mark the message ``ts`` withdrawn, if the bot claimed it and has not answered it yet; whether it
        did. The worker that holds it (on any replica) reads the mark (:meth:`is_withdrawn`)."""
        m = inbound_messages
        key = and_(m.c.team_id == team_id, m.c.channel_id == channel_id, m.c.ts == ts)
        stmt = update(m).where(key, m.c.state.in_(_UNANSWERED)).values(withdrawn=True)
        async with self._transaction() as conn:
            return bool((await conn.execute(stmt)).rowcount)

    async def is_withdrawn(self, msg: InboundMessage) -> bool:
        """Whether ``msg``'s author deleted it before it was answered (see :meth:`withdraw`)."""
        stmt = select(inbound_messages.c.withdrawn).where(message_key(msg))
        async with self.reading() as conn:
            return bool((await conn.execute(stmt)).scalar())

    async def close_withdrawn(self, msg: InboundMessage) -> None:
        """Close a withdrawn message the bot had not routed yet (state 'withdrawn'): nothing was decided
        or spent on it, so no decision is recorded, as for a message left to the agents.

        Raises:
            UnknownMessage: the message was never claimed.
        """
        await self._close(msg, "withdrawn")
