"""Waits for an agent that end with the message they are about: ``threads.waiting_on`` (migration 0024).

A wait (an escalation no agent has picked up, or a customer who wrote again to the agent holding their
thread, ``customer_waiting_since``) notes the customer's message it is about when it begins. If the
customer deletes that message, the wait ends: the agents are not tagged ESCALATION_REMINDER_MINUTES later
about a message that is gone. Slack may tell any replica of the deletion, and tell it again: the wait ends
by an UPDATE of the thread's row, keyed by the thread and the deleted ts, which does nothing the second time.

A customer who writes more while they wait makes the wait about more than one message, and ``waiting_on``
is cleared for good (until an agent replies and a new wait begins): the store does not keep every message
a customer wrote in a thread a person has, so it could not tell when the last of them was deleted, and
a deletion of one of them then ends nothing. A tag too many beats a customer forgotten, who deleted a
message and kept another. What the customer writes in a thread whose escalation was withdrawn so waits
anew, from then (``AwaitingAgents.customer_wrote``): the bot still leaves that thread to a person.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, update

from bot.store.database import Database
from bot.store.tables.base import utcnow
from bot.store.tables.threads import threads


def escalation_awaited(table: Any) -> Any:
    """SQL: an escalation of the thread no agent has picked up, whose message the customer has not deleted
    (reminded of or not)."""
    return and_(
        table.c.escalated,
        table.c.pickup_seconds.is_(None),
        table.c.escalated_at.is_not(None),
        table.c.escalation_withdrawn_at.is_(None),
    )


def escalation_withdrawn(table: Any) -> Any:
    """SQL: an escalation of the thread no agent has picked up, whose message the customer deleted."""
    return and_(
        table.c.escalated, table.c.pickup_seconds.is_(None), table.c.escalation_withdrawn_at.is_not(None)
    )


def wrote_while_waiting(team_id: str, channel_id: str, thread_ts: str, ts: str) -> Any:
    """The update noting that the customer wrote ``ts`` in the thread while a wait there is about another
    of their messages: it is about more than one now, and no deletion ends it. The same message again
    (Slack's retry of its event) changes nothing."""
    t = threads
    return (
        update(t)
        .where(t.c.team_id == team_id, t.c.channel_id == channel_id, t.c.thread_ts == thread_ts)
        .where(or_(escalation_awaited(t), t.c.customer_waiting_since.is_not(None)), t.c.waiting_on != ts)
        .values(waiting_on=None)
    )


class WithdrawnWaits(Database):
    """Ending a wait for an agent whose message the customer deleted (see :class:`bot.store.Store`)."""

    async def wrote_while_waiting(self, team_id: str, channel_id: str, thread_ts: str, ts: str) -> None:
        """See :func:`wrote_while_waiting`; for a message the customer wrote before its thread went to a
        person and left to them once it had (``Store.leave_to_agents``): the intake saw no wait then."""
        async with self._transaction() as conn:
            await conn.execute(wrote_while_waiting(team_id, channel_id, thread_ts, ts))

    async def withdraw_wait(self, team_id: str, channel_id: str, thread_ts: str, ts: str) -> bool:
        """End the wait for an agent in the thread that is about the message ``ts`` alone, its author
        having deleted it: a customer's wait is cleared (as an agent's reply clears it), an escalation's
        is marked withdrawn (``escalation_withdrawn_at``; it stays escalated, and unpicked-up: no agent
        acted on it). Whether a wait ended; False for a message no wait is about, and for the same
        deletion told again."""
        t = threads
        this = (
            t.c.team_id == team_id,
            t.c.channel_id == channel_id,
            t.c.thread_ts == thread_ts,
            t.c.waiting_on == ts,
        )
        customer = (
            update(t)
            .where(*this, t.c.customer_waiting_since.is_not(None))
            .values(customer_waiting_since=None, waiting_on=None)
        )
        escalation = (
            update(t)
            .where(*this, escalation_awaited(t))
            .values(escalation_withdrawn_at=utcnow(), waiting_on=None)
        )
        async with self._transaction() as conn:
            ended = (await conn.execute(customer)).rowcount
            ended += (await conn.execute(escalation)).rowcount
        return bool(ended)
