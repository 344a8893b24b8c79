"""What the bot's and the agents' writes change in a thread already on record: the SET clauses of the
``threads`` upserts of :class:`bot.store.threads.ThreadStates`, and the clock of an escalation's wait they
run on, in the database's own date arithmetic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, null, or_

from bot.store.tables.base import UTCDateTime
from bot.store.tables.threads import threads


def upsert(insert: Any, changes: dict[str, Any]) -> Any:
    """``insert`` into threads, or ``changes`` to the thread already there."""
    return insert.on_conflict_do_update(index_elements=["team_id", "channel_id", "thread_ts"], set_=changes)


def answered_changes(insert: Any) -> dict[str, Any]:
    """What the upsert ``insert`` noting the bot's reply changes in the thread already there."""
    t = threads
    return {
        "category": insert.excluded.category,
        "customer_id": func.coalesce(t.c.customer_id, insert.excluded.customer_id),
        "escalated": or_(t.c.escalated, insert.excluded.escalated),
        # An escalation's clock (and its one reminder) runs from when the thread went to a person:
        # kept while it stays escalated, started again by an escalation after a hand-back, kept after
        # it for /routing-stats.
        "escalated_at": _on_escalation(insert, t.c.escalated_at, insert.excluded.escalated_at),
        # An agent who wrote in the thread before this escalation was recorded (while it was being
        # classified, or its post retried) picked it up at once: no reminder, not left waiting in
        # /routing-stats.
        "pickup_seconds": _on_escalation(
            insert, t.c.pickup_seconds, case((t.c.taken_over_by.is_not(None), 0.0), else_=null())
        ),
        "reminded_at": _on_escalation(insert, t.c.reminded_at, null()),
        # The message a new escalation's wait is about; one more passed on to the agents while it waits
        # (a DM's) makes it about more than one (see bot.store.withdrawn_waits).
        "waiting_on": _on_escalation(insert, _same_or_none(insert), insert.excluded.waiting_on),
        "escalation_withdrawn_at": _on_escalation(insert, t.c.escalation_withdrawn_at, null()),
        "bot_answered": True,
        "updated_at": insert.excluded.updated_at,
    }


def rerouted_changes(
    insert: Any, now: datetime, escalated: bool, rerouted_by: str, rerouted_at: str | None, *, postgres: bool
) -> dict[str, Any]:
    """What the upsert ``insert`` noting the bot's reply changes besides when an agent re-routed the
    message: an agent acted, so the escalation is picked up, and one the re-route makes is theirs
    already, as is a customer who wrote to the agent holding the thread (the re-route's answer, or
    escalation, is what they get); an answer gives the thread back to the bot (at ``rerouted_at``) unless
    another agent took it over."""
    t = threads
    changes: dict[str, Any] = {
        "escalated": insert.excluded.escalated,
        "customer_waiting_since": null(),
        "pickup_seconds": case(
            (t.c.escalated, func.coalesce(t.c.pickup_seconds, since_escalated(now, postgres=postgres))),
            (insert.excluded.escalated, 0.0),
            else_=t.c.pickup_seconds,
        ),
    }
    if not escalated:
        mine = _mine(rerouted_by)
        changes["taken_over_by"] = case((mine, null()), else_=t.c.taken_over_by)
        if rerouted_at is not None:
            changes["handed_back_ts"] = case((mine, rerouted_at), else_=t.c.handed_back_ts)
    return changes


def picked_up(now: datetime, *, postgres: bool) -> Any:
    """``pickup_seconds`` once an agent acts in the thread: the escalation's wait until ``now``, if it
    is one nobody took up yet."""
    t = threads
    first = and_(t.c.escalated, t.c.pickup_seconds.is_(None))
    return case((first, since_escalated(now, postgres=postgres)), else_=t.c.pickup_seconds)


def since_escalated(now: datetime, *, postgres: bool) -> Any:
    """Seconds from the thread's ``escalated_at`` to ``now``, in the database's own date arithmetic
    (None for an escalation older than migration 0010, which has no ``escalated_at``)."""
    t = threads
    if postgres:
        return func.extract("epoch", _at(now) - t.c.escalated_at)
    return (func.julianday(_at(now)) - func.julianday(t.c.escalated_at)) * 86400.0


def _mine(agent: str) -> Any:
    """Whether the thread is in no agent's hands but ``agent``'s."""
    return or_(threads.c.taken_over_by.is_(None), threads.c.taken_over_by == agent)


def _on_escalation(insert: Any, column: Any, new: Any) -> Any:
    """In the upsert ``insert`` noting a reply: ``column`` as it is while the thread stays escalated,
    ``new`` when this reply escalates it anew, unchanged otherwise."""
    return case((threads.c.escalated, column), (insert.excluded.escalated, new), else_=column)


def _same_or_none(insert: Any) -> Any:
    """``waiting_on`` once the upsert ``insert`` notes the bot's post about its message in a thread
    escalated already: kept if it is the same message, none otherwise."""
    t = threads
    return case((t.c.waiting_on == insert.excluded.waiting_on, t.c.waiting_on), else_=null())


def _at(moment: datetime) -> Any:
    """``moment`` as a bound value of the store's UTC timestamp type (a CASE would not know its type)."""
    return literal(moment, UTCDateTime())
