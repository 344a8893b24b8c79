"""Thread states: where the bot answered, escalated, or was taken over by an agent and must stay silent.

Which escalations still wait for an agent (the reminders, the catch-up's notices) is
:mod:`bot.store.awaiting`; what each write changes in a thread already on record is
:mod:`bot.store.thread_changes`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, null, or_, select, text, update

from bot.store.awaiting import customer_answered, customer_picked_up
from bot.store.database import Database
from bot.store.records import NoticedThread, ThreadState
from bot.store.tables.base import utcnow
from bot.store.tables.messages import inbound_messages
from bot.store.tables.threads import NOTICED, threads
from bot.store.thread_changes import answered_changes, picked_up, rerouted_changes, since_escalated, upsert


class ThreadStates(Database):
    """The thread half of the store (see :class:`bot.store.Store`)."""

    async def get_thread(self, team_id: str, channel_id: str, thread_ts: str) -> ThreadState | None:
        """The thread's state, or None when it is none of the bot's business.

        A thread is the bot's from the moment its root message is claimed, before the first answer is
        posted: an agent who replies in the meantime takes it over, and a customer's follow-up is routed.
        """
        t, m = threads, inbound_messages
        stmt = select(*_state_columns()).where(
            t.c.team_id == team_id, t.c.channel_id == channel_id, t.c.thread_ts == thread_ts
        )
        root = select(m.c.user_id).where(
            m.c.team_id == team_id, m.c.channel_id == channel_id, m.c.ts == thread_ts
        )
        async with self.reading() as conn:
            row = (await conn.execute(stmt)).first()
            if row is None:
                customer = (await conn.execute(root)).scalar()
                return None if customer is None else ThreadState(customer_id=customer)
        return ThreadState.model_validate(row._asdict())

    async def bot_silent(self, team_id: str, channel_id: str, thread_ts: str) -> bool:
        """Whether the thread is in a person's hands (escalated, or taken over by an agent)."""
        thread = await self.get_thread(team_id, channel_id, thread_ts)
        return thread is not None and thread.bot_silent

    async def direct_message_taker(self, team_id: str, channel_id: str, since: datetime) -> str | None:
        """The agent who most recently took up an escalated thread of the DM ``channel_id`` (replying
        under its notice) since ``since``, and has it still; None when none has."""
        t = threads
        stmt = (
            select(t.c.taken_over_by)
            .where(t.c.team_id == team_id, t.c.channel_id == channel_id, t.c.taken_over_by.is_not(None))
            .where(t.c.notice_ts.is_not(None), t.c.taken_over_at >= since)
            .order_by(t.c.taken_over_at.desc())
            .limit(1)
        )
        async with self.reading() as conn:
            taker = (await conn.execute(stmt)).scalar()
        return str(taker) if taker else None

    def noticed_thread_statement(self, team_id: str, channel_id: str, notice_ts: str) -> Any:
        """See :meth:`noticed_thread`; through ``ix_threads_notice``, whose condition this repeats."""
        t = threads
        return (
            select(t.c.channel_id, t.c.thread_ts, *_state_columns())
            .where(text(NOTICED), t.c.team_id == team_id)
            .where(t.c.notice_channel_id == channel_id, t.c.notice_ts == notice_ts)
        )

    async def noticed_thread(self, team_id: str, channel_id: str, notice_ts: str) -> NoticedThread | None:
        """The DM whose escalation the message ``notice_ts`` in ``channel_id`` announced to the agents, or
        None (every reply in the agents' channel asks, while Slack waits for its acknowledgement)."""
        async with self.reading() as conn:
            row = (await conn.execute(self.noticed_thread_statement(team_id, channel_id, notice_ts))).first()
        if row is None:
            return None
        fields = row._asdict()
        key = {"channel_id": fields.pop("channel_id"), "thread_ts": fields.pop("thread_ts")}
        return NoticedThread(**key, state=ThreadState.model_validate(fields))

    async def note_notice(
        self,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        customer_id: str,
        notice_channel_id: str,
        notice_ts: str,
    ) -> None:
        """Note where a DM's escalation was announced to the agents, as soon as it is (before the decision
        is recorded: an agent may reply under it at once). The thread's first notice is kept (the one the
        agents were tagged in, where what follows goes) unless it is in another channel: the agents' channel
        was changed since."""
        t = threads
        insert = self._insert(t).values(
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            customer_id=customer_id,
            escalated=False,
            bot_answered=False,
            notice_channel_id=notice_channel_id,
            notice_ts=notice_ts,
            updated_at=utcnow(),
        )
        first = or_(t.c.notice_ts.is_(None), t.c.notice_channel_id != insert.excluded.notice_channel_id)
        changes = {
            "notice_channel_id": case(
                (first, insert.excluded.notice_channel_id), else_=t.c.notice_channel_id
            ),
            "notice_ts": case((first, insert.excluded.notice_ts), else_=t.c.notice_ts),
        }
        async with self._transaction() as conn:
            await conn.execute(upsert(insert, changes))

    def answered_statement(
        self,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        category: str,
        escalated: bool,
        customer_id: str | None = None,
        *,
        rerouted_by: str | None = None,
        rerouted_at: str | None = None,
        message_ts: str | None = None,
    ) -> Any:
        """The upsert noting that the bot posted in the thread (an answer or an escalation), for a caller
        to run in the transaction that records the decision: the two are never apart. ``message_ts``: the
        customer's message it is about, which an escalation's wait is about (``threads.waiting_on``).

        Escalated stays escalated, unless an agent re-routed the message (``rerouted_by``, at the Slack
        ts ``rerouted_at``): the agent asked the bot to answer, so the thread is the bot's again (given
        back as by :meth:`hand_back`) unless this answer escalates too; taken over by another agent, who
        wrote there while the answer was written, it stays theirs. The first ``customer_id`` noted is
        kept: the person the bot answers in this thread.
        """
        t = threads
        now = utcnow()
        insert = self._insert(t).values(
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            customer_id=customer_id,
            category=category,
            escalated=escalated,
            escalated_at=now if escalated else None,
            waiting_on=message_ts if escalated else None,
            bot_answered=True,
            updated_at=now,
        )
        changes = answered_changes(insert)
        if rerouted_by is not None:
            changes |= rerouted_changes(
                insert, now, escalated, rerouted_by, rerouted_at, postgres=self._postgres
            )
        return upsert(insert, changes)

    async def take_over(
        self, team_id: str, channel_id: str, thread_ts: str, agent_id: str, *, customer: bool = False
    ) -> None:
        """Note that an agent spoke in the thread: the bot stays silent there until :meth:`hand_back`,
        and a customer who wrote there waits no more (``AwaitingAgents.customer_wrote``).

        The first agent to take a thread over is kept. ``customer``: the thread is a DM's, and the agent
        replied under its notice, taking the customer up: the DM's other escalations are picked up too
        (:func:`bot.store.awaiting.customer_picked_up`), and its other waits end.
        """
        t = threads
        now = utcnow()
        insert = self._insert(t).values(
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            escalated=False,
            bot_answered=False,
            taken_over_by=agent_id,
            taken_over_at=now,
            updated_at=now,
        )
        changes = {
            "taken_over_by": func.coalesce(t.c.taken_over_by, insert.excluded.taken_over_by),
            "taken_over_at": func.coalesce(t.c.taken_over_at, insert.excluded.taken_over_at),
            "pickup_seconds": picked_up(now, postgres=self._postgres),
            "customer_waiting_since": null(),
            "updated_at": insert.excluded.updated_at,
        }
        async with self._transaction() as conn:
            await conn.execute(upsert(insert, changes))
            if customer:
                await conn.execute(
                    customer_picked_up(team_id, channel_id, since_escalated(now, postgres=self._postgres))
                )
                await conn.execute(customer_answered(team_id, channel_id))

    async def hand_back(
        self, team_id: str, channel_id: str, thread_ts: str, *, at: str | None = None
    ) -> bool:
        """Let the bot answer in the thread again: clears escalated, who took it over and a customer's
        wait for them (the bot answers the next message; one written before is the agent's). False when the
        thread was not silent (another agent's hand-back came first): only one of them tells the thread.

        ``at``: the click's Slack ts, kept (see ``ThreadState.written_before_hand_back``).

        ``taken_over_at`` stays: /routing-stats counts the thread among those taken over by agents.
        """
        t = threads
        now = utcnow()
        stmt = (
            update(t)
            .where(t.c.team_id == team_id, t.c.channel_id == channel_id, t.c.thread_ts == thread_ts)
            .where(or_(t.c.escalated, t.c.taken_over_by.is_not(None)))
            .values(
                escalated=False,
                taken_over_by=None,
                customer_waiting_since=None,
                pickup_seconds=picked_up(now, postgres=self._postgres),
                updated_at=now,
            )
            .values({"handed_back_ts": at} if at is not None else {})
        )
        async with self._transaction() as conn:
            return bool((await conn.execute(stmt)).rowcount)


def _state_columns() -> list[Any]:
    """The columns of a :class:`ThreadState`."""
    t = threads
    return [
        t.c.customer_id,
        t.c.category,
        t.c.escalated,
        t.c.bot_answered,
        t.c.taken_over_by,
        t.c.notice_channel_id,
        t.c.notice_ts,
        t.c.handed_back_ts,
    ]
