"""Whether a conversation's thread is still the bot's: escalated or taken over by an agent, it is a
person's, and an answer written meanwhile is not posted under their words.

A mixin of :class:`bot.conversation.Conversations`, which sets the attributes declared here.
"""

from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.agents import Directory
from bot.intake import is_direct, is_thread_reply
from bot.store.records import InboundMessage
from bot.store.repository import Store
from bot.streaming import StartCheck, StreamedReply
from bot.take_overs import RecentTakeOvers
from bot.threads import UNREADABLE_THREAD, thread_messages
from router.models import EscalationReason, RoutingDecision

logger = logging.getLogger(__name__)


class ThreadOwnership:
    """Whose a conversation's thread is (see :class:`bot.conversation.Conversations`)."""

    _store: Store
    _take_overs: RecentTakeOvers
    _client: AsyncWebClient
    _directory: Directory

    async def _silent(self, msg: InboundMessage) -> bool:
        """Whether ``msg``'s thread is in a person's hands (escalated or taken over)."""
        return await self._store.bot_silent(msg.team_id, msg.channel_id, msg.thread_ts)

    async def _left_to_a_person(self, msg: InboundMessage) -> bool:
        """If the thread was escalated or taken over since ``msg`` was claimed (the intake claims nothing
        in such a thread, so a silent thread now means it fell silent while ``msg`` waited), close ``msg``
        unanswered (state 'left'): the person in charge reads it there. Never a DM's: agents do not read
        DMs, so there :meth:`Conversations.handle` sends what the customer added on to them. The wait for
        an agent there is about ``msg`` too (``Store.wrote_while_waiting``): deleting the message it was
        about alone no longer ends it."""
        if is_direct(msg) or not await self._silent(msg):
            return False
        await self._store.leave_to_agents(msg)
        await self._store.wrote_while_waiting(msg.team_id, msg.channel_id, msg.thread_ts, msg.ts)
        logger.info("message %s/%s left to the agents in charge of its thread", msg.channel_id, msg.ts)
        return True

    async def _an_agents_own_post(self, msg: InboundMessage) -> bool:
        """Whether ``msg``, a top-level post the intake claimed not knowing whether its author is an agent
        (Slack had never listed the agents' group), turns out an agent's ("heads up, team") once the
        group's read comes back: the one the intake began in the background, or one due now. Its claim is
        then dropped, unanswered, as the intake drops such a post when the group is known. Still unknown
        (Slack cannot list the group), it is answered: a customer left without an answer is the worse
        mistake."""
        if not msg.author_unknown:
            return False
        status = await self._directory.agent_status(msg.user_id)
        if status is None:
            logger.warning(
                "the agents' group cannot be read: %s/%s answered as a customer's", msg.channel_id, msg.ts
            )
        if not status:
            return False
        await self._store.forget(msg)
        logger.info("message %s/%s is an agent's own post: not answered", msg.channel_id, msg.ts)
        return True

    async def _answered_by_a_person(self, msg: InboundMessage, *, resumed: bool = False) -> bool:
        """If an agent replied in ``msg``'s channel thread after ``msg`` where the bot could not see it,
        the thread is that agent's: taken over (as their reply would have made it, had the bot seen it),
        and ``msg`` is closed unanswered (state 'left'), as the catch-up leaves a message a person replied
        to. The bot misses such a reply when:

        - ``msg``, the first message of a channel thread, came again after a failed delivery: Slack does
          not deliver in order, and the agent's reply, coming first, was in a thread that was none of the
          bot's business yet;
        - ``msg`` is taken again (``resumed``) after the bot was away, a crash or a failed attempt: the
          agent wrote meanwhile, and the catch-up that reads their reply runs beside the messages resumed
          at a start, too late for this one.

        Only a known agent's reply counts (AGENT_USERS, AGENT_USERGROUP): a colleague's "same here" must
        not leave the customer with no answer and nobody tagged, and there may be no bot reply here to
        press *Hand back* under. An agent's message written before the thread's last hand-back is no
        taking it over again (as in the intake).

        Only such a message reads its thread here (one call, after the acknowledgement); a first message
        delivered at once has no replies to read. A thread Slack will not let the bot read is answered
        as it would be without this look."""
        first_again = msg.redelivered and not is_thread_reply(msg)
        if is_direct(msg) or not (first_again or resumed):
            return False
        thread = await self._store.get_thread(msg.team_id, msg.channel_id, msg.thread_ts)
        try:
            async for message in thread_messages(self._client, msg.channel_id, msg.thread_ts):
                user, ts = message.get("user"), str(message.get("ts") or "0")
                if float(ts) <= float(msg.ts) or not user or user == msg.user_id or message.get("bot_id"):
                    continue
                if thread is not None and thread.written_before_hand_back(ts):
                    continue
                if await self._directory.is_agent(str(user)):
                    await self._store.take_over(msg.team_id, msg.channel_id, msg.thread_ts, str(user))
                    return await self._left_to_a_person(msg)
        except SlackApiError as e:
            if e.response.get("error") not in UNREADABLE_THREAD:
                raise  # rate limits and outages: the message is tried again
        return False

    def _check_still_ours(self, msg: InboundMessage, rerouted_by: str | None = None) -> StartCheck:
        """Whether an answer to ``msg`` begun now may still be posted: not if an agent took the thread
        over meanwhile, as this process saw at once (``RecentTakeOvers``) or the store says (another
        replica saw it), read as Claude writes (``StreamedReply.prepare``). A re-route answers a thread
        escalated or taken by the agent who chose it (``rerouted_by``): another agent's alone stops it."""
        begun = time.monotonic()

        def taken_here() -> bool:
            key = (msg.team_id, msg.channel_id, msg.thread_ts)
            return self._take_overs.since(*key, begun, other_than=rerouted_by)

        async def in_store() -> bool:
            if rerouted_by is None:
                return not await self._silent(msg)
            thread = await self._store.get_thread(msg.team_id, msg.channel_id, msg.thread_ts)
            return thread is None or thread.taken_over_by in (None, rerouted_by)

        return StartCheck(taken_here=taken_here, still_ours=in_store)

    async def _beaten_by_an_agent(
        self, decision: RoutingDecision, streamed: StreamedReply | None, check: StartCheck
    ) -> bool:
        """Whether an agent took the channel thread over while its answer was written (``check``) and
        before the customer saw any of it: the answer is then not posted under the agent's words (the
        bot stepped aside, and said so to them). An answer already streaming is finished: the customer is
        reading it. Escalations have their own check (``Escalations.post``)."""
        if decision.escalated:
            return False
        if streamed is not None and (streamed.withheld or streamed.ts is not None):
            return streamed.withheld
        return check.taken_here() or not await check.still_ours()


def beaten_decision(decision: RoutingDecision) -> RoutingDecision:
    """The decision of an answer an agent beat (see ``Conversations._beaten_by_an_agent``): the message
    went to a person, who was there first; what the unposted answer cost stays on record."""
    return decision.model_copy(update={"escalated": True, "escalation_reason": EscalationReason.AGENT_FIRST})
