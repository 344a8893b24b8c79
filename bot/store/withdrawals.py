"""What customers took back or changed: messages their author deleted before the bot answered them, or
edited while they waited their turn (see :mod:`bot.withdrawals`), and answers they stopped part-way,
which carry no metadata to be known by."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import and_, select, update

from bot.store.inbox import Inbox, message_key
from bot.store.records import InboundMessage
from bot.store.tables.messages import inbound_messages

# The states of a claimed message not answered yet: worked on, or waiting for its thread's first message.
_UNANSWERED = ("pending", "waiting")


class Withdrawals(Inbox):
    """Marking a claimed message withdrawn, reading the mark, and closing the message on it; finding the
    replies streamed in a thread."""

    async def streamed_replies(
        self, team_id: str, channel_id: str, thread_ts: str, reply_ts: Collection[str]
    ) -> dict[str, str]:
        """Of ``reply_ts``, the bot's messages in a thread, those that are streamed replies to a message
        answered there, each with the ts of that message. A stream the customer stopped never gets the
        metadata that names its message (Slack takes no chat.stopStream on it): the store still knows.
        """
        m = inbound_messages
        stmt = select(m.c.reply_ts, m.c.ts).where(
            m.c.state == "done",
            m.c.team_id == team_id,
            m.c.channel_id == channel_id,
            m.c.thread_ts == thread_ts,
            m.c.reply_ts.in_(list(reply_ts)),
        )
        async with self.reading() as conn:
            return {str(reply): str(ts) for reply, ts in (await conn.execute(stmt)).all()}

    async def withdraw(self, team_id: str, channel_id: str, ts: str) -> bool:
        """Mark the message ``ts`` withdrawn, if the bot claimed it and has not answered it yet; whether it
        did. The worker that holds it (on any replica) reads the mark (:meth:`is_withdrawn`)."""
        m = inbound_messages
        key = and_(m.c.team_id == team_id, m.c.channel_id == channel_id, m.c.ts == ts)
        stmt = update(m).where(key, m.c.state.in_(_UNANSWERED)).values(withdrawn=True)
        async with self._transaction() as conn:
            return bool((await conn.execute(stmt)).rowcount)

    async def revise(self, key: tuple[str, str, str], text: str) -> bool:
        """Keep ``text`` as what the message ``key`` (team, channel, ts) says, its author having edited it,
        if the bot claimed it and has not answered it yet; whether it did (see :meth:`revised_text`)."""
        m = inbound_messages
        team_id, channel_id, ts = key
        where = and_(m.c.team_id == team_id, m.c.channel_id == channel_id, m.c.ts == ts)
        stmt = update(m).where(where, m.c.state.in_(_UNANSWERED)).values(text=text)
        async with self._transaction() as conn:
            return bool((await conn.execute(stmt)).rowcount)

    async def revised_text(self, msg: InboundMessage) -> str | None:
        """What ``msg`` says in the store: its text as claimed, or as its author edited it since."""
        stmt = select(inbound_messages.c.text).where(message_key(msg))
        async with self.reading() as conn:
            return (await conn.execute(stmt)).scalar()

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
