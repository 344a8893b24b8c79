"""The store: the decision log, over the inbox, the thread states, agent feedback, learned examples and
their retention, on SQLite or PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, type_coerce, update

from bot.redaction import TextMode, kept_text
from bot.store.awaiting import AwaitingAgents
from bot.store.errors import UnknownMessage
from bot.store.examples import LearnedExamples
from bot.store.feedback import RouteFeedback
from bot.store.inbox import message_key, storable, storable_text
from bot.store.recent import RecentActivity
from bot.store.records import InboundMessage
from bot.store.retention import Retention
from bot.store.tables.base import UTCDateTime, utcnow
from bot.store.tables.decisions import routing_decisions
from bot.store.tables.messages import inbound_messages
from bot.store.tables.threads import threads
from bot.store.threads import ThreadStates
from bot.store.turn_taking import TurnTaking
from bot.store.withdrawals import Withdrawals
from bot.store.withdrawn_waits import WithdrawnWaits
from router.models import RoutingDecision, Usage

_USAGE_FIELDS = tuple(Usage.model_fields)
# A Slack message ts: epoch seconds, "1712345678.000100".
_SLACK_TS = re.compile(r"\d+(\.\d+)?", re.ASCII)


class Store(
    Withdrawals,
    TurnTaking,
    RecentActivity,
    ThreadStates,
    AwaitingAgents,
    WithdrawnWaits,
    RouteFeedback,
    LearnedExamples,
    Retention,
):
    """The repository over one async engine. Every method is one transaction; all are safe to race.

    Build it with :meth:`connect`; the schema must have been migrated (``bot.store.upgrade``).
    Connection handling (``connect``, ``close``, ``ping``, ``engine``) is in :class:`Database`, claims and
    leases in :class:`Inbox` (and the messages deleted before they were answered in
    :class:`Withdrawals`), the order of a conversation's messages and the re-routes' holds in
    :class:`TurnTaking`, the catch-up's reads in :class:`RecentActivity`, the thread states in
    :class:`ThreadStates`, the escalations waiting for an agent in :class:`AwaitingAgents` (the waits
    whose message the customer deleted in :class:`WithdrawnWaits`), agent feedback in
    :class:`RouteFeedback`, learned examples in :class:`LearnedExamples`, ``db purge`` in :class:`Retention`.
    """

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
        posted), or to ``replied_at`` when the reply was posted earlier (found in Slack after a restart);
        none for a ``withdrawn`` decision, under which nothing was posted.
        It is a ``follow_up`` when the bot had already replied in the message's thread.

        Idempotent: completing the same message again records nothing new and returns the first id.

        Returns:
            The id of the message's decision.

        Raises:
            UnknownMessage: the message was never claimed.
        """
        now = utcnow()
        async with self._transaction() as conn:
            message_id = (await conn.execute(self._mark_done(msg, now))).scalar_one_or_none()
            if message_id is None:
                raise UnknownMessage(f"message {msg.channel_id}/{msg.ts} was never claimed")
            values = self._decision_of(msg, decision, reply_ts, now) | {
                "inbound_message_id": message_id,
                "reply_ms": None if decision.withdrawn else reply_ms(msg.ts, replied_at or now),
                "follow_up": _bot_replied_in_thread(msg),
            }
            decision_id = (await conn.execute(self._insert_once(values))).scalar_one_or_none()
            if decision_id is None:
                # Completed before: the first decision stands, and so does what it did to the thread.
                first = routing_decisions.c.inbound_message_id == message_id
                decision_id = (await conn.execute(select(routing_decisions.c.id).where(first))).scalar_one()
            elif not decision.withdrawn:  # nothing posted: the thread is as it was
                await conn.execute(self._answered(msg, decision))
        return int(decision_id)

    async def record_reroute(
        self,
        msg: InboundMessage,
        decision: RoutingDecision,
        reply_ts: str | None,
        *,
        by: str,
        gives_back: bool = True,
        at: str | None = None,
    ) -> int:
        """Record the answer to an agent's re-route of ``msg`` beside the classifier's decision (source
        ``agent``), and give the thread back to the bot unless that answer escalated, in one transaction.
        It has no ``reply_ms``: no customer waited for it (their message has its own decision).

        Not ``gives_back`` (``msg`` is an older message of its thread, whose later ones were answered or
        escalated since): the thread stays as it was, in a person's hands if it is, an escalation of a
        later message still waiting for an agent. ``at``: the Slack ts of the agent's choice, kept as a
        hand-back's is (see :meth:`hand_back`) when it gives the thread back.

        A re-route that could not be answered (``reply_ts`` None: nothing was posted) is recorded for what
        it cost, and changes nothing else: the thread stays as it was, and the customer's answer is still
        the one before it (see :meth:`find_decision`). Returns the new decision's id."""
        values = self._decision_of(msg, decision, reply_ts, utcnow())
        stmt = routing_decisions.insert().values(values).returning(routing_decisions.c.id)
        async with self._transaction() as conn:
            decision_id = int((await conn.execute(stmt)).scalar_one())
            if reply_ts is not None:
                rerouted = {"rerouted_by": by, "rerouted_at": at} if gives_back else {}
                await conn.execute(self._answered(msg, decision, **rerouted))
        return decision_id

    def _mark_done(self, msg: InboundMessage, now: datetime) -> Any:
        """The statement marking ``msg`` done (its text trimmed to the policy, its kept decision let go),
        returning its id; none when it was never claimed. Completed again, it keeps its first time."""
        m = inbound_messages
        return (
            update(m)
            .where(message_key(msg))
            .values(
                state="done",
                lease_until=None,
                completed_at=func.coalesce(m.c.completed_at, type_coerce(now, UTCDateTime)),
                # Kept in full while pending (a restart must answer it); trimmed to policy once done.
                text=storable_text(kept_text(msg.text, self.message_text)),
                kept_decision=None,
            )
            .returning(m.c.id)
        )

    def _insert_once(self, values: dict[str, Any]) -> Any:
        """The statement recording a message's decision, returning its id; none when the message has one."""
        d = routing_decisions
        return (
            self._insert(d)
            .values(values)
            .on_conflict_do_nothing(index_elements=["inbound_message_id"])
            .returning(d.c.id)
        )

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
        self,
        msg: InboundMessage,
        decision: RoutingDecision,
        *,
        rerouted_by: str | None = None,
        rerouted_at: str | None = None,
    ) -> Any:
        return self.answered_statement(
            msg.team_id,
            msg.channel_id,
            msg.thread_ts,
            decision.category,
            decision.escalated,
            msg.user_id,
            rerouted_by=rerouted_by,
            rerouted_at=rerouted_at,
            message_ts=msg.ts,
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
    return storable(values)
