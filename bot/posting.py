"""Posting a decision in its message's thread: the answer streamed as Claude writes it or posted whole (in
several messages when too long for one), the agent controls under it, and in its place an escalation,
after a note under an answer whose stream broke off.

A mixin of :class:`bot.conversation.Conversations`, which sets the attributes declared here; it builds on
:class:`Recovery`, which posts an answer in several so that a retry posts only what Slack lacks, and
removes the streams nobody finished.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.clients import without_rate_limit_waits
from bot.escalations import Escalations, agent_controls_for
from bot.formatting import answer_messages, route_context
from bot.intake import is_direct
from bot.recovery import Recovery, decision_payload
from bot.replies import post_reply, remove_unfinished
from bot.reply_metadata import reply_metadata
from bot.slack_errors import SLACK_ERRORS, stream_refused_for_good, why
from bot.store.records import InboundMessage
from bot.streaming import StartCheck, StreamedReply
from router.models import RoutingDecision, Source, Turn

logger = logging.getLogger(__name__)

# Written under a streamed answer that broke off, above the escalation that follows it.
INTERRUPTED = "\n\n_…this answer was interrupted before it was finished._"


class Posting(Recovery):
    """How a conversation's decisions reach Slack (see :class:`bot.conversation.Conversations`)."""

    _escalations: Escalations

    @cached_property
    def _quick_client(self) -> AsyncWebClient:
        """The client's twin that does not wait out rate limits, for streaming; built at the first answer,
        when the bot's start has given the client its session, which they share."""
        return without_rate_limit_waits(self._client)

    @property
    def _agents(self) -> str:
        """How agents are described to customers (the routes file's ``escalation.agent_description``)."""
        return self._router.routes.escalation.agent_description

    @property
    def streaming(self) -> bool:
        return self._settings.slack_streaming != "off"

    def _streamed_reply(
        self, msg: InboundMessage, preface: str | None, check: StartCheck | None
    ) -> StreamedReply | None:
        """The reply to ``msg`` streamed as Claude writes it, or None when the bot posts replies whole."""
        if not self.streaming:
            return None
        return StreamedReply(
            self._client,
            msg,
            required=self._settings.slack_streaming == "on",
            on_started=lambda ts: self._store.note_reply_started(msg, ts),
            quick_client=self._quick_client,
            preface=preface,
            may_start=check,
        )

    async def _post(
        self,
        msg: InboundMessage,
        decision: RoutingDecision,
        streamed: StreamedReply | None,
        history: Sequence[Turn],
        preface: str | None = None,
        *,
        posted: Mapping[int, str] | None = None,
        kept: bool = False,
    ) -> str | None:
        """Post ``decision``'s reply (the end of its stream, when one started), ``preface`` first (in the
        stream, when one started: it went with its first words); its ts. ``posted`` and ``kept``: see
        :meth:`_post_parts`."""
        metadata = reply_metadata(msg, decision_payload(decision))
        if decision.escalated:
            return await self._post_escalation(msg, decision, streamed, metadata, history, preface)
        # In a DM only the customer sees the bot's answers: agent controls there would be theirs to click.
        controls = [] if is_direct(msg) else [agent_controls_for(msg, self._router.routes.names, decision)]
        if streamed is not None and streamed.ts is not None:
            ts = await self._finish_stream(
                msg, streamed, [route_context(decision, self._agents), *controls], metadata
            )
            if ts is not None:
                return ts
        if streamed is not None and streamed.maybe_started:
            await self._remove_unfinished(msg)
        messages = answer_messages(decision.answer or "", decision, self._agents)
        if len(messages) > 1:
            return await self._post_parts(msg, decision, messages, controls, preface, posted or {}, kept)
        [(text, blocks)] = messages
        return await post_reply(self._client, msg, text, [*blocks, *controls], metadata, preface=preface)

    async def _finish_stream(
        self,
        msg: InboundMessage,
        streamed: StreamedReply,
        blocks: list[dict[str, Any]],
        metadata: dict[str, Any],
    ) -> str | None:
        """End ``streamed``, ``blocks`` under it; its ts, or None when Slack refused it part-way for its
        length (as it would on every attempt) and it was removed: the answer goes whole now, rather than
        a retry's back-off later, with nothing in the thread meanwhile. Any other failure, or a stream
        that could not be removed, fails the attempt, its decision kept for the retry to post
        (``Conversations._answer``)."""
        assert streamed.ts is not None
        try:
            return await streamed.finish(blocks, metadata)
        except SLACK_ERRORS as e:
            if not stream_refused_for_good(e) or not await remove_unfinished(self._client, msg, streamed.ts):
                raise
            logger.info(
                "Slack refused the stream of %s/%s (%s): its answer goes whole",
                msg.channel_id,
                msg.ts,
                why(e),
            )
            return None

    async def _post_escalation(
        self,
        msg: InboundMessage,
        decision: RoutingDecision,
        streamed: StreamedReply | None,
        metadata: dict[str, Any],
        history: Sequence[Turn],
        preface: str | None,
    ) -> str | None:
        """Post ``decision``'s escalation in place of an answer, under what a stream that broke off showed
        the customer; its ts. None for an agent's re-route that could not be answered: theirs to know
        (see ``Conversations.reroute``), no one else's, and its stream is removed."""
        if decision.source is Source.AGENT:
            if streamed is not None and streamed.ts is not None:
                await remove_unfinished(self._client, msg, streamed.ts)
            return None
        if streamed is not None and streamed.ts is not None:
            # The answer broke off mid-stream: say so under what the customer already sees (it may stop
            # mid-sentence, mid-instruction), close it, then escalate.
            await streamed.interrupt(INTERRUPTED)
            await streamed.finish(None, reply_metadata(msg, {"partial": True}))
            preface = None  # the customer has read it already
        return await self._escalations.post(msg, decision, metadata, history, preface)
