"""The store: claims on inbound messages, the decision log and thread states, on SQLite or PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    delete,
    func,
    or_,
    select,
    tuple_,
    type_coerce,
    update,
)

from bot.redaction import TextMode, kept_text
from bot.store.batching import Batcher
from bot.store.errors import UnknownMessage
from bot.store.examples import LearnedExamples
from bot.store.feedback import RouteFeedback
from bot.store.records import InboundMessage
from bot.store.tables import (
    UTCDateTime,
    inbound_messages,
    learned_examples,
    purges,
    routing_decisions,
    threads,
    utcnow,
)
from bot.store.threads import ThreadStates
from router.models import RoutingDecision, Usage

# Long enough for a stack trace's last lines; the full error goes to the log, not the database.
MAX_ERROR_CHARS = 2000
# Threads looked up per query by the catch-up's (3 bound values each).
THREADS_PER_QUERY = 300
# Rows ``db purge`` deletes per transaction.
PURGE_BATCH = 5000
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
_USAGE_FIELDS = tuple(Usage.model_fields)
# A Slack message ts: epoch seconds, "1712345678.000100".
_SLACK_TS = re.compile(r"\d+(\.\d+)?", re.ASCII)


class Purged(NamedTuple):
    """How many rows :meth:`Store.purge` deleted."""

    decisions: int
    messages: int
    threads: int
    examples: int


class LastSeen(NamedTuple):
    """A channel customers wrote in lately, and the ts of the last of their messages the bot took there."""

    team_id: str
    channel_id: str
    ts: str
    # The threads here a customer wrote in lately that the bot still has a part in (see
    # :meth:`Store.last_seen`), the most recently active first.
    threads: tuple[SeenThread, ...] = ()


class SeenThread(NamedTuple):
    """A thread of :class:`LastSeen`: its root's ts, the ts of the last message the bot took in it, and
    its customer."""

    thread_ts: str
    ts: str
    customer_id: str | None


class Store(ThreadStates, RouteFeedback, LearnedExamples):
    """The repository over one async engine. Every method is one transaction; all are safe to race.

    Build it with :meth:`connect`; the schema must have been migrated (``bot.store.upgrade``).
    Connection handling (``connect``, ``close``, ``ping``, ``engine``) is in :class:`Database`, the
    thread states in :class:`ThreadStates`, agent feedback in :class:`RouteFeedback`.
    """

    # Inbound messages ---------------------------------------------------------------------------------

    async def claim(self, msg: InboundMessage, lease_seconds: float = 300) -> bool:
        """Take a message for processing, once across retries, duplicate events, restarts and replicas.

        Claims that arrive together are written together (:class:`Batcher`): a burst of events costs a
        few transactions, so each is acknowledged to Slack within milliseconds.

        Returns:
            True when this call inserted the claim (go ahead and answer); False when the message was
            already claimed, whatever its state.
        """
        return await self._claims.submit((msg, lease_seconds))

    @cached_property
    def _claims(self) -> Batcher[tuple[InboundMessage, float], bool]:
        return Batcher(self._claim_many)

    async def _claim_many(self, claims: Sequence[tuple[InboundMessage, float]]) -> list[bool]:
        """One transaction for a batch of claims; a key twice in the batch is claimed by its first."""
        now = utcnow()
        rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        for msg, lease_seconds in claims:
            rows.setdefault(
                (msg.team_id, msg.channel_id, msg.ts),
                _storable(msg.model_dump(include=set(_MESSAGE_COLUMNS) - {"attempts", "reply_ts"}))
                | {
                    "state": "pending",
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
        for msg, _ in claims:
            key = (msg.team_id, msg.channel_id, msg.ts)
            results.append(key in inserted)
            inserted.discard(key)  # a duplicate later in the batch finds it claimed
        return results

    async def take_stale(
        self, limit: int = 100, lease_seconds: float = 300, *, include_leased: bool = False
    ) -> list[InboundMessage]:
        """Take pending messages whose lease ran out (their worker died, or :meth:`fail` set a retry time).

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
            rows = (await conn.execute(stmt)).all()
        return [_message(row) for row in sorted(rows, key=lambda row: row.id)]

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

    def last_seen_statement(self, since: datetime) -> Select[Any]:
        """See :meth:`last_seen`: the messages posted since ``since``, in order, through
        ``ix_inbound_messages_ts``. (Grouped by channel in SQL, SQLite read the whole table along the
        unique key instead.)"""
        m = inbound_messages
        # Slack's ts strings are fixed-width ("1712345678.000100"): they sort as they were sent.
        return (
            select(m.c.team_id, m.c.channel_id, m.c.thread_ts, m.c.ts)
            .where(m.c.ts >= _ts(since))
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
        stmt = update(m).where(_key(msg), m.c.state == "done", ours).values(lease_until=until)
        async with self._transaction() as conn:
            if (await conn.execute(stmt)).rowcount:
                return until
            if holding is not None:
                return None
            held = select(m.c.id).where(_key(msg), m.c.state == "done", ~free)
            return None if (await conn.execute(held)).first() is not None else until

    async def release_answered(self, msg: InboundMessage, holding: datetime) -> None:
        """End the hold :meth:`hold_answered` gave (``holding``, its end), if it is still the caller's: the
        next agent's re-route of ``msg`` may go ahead."""
        m = inbound_messages
        stmt = (
            update(m)
            .where(_key(msg), m.c.state == "done", m.c.lease_until == holding)
            .values(lease_until=None)
        )
        async with self._transaction() as conn:
            await conn.execute(stmt)

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

    async def complete(
        self,
        msg: InboundMessage,
        decision: RoutingDecision,
        reply_ts: str | None,
        *,
        replied_at: datetime | None = None,
    ) -> int:
        """Record the decision, mark the message done and note the bot's post in its thread (answered, or
        escalated: the bot stays silent there), in one transaction.

        The decision's ``reply_ms`` is the customer's wait: from their message's ts to now (the reply is
        posted), or to ``replied_at`` when the reply was posted earlier (found in Slack after a restart).
        It is a ``follow_up`` when the bot had already replied in the message's thread.

        Idempotent: completing the same message again records nothing new and returns the first id.

        Returns:
            The id of the message's decision.

        Raises:
            UnknownMessage: the message was never claimed.
        """
        now = utcnow()
        m, d = inbound_messages, routing_decisions
        mark = (
            update(m)
            .where(_key(msg))
            .values(
                state="done",
                lease_until=None,
                completed_at=func.coalesce(m.c.completed_at, type_coerce(now, UTCDateTime)),
                # Kept in full while pending (a restart must answer it); trimmed to policy once done.
                text=_storable_text(kept_text(msg.text, self.message_text)),
                kept_decision=None,
            )
            .returning(m.c.id)
        )
        async with self._transaction() as conn:
            message_id = (await conn.execute(mark)).scalar_one_or_none()
            if message_id is None:
                raise UnknownMessage(f"message {msg.channel_id}/{msg.ts} was never claimed")
            values = self._decision_of(msg, decision, reply_ts, now) | {
                "inbound_message_id": message_id,
                "reply_ms": reply_ms(msg.ts, replied_at or now),
                "follow_up": _bot_replied_in_thread(msg),
            }
            insert = (
                self._insert(d)
                .values(values)
                .on_conflict_do_nothing(index_elements=["inbound_message_id"])
                .returning(d.c.id)
            )
            decision_id = (await conn.execute(insert)).scalar_one_or_none()
            if decision_id is None:
                existing = select(d.c.id).where(d.c.inbound_message_id == message_id)
                decision_id = (await conn.execute(existing)).scalar_one()
            else:
                await conn.execute(self._answered(msg, decision))
        return int(decision_id)

    async def record_reroute(
        self, msg: InboundMessage, decision: RoutingDecision, reply_ts: str | None, *, by: str
    ) -> int:
        """Record the answer to an agent's re-route of ``msg`` beside the classifier's decision (source
        ``agent``), and give the thread back to the bot unless that answer escalated, in one transaction.
        It has no ``reply_ms``: no customer waited for it (their message has its own decision).

        A re-route that could not be answered (``reply_ts`` None: nothing was posted) is recorded for what
        it cost, and changes nothing else: the thread stays as it was, and the customer's answer is still
        the one before it (see :meth:`find_decision`). Returns the new decision's id."""
        values = self._decision_of(msg, decision, reply_ts, utcnow())
        stmt = routing_decisions.insert().values(values).returning(routing_decisions.c.id)
        async with self._transaction() as conn:
            decision_id = int((await conn.execute(stmt)).scalar_one())
            if reply_ts is not None:
                await conn.execute(self._answered(msg, decision, rerouted_by=by))
        return decision_id

    def _decision_of(
        self, msg: InboundMessage, decision: RoutingDecision, reply_ts: str | None, now: datetime
    ) -> dict[str, Any]:
        """The decision row for a reply to ``msg``: the decision as the text policy keeps it, and where."""
        return _decision_values(decision, self.message_text) | {
            "team_id": msg.team_id,
            "channel_id": msg.channel_id,
            "user_id": msg.user_id,
            "message_ts": msg.ts,
            "thread_ts": msg.thread_ts,
            "reply_ts": reply_ts,
            "created_at": now,
        }

    def _answered(
        self, msg: InboundMessage, decision: RoutingDecision, *, rerouted_by: str | None = None
    ) -> Any:
        return self.answered_statement(
            msg.team_id,
            msg.channel_id,
            msg.thread_ts,
            decision.category,
            decision.escalated,
            msg.user_id,
            rerouted_by=rerouted_by,
        )

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
        stmt = select(m.c.kept_decision).where(_key(msg), m.c.state == "pending")
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
            text=_storable_text(kept_text(msg.text, self.message_text)),
            kept_decision=None,
            **values,
        )

    # Decisions ----------------------------------------------------------------------------------------

    async def record(
        self,
        decision: RoutingDecision,
        *,
        team_id: str | None = None,
        channel_id: str | None = None,
        user_id: str | None = None,
        message_ts: str | None = None,
        thread_ts: str | None = None,
        reply_ts: str | None = None,
    ) -> int:
        """Record a decision that has no claimed message (the CLI's demo and chat). Returns its id.

        It has no ``reply_ms``: no customer posted in Slack and waited for a reply there.
        """
        values = _decision_values(decision, self.message_text) | {
            "team_id": team_id,
            "channel_id": channel_id,
            "user_id": user_id,
            "message_ts": message_ts,
            "thread_ts": thread_ts,
            "reply_ts": reply_ts,
            "created_at": utcnow(),
        }
        stmt = routing_decisions.insert().values(values).returning(routing_decisions.c.id)
        async with self._transaction() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def get_decision(self, decision_id: int) -> RoutingDecision | None:
        """The recorded decision with this id, or None."""
        d = routing_decisions
        async with self.reading() as conn:
            row = (await conn.execute(select(d).where(d.c.id == decision_id))).first()
        if row is None:
            return None
        fields = row._asdict()
        usage = Usage(**{name: fields[name] for name in _USAGE_FIELDS})
        return RoutingDecision.model_validate(
            {name: fields[name] for name in RoutingDecision.model_fields if name != "usage"}
            | {"usage": usage}
        )

    # Retention ----------------------------------------------------------------------------------------

    async def purge(self, older_than: timedelta) -> Purged:
        """Delete decisions, finished messages, quiet threads and learned examples (customers' words)
        older than ``older_than``.

        Pending messages are never deleted, whatever their age: they are still owed an answer. Agents'
        feedback on a deleted decision goes with it; the daily stats rollups (no text) stay. Rows go
        :data:`PURGE_BATCH` at a time, each batch its own transaction: on SQLite one transaction over
        months of rows held the write lock for seconds, and the serving bot's claims timed out.
        """
        cutoff = utcnow() - older_than
        m, d, t, e = inbound_messages, routing_decisions, threads, learned_examples
        finished = and_(m.c.state != "pending", func.coalesce(m.c.completed_at, m.c.received_at) < cutoff)
        decisions = await self._delete_in_batches(d, d.c.created_at < cutoff)
        # Noted once the decisions are gone: /routing-stats reads how far the purge reached.
        async with self._transaction() as conn:
            await conn.execute(purges.insert().values(cutoff=cutoff, purged_at=utcnow(), decisions=decisions))
        return Purged(
            decisions,
            await self._delete_in_batches(m, finished),
            await self._delete_in_batches(t, t.c.updated_at < cutoff),
            await self._delete_in_batches(e, e.c.created_at < cutoff),
        )

    async def _delete_in_batches(self, table: Any, where: ColumnElement[bool]) -> int:
        deleted = 0
        while True:
            batch = select(table.c.id).where(where).limit(PURGE_BATCH).scalar_subquery()
            async with self._transaction() as conn:
                count = (await conn.execute(delete(table).where(table.c.id.in_(batch)))).rowcount
            deleted += count
            if count < PURGE_BATCH:
                return deleted

    async def _update_pending(self, msg: InboundMessage, **values: Any) -> None:
        """Set ``values`` on ``msg``'s row while it is pending; a message already done, left or given up
        on is left as it is.

        Raises:
            UnknownMessage: the message was never claimed.
        """
        m = inbound_messages
        stmt = update(m).where(_key(msg), m.c.state == "pending").values(**values)
        async with self._transaction() as conn:
            if (await conn.execute(stmt)).rowcount == 0:
                exists = select(inbound_messages.c.id).where(_key(msg))
                if (await conn.execute(exists)).first() is None:
                    raise UnknownMessage(f"message {msg.channel_id}/{msg.ts} was never claimed")


async def _still_ours(
    conn: Any, keys: Sequence[tuple[str, str, str]]
) -> dict[tuple[str, str, str], str | None]:
    """Those of the threads ``keys`` (team, channel, root ts) that :meth:`Store.last_seen` lists, with their
    customer: in a DM, or not taken over by an agent; in batches, by the threads' unique key."""
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


def slack_time(ts: Any) -> datetime | None:
    """When a Slack message was posted, from its ts (epoch seconds); None when ``ts`` is not a Slack ts
    (the CLI's demo and chat have none)."""
    if not isinstance(ts, str) or not _SLACK_TS.fullmatch(ts):
        return None
    return datetime.fromtimestamp(float(ts), UTC)


def reply_ms(message_ts: str | None, replied_at: datetime) -> float | None:
    """The customer's wait in ms, from ``message_ts`` (a Slack ts) to ``replied_at``; at least 0 (Slack's
    clock and ours differ); None when ``message_ts`` is not a Slack ts."""
    posted = slack_time(message_ts)
    if posted is None:
        return None
    return max(0.0, (replied_at - posted).total_seconds() * 1000)


def _bot_replied_in_thread(msg: InboundMessage) -> ColumnElement[bool]:
    """SQL: the bot has posted in ``msg``'s thread before (``msg`` continues a conversation)."""
    t = threads
    return (
        select(t.c.id)
        .where(
            t.c.team_id == msg.team_id,
            t.c.channel_id == msg.channel_id,
            t.c.thread_ts == msg.thread_ts,
            t.c.bot_answered,
        )
        .exists()
    )


def _key(msg: InboundMessage) -> ColumnElement[bool]:
    m = inbound_messages
    return and_(m.c.team_id == msg.team_id, m.c.channel_id == msg.channel_id, m.c.ts == msg.ts)


def _message(row: Row[Any]) -> InboundMessage:
    return InboundMessage.model_validate({name: getattr(row, name) for name in _MESSAGE_COLUMNS})


def _decision_values(decision: RoutingDecision, mode: TextMode) -> dict[str, Any]:
    """The decision's columns, its customer-derived text kept as STORE_MESSAGE_TEXT says.

    The query and the answer (which may quote the customer) follow the mode; the classifier's
    one-line reasoning may quote them too, so it is redacted unless everything is kept.
    """
    values = decision.model_dump(mode="json", exclude={"usage"})
    values.update(decision.usage.model_dump())
    values["query"] = kept_text(decision.query, mode) or ""
    values["answer"] = kept_text(decision.answer, mode)
    values["reasoning"] = kept_text(decision.reasoning, "full" if mode == "full" else "redacted")
    return _storable(values)


def _storable_text(text: str | None) -> str | None:
    """``text`` with NUL characters replaced: PostgreSQL text cannot hold them, and a customer can send
    one. Refused, the claim would fail on every redelivery and the message would never be answered."""
    return None if text is None else text.replace("\x00", "\ufffd")


def _storable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _storable_text(v) if isinstance(v, str) else v for k, v in values.items()}
