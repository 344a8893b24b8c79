"""What one attempt at a message leaves for the next: the decision it kept when Slack would not take its
reply, a re-route's unposted answer recorded for its cost, and after a crash the reply found already in
Slack (recorded from its metadata, :func:`decision_payload`) or the streams nobody finished, removed.

A mixin of :class:`bot.conversation.Conversations`, which sets the attributes declared here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.identity import Identity
from bot.replies import remove_unfinished, reply_payload
from bot.store.records import InboundMessage
from bot.store.repository import Store, slack_time
from bot.threads import find_posted_reply
from router.models import EscalationReason, RoutingDecision, Source
from router.router import Router

logger = logging.getLogger(__name__)


def decision_payload(decision: RoutingDecision) -> dict[str, Any]:
    """What a reply's metadata says about its decision, enough to record it again after a crash."""
    return {
        "category": decision.category,
        "confidence": round(decision.confidence, 4),
        "escalated": decision.escalated,
        "reason": decision.escalation_reason or "",
        "source": str(decision.source),
    }


class Recovery:
    """Retries and restarts of a conversation's attempts (see :class:`bot.conversation.Conversations`)."""

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

    async def _remove_unfinished(self, msg: InboundMessage, unfinished: Sequence[str] | None = None) -> None:
        """Delete the streams begun for ``msg`` that nobody finished (``unfinished``, else looked up): the
        customer must not see them beside the answer."""
        if unfinished is None:
            _, unfinished = await find_posted_reply(self._client, msg, self.identity.user_id)
        for ts in dict.fromkeys([*unfinished, *filter(None, [msg.reply_ts])]):
            await remove_unfinished(self._client, msg, ts)

    async def _recover_posted(self, msg: InboundMessage) -> bool:
        """After a crash: if the reply is already in Slack, record it instead of answering again."""
        posted, unfinished = await find_posted_reply(self._client, msg, self.identity.user_id)
        if posted is None:
            await self._remove_unfinished(msg, unfinished)
            return False
        payload = reply_payload(posted)
        names = self._router.routes.names
        category = str(payload["category"]) if payload.get("category") in names else names[0]
        decision = RoutingDecision(
            query=msg.text or "",
            category=category,
            confidence=float(payload.get("confidence") or 0.0),
            reasoning="Recovered after a restart: the reply had already been posted.",
            escalated=bool(payload.get("escalated")),
            escalation_reason=payload.get("reason") or None,
            source=Source(payload.get("source") or Source.LOCAL),
            answer=posted.get("text"),
            routing_ms=0.0,
            handling_ms=0.0,
            total_ms=0.0,
            error="recovered after restart; timings and tokens of the original attempt were lost",
            routes_version=self._router.routes.version,
            measured=False,
        )
        # The customer's wait ended when the reply was posted, not at this restart.
        await self._store.complete(msg, decision, posted.get("ts"), replied_at=slack_time(posted.get("ts")))
        logger.info("message %s/%s was already answered before a restart", msg.channel_id, msg.ts)
        return True
