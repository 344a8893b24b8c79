"""Agent feedback on routing decisions: the route was correct, or it was re-routed to another category."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Row, Select, and_, select

from bot.store.database import Database
from bot.store.records import InboundMessage, not_classified
from bot.store.tables.base import utcnow
from bot.store.tables.decisions import routing_decisions
from bot.store.tables.feedback import route_feedback
from bot.store.tables.messages import inbound_messages
from router.models import Source


class Verdict(StrEnum):
    """What an agent said about a route."""

    CORRECT = "correct"
    REROUTED = "rerouted"


class FeedbackTarget(BaseModel):
    """The decision an agent's click is about, and the customer message it answered."""

    model_config = ConfigDict(frozen=True)

    decision_id: int
    # The category the decision routed to.
    category: str
    decided_at: datetime
    message: InboundMessage
    # Whether a classifier made the decision (not a file alone, nor a give-up): only then does a
    # verdict on it count in the classifier's accuracy.
    classified: bool = True
    # The category of the answer the customer has now (the last one recorded: the classifier's, or an
    # agent's re-route), or None when the last reply was an escalation, not an answer.
    answered_as: str | None = None
    # Whether the message's words alone are an example of its category (see bot.learning): not a
    # follow-up ("it's the blue one" is of its thread's category), nor a thank-you.
    teaches: bool = True
    # Whether no later message of its thread was answered or escalated since: the message is where the
    # conversation stands, so that answering it again (a re-route) gives the thread back to the bot.
    latest: bool = True


class Feedback(BaseModel):
    """An agent's recorded verdict on one decision."""

    model_config = ConfigDict(frozen=True)

    decision_id: int
    agent_id: str
    verdict: Verdict
    category: str | None
    created_at: datetime


class RouteFeedback(Database):
    """The feedback half of the store (see :class:`bot.store.Store`)."""

    async def find_decision(self, team_id: str, channel_id: str, message_ts: str) -> FeedbackTarget | None:
        """The classifier's decision on the message (team, channel, ts), not an agent's re-route of it.

        Returns None when the bot recorded no decision for that message.
        """
        stmt = _decision_statement(team_id, channel_id, message_ts)
        latest = _last_reply_statement(team_id, channel_id, message_ts)
        async with self.reading() as conn:
            row = (await conn.execute(stmt)).first()
            last = (await conn.execute(latest)).first() if row is not None else None
            if row is None or last is None:
                return None
            later = _later_statement(team_id, channel_id, row.thread_ts or message_ts, message_ts)
            decided_later = (await conn.execute(later)).first() is not None
        message = _message_of(row, team_id, channel_id, message_ts)
        return FeedbackTarget(
            decision_id=row.id,
            category=row.category,
            decided_at=row.created_at,
            message=message,
            answered_as=None if last.escalated else last.category,
            classified=not_classified(row.source, row.escalation_reason) is None,
            teaches=not (row.follow_up or row.acknowledgement),
            latest=not decided_later,
        )

    async def add_feedback(
        self, target: FeedbackTarget, agent_id: str, verdict: Verdict, category: str | None = None
    ) -> None:
        """Record an agent's verdict on a decision; a later verdict on the same decision replaces it.

        Args:
            target: the decision (see :meth:`find_decision`).
            agent_id: the Slack user id of the agent who clicked.
            verdict: correct, or rerouted.
            category: the category the agent chose (re-routes only).
        """
        f = route_feedback
        insert = self._insert(f).values(
            decision_id=target.decision_id,
            routed_category=target.category,
            channel_id=target.message.channel_id,
            decided_at=target.decided_at,
            classified=target.classified,
            agent_id=agent_id,
            verdict=verdict.value,
            category=category if verdict is Verdict.REROUTED else None,
            created_at=utcnow(),
        )
        stmt = insert.on_conflict_do_update(
            index_elements=["decision_id"],
            set_={
                "agent_id": insert.excluded.agent_id,
                "verdict": insert.excluded.verdict,
                "category": insert.excluded.category,
                "created_at": insert.excluded.created_at,
            },
        )
        async with self._transaction() as conn:
            await conn.execute(stmt)

    async def get_feedback(self, decision_id: int) -> Feedback | None:
        """The verdict recorded on a decision, or None."""
        f = route_feedback
        stmt = select(f.c.decision_id, f.c.agent_id, f.c.verdict, f.c.category, f.c.created_at).where(
            f.c.decision_id == decision_id
        )
        async with self.reading() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else Feedback.model_validate(row._asdict())


def _decision_statement(team_id: str, channel_id: str, message_ts: str) -> Select[Any]:
    """The classifier's decision on the message (its first, not an agent's re-route), with its claim."""
    d, m = routing_decisions, inbound_messages
    return (
        select(
            d.c.id,
            d.c.category,
            d.c.query,
            d.c.user_id,
            d.c.thread_ts,
            d.c.created_at,
            d.c.source,
            d.c.escalation_reason,
            d.c.follow_up,
            d.c.acknowledgement,
            m.c.text,
            m.c.channel_type,
            m.c.user_team_id,
        )
        .outerjoin(m, m.c.id == d.c.inbound_message_id)
        .where(
            d.c.channel_id == channel_id,
            d.c.message_ts == message_ts,
            d.c.team_id == team_id,
            d.c.source != Source.AGENT.value,
        )
        .order_by(d.c.id)
        .limit(1)
    )


def _last_reply_statement(team_id: str, channel_id: str, message_ts: str) -> Select[Any]:
    """The category and escalation of the last reply to the message that the customer has."""
    d = routing_decisions
    # A re-route that could not be answered posted nothing.
    failed_reroute = and_(d.c.source == Source.AGENT.value, d.c.escalated)
    return (
        select(d.c.category, d.c.escalated)
        .where(d.c.channel_id == channel_id, d.c.message_ts == message_ts, d.c.team_id == team_id)
        .where(~failed_reroute)
        .order_by(d.c.id.desc())
        .limit(1)
    )


def _later_statement(team_id: str, channel_id: str, thread_ts: str, message_ts: str) -> Select[Any]:
    """A decision on a message of the thread ``thread_ts`` written after ``message_ts`` (Slack's ts, of
    one width, order as text), if there is one."""
    d = routing_decisions
    return (
        select(d.c.id)
        .where(d.c.channel_id == channel_id, d.c.message_ts > message_ts, d.c.team_id == team_id)
        .where(d.c.thread_ts == thread_ts)
        .limit(1)
    )


def _message_of(row: Row[Any], team_id: str, channel_id: str, message_ts: str) -> InboundMessage:
    """The message a decision was made on, as its claim (or, without one, the decision) recorded it."""
    return InboundMessage(
        team_id=team_id,
        channel_id=channel_id,
        ts=message_ts,
        user_id=row.user_id or "",
        # The claim keeps the text as received; the decision's query may have been shortened.
        text=row.text if row.text is not None else row.query,
        thread_ts=row.thread_ts or message_ts,
        channel_type=row.channel_type,
        user_team_id=row.user_team_id,
    )
