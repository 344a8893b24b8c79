"""The inbox side of the store: claims on inbound messages, their leases, and how each one ends.

A claim is the unique key (team, channel, ts) taken before any Claude call: once across Slack's retries,
duplicate events, restarts and replicas. A pending message holds a lease, renewed while it is worked on;
one whose lease ran out is taken again (:meth:`Inbox.take_stale`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, delete, or_, select, update

from bot.redaction import kept_text
from bot.store.batching import Batcher
from bot.store.database import Database
from bot.store.errors import UnknownMessage
from bot.store.records import InboundMessage
from bot.store.tables.base import utcnow
from bot.store.tables.messages import inbound_messages
from bot.store.waiting import released_statement, rooted_statement
from router.models import RoutingDecision

# Long enough for a stack trace's last lines; the full error goes to the log, not the database.
MAX_ERROR_CHARS = 2000
_MESSAGE_COLUMNS = (
    "team_id",
    "channel_id",
    "ts",
    "user_id",
    "text",
    "thread_ts",
    "channel_type",
    "user_team_id",
    "attempts",
    "reply_ts",
)


class Inbox(Database):
    """Claims on inbound messages and their states: pending (leased), done, left to agents, failed, and
    waiting for their thread's first message.

    Recording a message's decision as it is marked done is :meth:`Store.complete`, one transaction.
    """

    async def claim(self, msg: InboundMessage, lease_seconds: float = 300, *, waiting: bool = False) -> bool:
        """Take a message for processing, once across retries, duplicate events, restarts and replicas.

        Claims that arrive together are written together (:class:`Batcher`): a burst of events costs a
        few transactions, so each is acknowledged to Slack within milliseconds.

        ``waiting``: ``msg`` is a reply in a thread whose first message is not claimed yet (Slack delivers
        events out of order): it is claimed as 'waiting', for ``lease_seconds`` at most, and released
        once that first message is handled (:meth:`take_released`; :meth:`take_stale` if its worker
        stopped first).

        Returns:
            True when this call inserted the claim (go ahead and answer, unless ``waiting``); False when
            the message was already claimed, whatever its state.
        """
        return await self._claims.submit((msg, lease_seconds, waiting))

    @cached_property
    def _claims(self) -> Batcher[tuple[InboundMessage, float, bool], bool]:
        return Batcher(self._claim_many)

    async def _claim_many(self, claims: Sequence[tuple[InboundMessage, float, bool]]) -> list[bool]:
        """One transaction for a batch of claims; a key twice in the batch is claimed by its first."""
        now = utcnow()
        rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        for msg, lease_seconds, waiting in claims:
            rows.setdefault(
                msg.key,
                storable(msg.model_dump(include=set(_MESSAGE_COLUMNS) - {"attempts", "reply_ts"}))
                | {
                    "state": "waiting" if waiting else "pending",
                    "attempts": 0,
                    "lease_until": now + timedelta(seconds=lease_seconds),
                    "received_at": now,
                },
            )
        m = inbound_messages
        # Executed with a list of parameter sets: SQLAlchemy writes them as multi-row INSERTs from one
        # cached compilation ("insertmanyvalues"); a literal multi-row .values() compiles anew each time.
        stmt = (
            self._insert(m)
            .on_conflict_do_nothing(index_elements=["team_id", "channel_id", "ts"])
            .returning(m.c.team_id, m.c.channel_id, m.c.ts)
        )
        async with self._transaction() as conn:
            inserted = {tuple(row) for row in await conn.execute(stmt, list(rows.values()))}
        results = []
        for msg, _, _ in claims:
            key = msg.key
            results.append(key in inserted)
            inserted.discard(key)  # a duplicate later in the batch finds it claimed
        return results

    async def take_stale(
        self, limit: int = 100, lease_seconds: float = 300, *, include_leased: bool = False
    ) -> list[InboundMessage]:
        """Take pending messages whose lease ran out (their worker died, or :meth:`fail` set a retry time),
        and the waiting replies whose thread's first message is handled now, which the worker that
        handled it did not take (it stopped first; see :meth:`take_released`).

        They are re-leased for ``lease_seconds`` in the same statement, so two callers (or replicas)
        never take the same message. ``include_leased`` also takes messages still leased: only for a
        process that knows it is the only worker (e.g. SQLite at start), never on a timer.

        Returns:
            Up to ``limit`` messages, oldest first, with ``attempts`` as stored.
        """
        now = utcnow()
        m = inbound_messages
        due = select(m.c.id).where(m.c.state == "pending").order_by(m.c.id).limit(limit)
        if not include_leased:
            due = due.where(or_(m.c.lease_until.is_(None), m.c.lease_until <= now))
        if self._postgres:
            due = due.with_for_update(skip_locked=True)
        stmt = (
            update(m)
            .where(m.c.id.in_(due.scalar_subquery()))
            .values(lease_until=now + timedelta(seconds=lease_seconds))
            .returning(m.c.id, *(m.c[name] for name in _MESSAGE_COLUMNS))
        )
        async with self._transaction() as conn:
            await conn.execute(rooted_statement(now, postgres=self._postgres))
            rows = (await conn.execute(stmt)).all()
        return [_message(row) for row in sorted(rows, key=lambda row: row.id)]

    async def take_released(self, msg: InboundMessage, lease_seconds: float = 300) -> list[InboundMessage]:
        """Take, as :meth:`take_stale` does, the waiting replies of ``msg``'s thread released by its first
        message being handled (see :meth:`claim`): all of them when ``msg`` is that first message, just
        handled; ``msg`` alone when it is one of them, just claimed (its first message may have been
        handled between the intake's look and its claim, its worker finding no reply waiting yet).

        So a reply is answered as soon as its first message is, not at the next recovery pass; whichever
        of the worker, the intake or a replica's pass comes first takes it, once. A look comes first: a
        thread with no reply waiting, nearly every one, costs no write.

        Returns:
            The replies, oldest first, leased for ``lease_seconds``, each marked ``after_its_root``.
        """
        now, m = utcnow(), inbound_messages
        released = released_statement(msg, now)
        async with self.reading() as conn:
            if (await conn.execute(released.limit(1))).first() is None:
                return []
        if self._postgres:
            released = released.with_for_update(skip_locked=True)  # another replica takes those
        stmt = (
            update(m)
            .where(m.c.id.in_(released.scalar_subquery()))
            .values(state="pending", lease_until=now + timedelta(seconds=lease_seconds))
            .returning(m.c.id, *(m.c[name] for name in _MESSAGE_COLUMNS))
        )
        async with self._transaction() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            _message(row).model_copy(update={"after_its_root": True})
            for row in sorted(rows, key=lambda row: row.ts)
        ]

    async def extend_lease(self, msg: InboundMessage, lease_seconds: float = 300) -> None:
        """Renew the lease of a message still being worked on (a heartbeat): until now + ``lease_seconds``.

        A message already done or abandoned is left as it is.

        Raises:
            UnknownMessage: the message was never claimed.
        """
        await self._update_pending(msg, lease_until=utcnow() + timedelta(seconds=lease_seconds))

    async def note_reply_started(self, msg: InboundMessage, reply_ts: str) -> None:
        """Remember the streamed reply being written for ``msg``, so a restart can remove it if unfinished."""
        await self._update_pending(msg, reply_ts=reply_ts)

    async def fail(self, msg: InboundMessage, error: str, retry_in_seconds: float) -> None:
        """Note a failed attempt: the message stays pending and :meth:`take_stale` offers it again later.

        ``attempts`` goes up by one, the lease runs until now + ``retry_in_seconds``, and ``error`` is kept
        (shortened) as ``last_error``. A message already done or abandoned is left as it is.

        Raises:
            UnknownMessage: the message was never claimed.
        """
        await self._update_pending(
            msg,
            attempts=inbound_messages.c.attempts + 1,
            lease_until=utcnow() + timedelta(seconds=retry_in_seconds),
            last_error=error[:MAX_ERROR_CHARS],
        )

    async def keep_decision(self, msg: InboundMessage, decision: RoutingDecision) -> None:
        """Keep the decision of an attempt whose reply could not be posted, for the next attempt to post
        (:meth:`kept_decision`) instead of routing the message again. Kept whole, as the message's text
        is, while the message is pending; :meth:`complete` and the other ends clear it.

        Raises:
            UnknownMessage: the message was never claimed.
        """
        await self._update_pending(msg, kept_decision=decision.model_dump_json())

    async def kept_decision(self, msg: InboundMessage) -> RoutingDecision | None:
        """The decision an earlier attempt at ``msg`` made but could not post (see :meth:`keep_decision`)."""
        m = inbound_messages
        stmt = select(m.c.kept_decision).where(message_key(msg), m.c.state == "pending")
        async with self.reading() as conn:
            kept = (await conn.execute(stmt)).scalar()
        return None if kept is None else RoutingDecision.model_validate_json(kept)

    async def leave_to_agents(self, msg: InboundMessage) -> None:
        """Close a claimed message the bot must not answer (state 'left'): its thread was escalated or
        taken over by an agent while it waited its turn. No decision is recorded, as for a message that
        arrives in such a thread: the agents in charge read it there.

        Raises:
            UnknownMessage: the message was never claimed.
        """
        await self._close(msg, "left")

    async def forget(self, msg: InboundMessage) -> None:
        """Drop the claim of a message that was never a customer's (an agent's own post, found out once
        it was claimed): as if the intake had not taken it, it counts nowhere, answered or left."""
        async with self._transaction() as conn:
            await conn.execute(
                delete(inbound_messages).where(message_key(msg), inbound_messages.c.state == "pending")
            )

    async def abandon(self, msg: InboundMessage, error: str) -> None:
        """Give a message up for good (state 'failed'): it is never offered again.

        Raises:
            UnknownMessage: the message was never claimed.
        """
        await self._close(msg, "failed", last_error=error[:MAX_ERROR_CHARS])

    async def _close(self, msg: InboundMessage, state: str, **values: Any) -> None:
        """Finish a pending message without a decision: ``state``, no lease, the text trimmed to policy."""
        await self._update_pending(
            msg,
            state=state,
            lease_until=None,
            completed_at=utcnow(),
            text=storable_text(kept_text(msg.text, self.message_text)),
            kept_decision=None,
            **values,
        )

    async def _update_pending(self, msg: InboundMessage, **values: Any) -> None:
        """Set ``values`` on ``msg``'s row while it is pending; a message already done, left or given up
        on is left as it is.

        Raises:
            UnknownMessage: the message was never claimed.
        """
        m = inbound_messages
        stmt = update(m).where(message_key(msg), m.c.state == "pending").values(**values)
        async with self._transaction() as conn:
            if (await conn.execute(stmt)).rowcount == 0:
                exists = select(inbound_messages.c.id).where(message_key(msg))
                if (await conn.execute(exists)).first() is None:
                    raise UnknownMessage(f"message {msg.channel_id}/{msg.ts} was never claimed")


def message_key(msg: InboundMessage) -> ColumnElement[bool]:
    m = inbound_messages
    return and_(m.c.team_id == msg.team_id, m.c.channel_id == msg.channel_id, m.c.ts == msg.ts)


def _message(row: Row[Any]) -> InboundMessage:
    return InboundMessage.model_validate({name: getattr(row, name) for name in _MESSAGE_COLUMNS})


def storable_text(text: str | None) -> str | None:
    """``text`` with NUL characters replaced: PostgreSQL text cannot hold them, and a customer can send
    one. Refused, the claim would fail on every redelivery and the message would never be answered."""
    return None if text is None else text.replace("\x00", "\ufffd")


def storable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: storable_text(v) if isinstance(v, str) else v for k, v in values.items()}
