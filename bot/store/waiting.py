"""Which replies waiting for their thread's first message are due: those whose first message is handled.

A customer's reply that Slack delivered before its thread's first message is claimed as waiting
(:meth:`bot.store.Store.claim`); these are the statements that release it, for the worker that handled the
first message (:meth:`bot.store.Store.take_released`) and for a recovery pass (``Store.take_stale``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update

from bot.store.records import InboundMessage
from bot.store.tables.messages import inbound_messages


def rooted_statement(now: datetime, *, postgres: bool) -> Any:
    """Make pending, and due at once for the same pass of ``Store.take_stale``, the waiting replies whose
    thread's first message is handled, left waiting by the worker that handled it (it stopped first)."""
    rooted = _released(now)
    if postgres:
        rooted = rooted.with_for_update(skip_locked=True)  # another replica's pass releases those
    m = inbound_messages
    return update(m).where(m.c.id.in_(rooted.scalar_subquery())).values(state="pending", lease_until=None)


def released_statement(msg: InboundMessage, now: datetime) -> Select[tuple[int]]:
    """The replies ``Store.take_released`` takes for ``msg``: a look made after every first message of a
    thread, so it reads that thread's entries in ``ix_inbound_messages_state_thread`` (a reply, ``msg``
    itself, by its key)."""
    m = inbound_messages
    thread = (m.c.team_id == msg.team_id, m.c.channel_id == msg.channel_id, m.c.thread_ts == msg.thread_ts)
    released = _released(now).where(*thread)
    if msg.ts != msg.thread_ts:
        return released.where(m.c.ts == msg.ts)
    # Always true (a reply comes after its first message), and said so that SQLite, with no statistics,
    # reads the thread's entries rather than every reply waiting (by state and lease) in every channel.
    return released.where(m.c.ts > msg.ts)


def _released(now: datetime) -> Select[tuple[int]]:
    """The waiting replies (still within their wait) whose thread's first message is claimed and no longer
    pending: answered, escalated or given up. Not before: released while it is still being answered (or
    awaiting a retry), a reply would wait its turn behind it only for as long as ``bot.turns`` waits for
    an earlier message, and could be answered first."""
    m, root = inbound_messages, inbound_messages.alias("root")
    handled = (
        select(root.c.id)
        .where(root.c.team_id == m.c.team_id, root.c.channel_id == m.c.channel_id, root.c.ts == m.c.thread_ts)
        .where(root.c.state != "pending")
        .exists()
    )
    return select(m.c.id).where(m.c.state == "waiting", m.c.lease_until > now, handled)
