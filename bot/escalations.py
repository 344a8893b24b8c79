"""Handing a customer message to a person: the escalation in its thread, the agents tagged (for a DM, a
notice in the agents' channel and a word to the customer), and the decision of a message given up on."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.agents import Directory
from bot.escalation_messages import (
    direct_message_escalation,
    escalation_controls,
    escalation_message,
)
from bot.formatting import agent_controls, note
from bot.intake import is_direct, is_thread_reply
from bot.replies import post_reply
from bot.reply_metadata import notice_metadata
from bot.settings import Settings
from bot.store.records import InboundMessage
from bot.store.repository import Store
from bot.store.tables.base import utcnow
from bot.threads import noticed
from router.config import RoutesConfig
from router.models import EscalationReason, RoutingDecision, Source, Turn

logger = logging.getLogger(__name__)
# How long the agent who took up a customer's DM is the one a later escalation of that DM goes to (a new
# message, or what the customer adds under an escalated one whose notice nobody replied under).
TAKER_REMEMBERED = timedelta(hours=24)


class Escalations:
    """Posts escalations; one instance serves every conversation (see ``bot.conversation``)."""

    def __init__(
        self,
        settings: Settings,
        routes: RoutesConfig,
        store: Store,
        client: AsyncWebClient,
        directory: Directory,
    ) -> None:
        self._settings = settings
        self._routes = routes
        self._store = store
        self._client = client
        self._directory = directory

    async def post(
        self,
        msg: InboundMessage,
        decision: RoutingDecision,
        metadata: dict[str, Any],
        history: Sequence[Turn] = (),
        preface: str | None = None,
    ) -> str | None:
        """Post the escalation of ``msg``: in its thread, the agents tagged; for a DM, the notice in the
        agents' channel and a word to the customer. None, nothing posted, when an agent wrote in the
        channel thread while the message was being routed: they are there already, and tagging them all
        would call them to a customer one of them is talking to."""
        if not is_direct(msg) and await self._store.bot_silent(msg.team_id, msg.channel_id, msg.thread_ts):
            logger.info("escalation of %s/%s not posted: an agent is in its thread", msg.channel_id, msg.ts)
            return None
        settings = self._settings
        controls = escalation_controls(controls_key(msg), self._routes.names, decision)
        escalation = self._routes.escalation
        agents_channel = settings.direct_message_escalations
        if is_direct(msg) and agents_channel is not None:
            await self._announce(msg, decision, controls, history, agents_channel)
            text, blocks = note(escalation.customer_message_dm)
            return await post_reply(self._client, msg, text, blocks, metadata, preface=preface)
        # Left in a DM (no channel to announce it in), it is seen by its customer alone: agent controls
        # there would be theirs to press, as under the answers in a DM, which carry none.
        here = not is_direct(msg)
        mentions = await self._directory.mentions()
        text, blocks = escalation_message(decision, escalation.customer_message, mentions, controls=here)
        blocks += [controls] if here else []
        return await post_reply(self._client, msg, text, blocks, metadata, preface=preface)

    async def _announce(
        self,
        msg: InboundMessage,
        decision: RoutingDecision,
        controls: dict[str, Any],
        history: Sequence[Turn],
        agents_channel: str,
    ) -> None:
        """Tell the agents of an escalated DM in their channel, before the customer is told: if that note
        then fails, the escalation is not one nobody was told of, and the retry, finding the notice noted,
        does not announce it again. The DM's first notice starts a thread that the rest of it follows
        (what the customer adds under the escalated message, a later escalation): the agents read the
        conversation in one place, and whoever replied there, taking it up, is the one tagged; with nobody
        there, the agent who took the customer up under another of their notices, or else every agent."""
        settings = self._settings
        thread = await self._store.get_thread(msg.team_id, msg.channel_id, msg.thread_ts)
        notice_ts, taker = None, None
        if thread is not None and thread.notice_channel_id == agents_channel:
            if not thread.bot_answered and not is_thread_reply(msg):
                return  # announced by this message's earlier attempt: its notice alone is in the thread
            notice_ts, taker = thread.notice_ts, thread.taken_over_by
            if notice_ts is not None and await noticed(self._client, agents_channel, notice_ts, msg):
                return  # this message's earlier attempt told them, then failed to tell the customer
        if taker is None:
            # Nobody replied under this message's notice (or it is a new one): the agent who has this
            # customer, taken up under another of their notices, is the one they write to.
            since = utcnow() - TAKER_REMEMBERED
            taker = await self._store.direct_message_taker(msg.team_id, msg.channel_id, since)
        mentions = f"<@{taker}>" if taker else await self._directory.mentions()
        notice, blocks = direct_message_escalation(
            decision, mentions, msg.user_id, msg.text or "", history, quote=settings.quotes_direct_messages
        )
        posted = await self._client.chat_postMessage(
            channel=agents_channel,
            thread_ts=notice_ts,
            text=notice,
            blocks=[*blocks, controls],
            unfurl_links=False,
            metadata=notice_metadata(msg),
        )
        if notice_ts is None and posted.get("ts"):
            await self._store.note_notice(
                msg.team_id, msg.channel_id, msg.thread_ts, msg.user_id, agents_channel, str(posted["ts"])
            )


GAVE_UP_REASONING = "The message could not be handled after repeated attempts."


def gave_up_decision(
    query: str, error: str, routes: RoutesConfig, *, spent: RoutingDecision | None = None
) -> RoutingDecision:
    """The decision recorded for a message given up on after every retry: it goes to a person, and
    /routing-stats tells it by its source and reason (``bot.store.records.GAVE_UP``).

    With ``spent``, the decision an attempt made and could not post (``Store.kept_decision``), what is
    known of it stays on record: its category guess and confidence, its models, times, tokens and cost
    (Claude bills them all the same). Without, the first category and confidence 0 are stand-ins, and
    none of the router's figures are known."""
    if spent is not None:
        return spent.model_copy(
            update={
                "reasoning": f"{GAVE_UP_REASONING} Classified by {spent.source.value}: {spent.reasoning}",
                "escalated": True,
                "escalation_reason": EscalationReason.HANDLER_ERROR,
                "source": Source.FALLBACK,
                "answer": None,
                "error": error,
            }
        )
    return RoutingDecision(
        query=query,
        category=routes.names[0],
        confidence=0.0,
        reasoning=GAVE_UP_REASONING,
        escalated=True,
        escalation_reason=EscalationReason.HANDLER_ERROR,
        source=Source.FALLBACK,
        routing_ms=0.0,
        handling_ms=0.0,
        total_ms=0.0,
        error=error,
        routes_version=routes.version,
        # The attempts' times and tokens went with them: none of the router's figures are known.
        measured=False,
    )


def controls_key(msg: InboundMessage) -> str:
    """What agent controls are keyed by: the customer message (its decision is recorded right after
    posting), as ``bot.listeners.actions`` reads it back."""
    return f"{msg.channel_id}:{msg.ts}"


def agent_controls_for(msg: InboundMessage, names: list[str], decision: RoutingDecision) -> dict[str, Any]:
    """Agent controls under the answer ``decision`` gave ``msg``: under a thank-you's "You're welcome",
    where nothing was routed, Hand back alone (confirmed, "thanks" would count as a right route)."""
    if decision.acknowledgement:
        return agent_controls(controls_key(msg), [], None, confirm=False)
    return agent_controls(controls_key(msg), names, decision.category)
