"""What one attempt at a message leaves for the next: the decision it kept when Slack would not take its
reply, a re-route's unposted answer recorded for its cost, and after a crash the reply found already in
Slack (recorded from its metadata, :func:`decision_payload`) or the streams nobody finished, removed; the
messages of an answer too long for one, posted so that the next attempt posts only those not in Slack;
and an escalated DM's notice to the agents it posted without noting it, noted.

A mixin of :class:`bot.conversation.Conversations`, which sets the attributes declared here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.identity import Identity
from bot.intake import is_direct
from bot.replies import post_reply, remove_unfinished
from bot.reply_metadata import part_metadata, reply_metadata, reply_payload
from bot.settings import Settings
from bot.slack_errors import SLACK_ERRORS
from bot.store.records import InboundMessage
from bot.store.repository import Store, slack_time
from bot.threads import PostedReply, find_notice, find_posted_reply
from router.models import EscalationReason, RoutingDecision, Source
from router.router import Router

logger = logging.getLogger(__name__)


def decision_payload(decision: RoutingDecision) -> dict[str, Any]:
    """What a reply's metadata says about its decision, enough to record it again after a crash (a
    thank-you's acknowledgement too: /routing-stats counts it apart from the category's answers)."""
    return {
        "category": decision.category,
        "confidence": round(decision.confidence, 4),
        "escalated": decision.escalated,
        "reason": decision.escalation_reason or "",
        "source": str(decision.source),
        **({"acknowledgement": True} if decision.acknowledgement else {}),
    }


class Recovery:
    """Retries and restarts of a conversation's attempts (see :class:`bot.conversation.Conversations`)."""

    _settings: Settings
    _store: Store
    _client: AsyncWebClient
    _router: Router
    identity: Identity

    async def _record_unposted_reroute(
        self, msg: InboundMessage, decision: RoutingDecision, error: Exception, agent: str
    ) -> None:
        """Record a re-route's answer that Slack would not take, for what Claude charged for it: an answer
        not given (see :meth:`Conversations.reroute`); the agent is told, and may choose the category
        again."""
        failed = decision.model_copy(
            update={
                "escalated": True,
                "escalation_reason": EscalationReason.HANDLER_ERROR,
                "error": f"the answer could not be posted: {type(error).__name__}",
            }
        )
        try:
            await self._store.record_reroute(msg, failed, None, by=agent)
        except Exception as e:
            logger.warning("could not record the unposted re-route of %s/%s: %s", msg.channel_id, msg.ts, e)

    async def _keep(self, msg: InboundMessage, decision: RoutingDecision) -> None:
        """Keep ``decision`` for the next attempt at ``msg``; if even that fails, the next attempt routes
        the message again (the attempt's own error is the one that counts)."""
        try:
            await self._store.keep_decision(msg, decision)
        except Exception as e:
            logger.warning("could not keep the decision on %s/%s for a retry: %s", msg.channel_id, msg.ts, e)

    async def _post_parts(
        self,
        msg: InboundMessage,
        decision: RoutingDecision,
        messages: Sequence[tuple[str, list[dict[str, Any]]]],
        controls: list[dict[str, Any]],
        preface: str | None,
        posted: Mapping[int, str],
        kept: bool,
    ) -> str:
        """Post an answer too long for one Slack message as ``messages``, in order, each naming its number
        in its metadata, ``preface`` over the first and the agent controls under the last; returns the
        first's ts. Those an earlier attempt posted (``posted``: their ts by number) are not posted again.

        The decision is kept first, unless it is ``kept`` already: a crash part-way leaves the rest to
        post (:meth:`Recovery._continued`), not the answer to ask for again and begin once more."""
        if not kept and decision.source is not Source.AGENT:
            await self._keep(msg, decision)
        metadata = reply_metadata(msg, decision_payload(decision))
        first = posted.get(1)
        for number, (text, blocks) in enumerate(messages, 1):
            if number in posted:
                continue
            last = number == len(messages)
            ts = await post_reply(
                self._client,
                msg,
                text,
                [*blocks, *controls] if last else blocks,
                part_metadata(metadata, number, len(messages)),
                preface=preface if number == 1 else None,
            )
            first = first or ts
        assert first is not None  # the first was posted, now or before
        return first

    async def _remove_unfinished(self, msg: InboundMessage, unfinished: Sequence[str] | None = None) -> None:
        """Delete the streams begun for ``msg`` that nobody finished (``unfinished``, else looked up): the
        customer must not see them beside the answer."""
        if unfinished is None:
            unfinished = (await find_posted_reply(self._client, msg, self.identity.user_id)).unfinished
        for ts in dict.fromkeys([*unfinished, *filter(None, [msg.reply_ts])]):
            await remove_unfinished(self._client, msg, ts)

    async def _recover_notice(self, msg: InboundMessage) -> None:
        """After a failed attempt at a DM message: note the notice it posted in the agents' channel if it
        could not note it itself (Slack's answer lost, the bot killed), so that the escalation posted
        now finds it there (``Escalations._announce``) instead of tagging the agents a second time."""
        channel = self._settings.direct_message_escalations
        if not is_direct(msg) or channel is None:
            return
        thread = await self._store.get_thread(msg.team_id, msg.channel_id, msg.thread_ts)
        if thread is not None and thread.notice_channel_id == channel:
            return  # noted: what followed it is looked for in its thread (bot.threads.noticed)
        try:
            notice_ts = await find_notice(self._client, channel, msg)
        except SLACK_ERRORS as e:
            # Not a reason to leave the customer unanswered: at worst the agents are told twice.
            logger.warning(
                "could not look for the notice of %s/%s in %s: %s", msg.channel_id, msg.ts, channel, e
            )
            return
        if notice_ts is not None:
            await self._store.note_notice(
                msg.team_id, msg.channel_id, msg.thread_ts, msg.user_id, channel, notice_ts
            )

    async def _recover_posted(self, msg: InboundMessage) -> PostedReply:
        """After a crash or a failed attempt: if the reply is already in Slack, record it instead of
        answering again (the reply found is returned); else remove the streams nobody finished. The parts
        posted of an answer in several are left, for the kept decision to be posted on from
        (:meth:`_continued`)."""
        found = await find_posted_reply(self._client, msg, self.identity.user_id)
        posted = found.reply
        if posted is None:
            await self._remove_unfinished(msg, found.unfinished)
            await self._recover_notice(msg)
            return found
        payload = reply_payload(posted)
        names = self._router.routes.names
        category = str(payload["category"]) if payload.get("category") in names else names[0]
        messages = found.messages
        decision = RoutingDecision(
            query=msg.text or "",
            category=category,
            confidence=float(payload.get("confidence") or 0.0),
            reasoning="Recovered after a restart: the reply had already been posted.",
            escalated=bool(payload.get("escalated")),
            escalation_reason=payload.get("reason") or None,
            source=Source(payload.get("source") or Source.LOCAL),
            acknowledgement=payload.get("acknowledgement") is True,
            answer="\n".join(str(m.get("text") or "") for m in messages) or None,
            routing_ms=0.0,
            handling_ms=0.0,
            total_ms=0.0,
            error="recovered after restart; timings and tokens of the original attempt were lost",
            routes_version=self._router.routes.version,
            measured=False,
        )
        # The customer's wait ended when the reply was posted, not at this restart; it begins at its first
        # message, for an answer in several.
        reply_ts = messages[0].get("ts") if messages else posted.get("ts")
        await self._store.complete(msg, decision, reply_ts, replied_at=slack_time(posted.get("ts")))
        logger.info("message %s/%s was already answered before a restart", msg.channel_id, msg.ts)
        return found

    async def _continued(
        self, msg: InboundMessage, found: PostedReply, kept: RoutingDecision | None
    ) -> dict[int, str]:
        """The parts of an answer in several that an earlier attempt posted (by number, their ts), for
        this one to post the rest of ``kept``, the decision it made; with no decision kept to go on from,
        they are removed, and the message is answered again from the start."""
        if kept is None:
            for message in found.parts.values():
                await remove_unfinished(self._client, msg, str(message["ts"]))
            return {}
        return {number: str(message["ts"]) for number, message in found.parts.items()}
