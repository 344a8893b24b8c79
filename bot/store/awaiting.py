"""Customers waiting for an agent: escalations no agent has picked up, and customers who wrote again in a
thread an agent holds; the reminders' reads and their one claim each, the DM notices no agent has picked
up, whose replies the catch-up at start reads, and the pick-up of a DM's customer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, text, update

from bot.store.database import Database
from bot.store.records import AwaitingEscalation
from bot.store.tables.base import utcnow
from bot.store.tables.threads import (
    AWAITING_AGENT,
    CUSTOMER_WAITING,
    held_by_agents,
    seen_by_agents,
    threads,
)
from bot.store.withdrawn_waits import escalation_withdrawn, wrote_while_waiting

# How many waiting escalations one look reminds the agents of (the rest wait for the next look).
REMINDER_BATCH = 50


def customer_picked_up(team_id: str, channel_id: str, waited: Any) -> Any:
    """The update ending the wait of every escalation of the DM ``channel_id`` that no agent has picked up,
    each after ``waited`` (SQL: its wait until now), for an agent who replied under one of the DM's notices.
    Customers write on at the top of a DM, each escalated message with a notice of its own: the agent who
    takes the customer up writes to them, and none of their messages waits for a person any more (read as
    waiting, they kept /routing-stats' "still waiting" and a reminder going for a customer in an agent's
    hands). Those threads are not taken over: the agent replied under one notice, which /routing-stats
    counts once among the threads agents took over."""
    t = threads
    return (
        update(t)
        .where(t.c.team_id == team_id, t.c.channel_id == channel_id)
        .where(t.c.escalated.is_(True), t.c.pickup_seconds.is_(None), t.c.escalated_at.is_not(None))
        .values(pickup_seconds=waited)
    )


def customer_answered(team_id: str, channel_id: str) -> Any:
    """The update ending the wait of every customer's message of the DM ``channel_id`` written to an agent
    holding its thread, for an agent who replied under one of the DM's notices: they write to the
    customer (as :func:`customer_picked_up`), whichever of their messages they reply under."""
    t = threads
    return (
        update(t)
        .where(t.c.team_id == team_id, t.c.channel_id == channel_id)
        .where(t.c.customer_waiting_since.is_not(None))
        .values(customer_waiting_since=None)
    )


class AwaitingAgents(Database):
    """The escalations-in-waiting part of the store (see :class:`bot.store.Store`)."""

    def awaiting_agents_statement(self, escalated_before: datetime, limit: int = REMINDER_BATCH) -> Any:
        """Escalations no agent has picked up (written in the thread or under a DM's notice, re-routed,
        handed back), made before ``escalated_before`` and not reminded of, oldest first; through
        ``ix_threads_awaiting_agent``, whose condition this repeats. A DM with no notice in the agents'
        channel is left out: agents cannot write in a customer's DM with the bot, so nothing would show
        that they answered (``seen_by_agents``).
        """
        t = threads
        return (
            select(
                t.c.team_id,
                t.c.channel_id,
                t.c.thread_ts,
                t.c.escalated_at,
                t.c.customer_id,
                t.c.notice_channel_id,
                t.c.notice_ts,
                t.c.reminder_maybe_posted,
            )
            .where(text(AWAITING_AGENT), t.c.escalated_at <= escalated_before)
            .where(seen_by_agents(t))
            .order_by(t.c.escalated_at)
            .limit(limit)
        )

    def customers_waiting_statement(self, wrote_before: datetime, limit: int = REMINDER_BATCH) -> Any:
        """Threads an agent holds where the customer wrote before ``wrote_before`` with no agent's reply
        since, not reminded of, oldest first; through ``ix_threads_customer_waiting``, whose condition this
        repeats (a DM is held only once an agent replied under its notice, where the reminder goes)."""
        t = threads
        return (
            select(
                t.c.team_id,
                t.c.channel_id,
                t.c.thread_ts,
                t.c.customer_waiting_since,
                t.c.taken_over_by,
                t.c.customer_id,
                t.c.notice_channel_id,
                t.c.notice_ts,
                t.c.reminder_maybe_posted,
            )
            .where(text(CUSTOMER_WAITING), t.c.customer_waiting_since <= wrote_before)
            .where(seen_by_agents(t))
            .order_by(t.c.customer_waiting_since)
            .limit(limit)
        )

    async def customers_waiting(self, wrote_before: datetime) -> list[AwaitingEscalation]:
        """See :meth:`customers_waiting_statement`."""
        async with self.reading() as conn:
            rows = (await conn.execute(self.customers_waiting_statement(wrote_before))).all()
        return [AwaitingEscalation.model_validate(row._asdict()) for row in rows]

    async def customer_wrote(self, team_id: str, channel_id: str, thread_ts: str, ts: str) -> bool:
        """Start the wait of a customer who wrote ``ts`` in a thread an agent holds (``held_by_agents``),
        or in one whose escalation they withdrew (deleted the message it was about: they still wait for
        the person the bot left the thread to), unless one runs already: the clock runs from their first
        message since an agent last replied there, and more messages do not start it again, nor make a
        reminder posted for it due again (the agents were told; the next wait begins after an agent's
        reply). The wait starts with ``reminded_at`` cleared, which the escalation's reminder may have
        set: that wait ended when an agent picked the thread up. A message written while a wait (this one,
        or an escalation nobody picked up) is about another makes it about more than one
        (:func:`bot.store.withdrawn_waits.wrote_while_waiting`). True when a wait started; nothing for a
        thread in nobody's hands."""
        t = threads
        start = (
            update(t)
            .where(t.c.team_id == team_id, t.c.channel_id == channel_id, t.c.thread_ts == thread_ts)
            .where(or_(held_by_agents(t), escalation_withdrawn(t)), t.c.customer_waiting_since.is_(None))
            .values(
                customer_waiting_since=utcnow(), waiting_on=ts, reminded_at=None, reminder_maybe_posted=False
            )
        )
        async with self._transaction() as conn:
            started = bool((await conn.execute(start)).rowcount)
            await conn.execute(wrote_while_waiting(team_id, channel_id, thread_ts, ts))
        return started

    def noticed_awaiting_statement(self, since: datetime, limit: int) -> Any:
        """See :meth:`noticed_awaiting`; through ``ix_threads_escalations``."""
        t = threads
        return (
            select(t.c.team_id, t.c.notice_channel_id, t.c.notice_ts)
            .where(t.c.escalated_at >= since, t.c.escalated.is_(True), t.c.pickup_seconds.is_(None))
            .where(t.c.notice_ts.is_not(None), t.c.notice_channel_id.is_not(None))
            .order_by(t.c.escalated_at.desc())
            .limit(limit)
        )

    async def noticed_awaiting(self, since: datetime, limit: int) -> list[tuple[str, str, str]]:
        """The notices in the agents' channel of the DMs escalated since ``since`` that no agent has picked
        up yet (reminded of or not), the most recent first, at most ``limit``: (team, channel, notice ts)
        each, for the catch-up at start to read the replies agents wrote under them meanwhile."""
        async with self.reading() as conn:
            rows = (await conn.execute(self.noticed_awaiting_statement(since, limit))).all()
        return [(str(team), str(channel), str(ts)) for team, channel, ts in rows]

    async def awaiting_agents(self, escalated_before: datetime) -> list[AwaitingEscalation]:
        """See :meth:`awaiting_agents_statement`."""
        async with self.reading() as conn:
            rows = (await conn.execute(self.awaiting_agents_statement(escalated_before))).all()
        return [AwaitingEscalation.model_validate(row._asdict()) for row in rows]

    async def claim_reminder(
        self, escalation: AwaitingEscalation, *, release: bool = False, maybe_posted: bool = False
    ) -> bool:
        """Take the one reminder of ``escalation`` (False when another replica took it, an agent wrote
        in the thread meanwhile, or it was escalated anew; for a customer who wrote again, when their wait
        ended or another began); ``release`` gives it back when it could not be posted, for the next look
        to try again, ``maybe_posted`` when Slack may have posted it all the same (a 5xx, a timeout): the
        next look reads the thread for it first."""
        t = threads
        key = (
            t.c.team_id == escalation.team_id,
            t.c.channel_id == escalation.channel_id,
            t.c.thread_ts == escalation.thread_ts,
        )
        stmt = update(t).where(*key)
        if release:
            stmt = stmt.values(reminded_at=None, reminder_maybe_posted=maybe_posted)
        else:
            # Not escalated anew since it was read, nor given back meanwhile by a post that may be in the
            # thread, which this claim would otherwise post again without looking.
            if escalation.wrote_again:
                wait = (
                    text(CUSTOMER_WAITING),
                    t.c.customer_waiting_since == escalation.customer_waiting_since,
                )
            else:
                wait = (text(AWAITING_AGENT), t.c.escalated_at == escalation.escalated_at)
            same = t.c.reminder_maybe_posted == escalation.reminder_maybe_posted
            stmt = stmt.where(*wait, same).values(reminded_at=utcnow(), reminder_maybe_posted=False)
        async with self._transaction() as conn:
            return bool((await conn.execute(stmt)).rowcount)
