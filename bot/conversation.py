"""Answering one claimed customer message: route it, reply in its thread, record the decision.

Slack failures (after slack_sdk's own retries) leave the message pending for a later attempt; the
router never raises; so a claimed message always ends answered or escalated, and recorded. Whether a
thread is still the bot's is :mod:`bot.ownership`; how a decision is posted there, streamed or whole,
:mod:`bot.posting`; what an attempt leaves for the next, and what a restart finds already posted,
:mod:`bot.recovery`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import partial

from slack_sdk.web.async_client import AsyncWebClient

from bot.agents import Directory
from bot.escalations import Escalations, gave_up_decision
from bot.history import direct_message_history, thread_history
from bot.identity import Identity
from bot.intake import is_direct, is_thread_reply
from bot.learning import Learner
from bot.ownership import ThreadOwnership, beaten_decision
from bot.posting import Posting
from bot.recovery import decision_payload
from bot.reply_metadata import reply_metadata
from bot.settings import Settings
from bot.slack_errors import SLACK_ERRORS
from bot.slack_text import message_words
from bot.store.records import InboundMessage
from bot.store.repository import Store, slack_time
from bot.take_overs import RecentTakeOvers
from bot.threads import thread_messages
from bot.withdrawals import RecentWithdrawals, Withdrawing
from router.models import EscalationReason, RoutingDecision, Turn
from router.router import Router

logger = logging.getLogger(__name__)


class Conversations(ThreadOwnership, Withdrawing, Posting):
    """Handles claimed messages; one instance serves every conversation concurrently.

    Whose a thread is (:class:`ThreadOwnership`), what of a message its author deleted
    (:class:`Withdrawing`) and how its decisions are posted (:class:`Posting`, on :class:`Recovery`: what
    attempts leave for retries and restarts) are its bases.
    """

    def __init__(
        self,
        settings: Settings,
        router: Router,
        store: Store,
        client: AsyncWebClient,
        identity: Identity,
        *,
        directory: Directory,
        learner: Learner | None = None,
        take_overs: RecentTakeOvers | None = None,
        withdrawals: RecentWithdrawals | None = None,
    ) -> None:
        self._learner = learner
        self._take_overs = take_overs or RecentTakeOvers()
        self._withdrawals = withdrawals or RecentWithdrawals()
        self._directory = directory
        self._settings = settings
        self._router = router
        self._store = store
        self._client = client
        self._escalations = Escalations(settings, router.routes, store, client, directory)
        # Learnt from auth.test when the bot starts.
        self.identity = identity

    async def handle(
        self,
        msg: InboundMessage,
        *,
        recovered: bool = False,
        waited: bool = False,
    ) -> RoutingDecision | None:
        """Answer or escalate ``msg`` in its thread and record the decision.

        Args:
            msg: the claimed message.
            recovered: the message was taken again after a failure or a crash, so its reply may
                already be in Slack.
            waited: the message waited for an earlier one of its conversation (or for a free slot), so
                its thread may have been handed to a person since the intake claimed it.

        Returns the decision, or None when the message was already answered before a restart, is left
        to the person its thread was handed to while it waited its turn, or is an agent's own post.
        """
        if await self._an_agents_own_post(msg):
            return None
        found = await self._recover_posted(msg) if recovered or msg.attempts else None
        if found is not None and found.reply is not None:
            return None
        escalate = None
        if is_direct(msg):
            # Agents read a DM's escalations in their own channel, never in the DM: what the customer
            # adds under an escalated message is classified and sent on to them, not left unread.
            if is_thread_reply(msg) and await self._silent(msg):
                escalate = EscalationReason.WITH_A_PERSON
        elif (waited or recovered or msg.attempts) and await self._left_to_a_person(msg):
            return None
        if await self._answered_by_a_person(msg, resumed=recovered or bool(msg.attempts)):
            return None
        kept = await self._store.kept_decision(msg) if recovered or msg.attempts else None
        if await self._withdrawn(msg, ask_store=waited or recovered or bool(msg.attempts)):
            return await self._close_withdrawn(msg, kept)
        if waited and kept is None:
            msg = await self._as_edited(msg)
        # Read with no conversation before it: only then does its text alone show its category.
        alone = False
        # Of an answer in several, what an earlier attempt posted before it failed (or the process died).
        posted = await self._continued(msg, found, kept) if found is not None and found.parts else {}
        if kept is not None:
            # An earlier attempt made this decision and could not post it: post it, not ask Claude again.
            decision, reply_ts = kept, await self._post_kept(msg, kept, posted)
        else:
            decision, reply_ts, alone = await self._answer(msg, None, escalate)
        await self._store.complete(msg, decision, reply_ts)
        logger.info("message %s/%s %s", msg.channel_id, msg.ts, outcome(decision))
        if self._learner is not None and alone:
            await self._learner.note_decision(decision)
        return decision

    async def reroute(
        self,
        msg: InboundMessage,
        category: str,
        agent: str,
        *,
        gives_back: bool = True,
        at: str | None = None,
    ) -> RoutingDecision:
        """Answer ``msg`` again as ``category`` (an agent's re-route) in its thread, and record that decision.

        The decision is recorded beside the first one (source ``agent``), not instead of it: the first
        stays what the classifier did, which the agent's feedback judges. The text is read back from Slack
        when it can be (the store may keep it redacted, or not at all).

        The new answer is written knowing the conversation as it stands: the customer's messages after
        ``msg`` and the replies to them, and the reply (or escalation) it replaces, marked as such so that
        Claude does not repeat it (see :func:`bot.history.thread_history`).

        An answer that fails (Claude down, a message with no words) is not posted, and recorded for its
        cost alone: the returned decision says it escalated and why, for the agent who asked, and the
        thread, the customer and the other agents see nothing of it (a half-streamed answer is deleted).
        So is one that another agent than ``agent`` (who chose it) beat, writing in the thread while it
        was written: the thread stays theirs. Not ``gives_back`` (an older message of the thread), an
        answer leaves the thread as it was (see :meth:`Store.record_reroute`); ``at``: the Slack ts of
        the agent's choice, which gives the thread back as a hand-back does.
        """
        async for message in thread_messages(self._client, msg.channel_id, msg.thread_ts):
            if message.get("ts") == msg.ts and (words := message_words(message, self.identity.user_id)):
                msg = msg.model_copy(update={"text": words})
                break
        decision, reply_ts, _ = await self._answer(msg, category, rerouted_by=agent)
        # Answered, the thread is the bot's again (the agent asked it to answer); not answered, what it
        # cost is on record all the same.
        await self._store.record_reroute(msg, decision, reply_ts, by=agent, gives_back=gives_back, at=at)
        return decision

    async def _answer(
        self,
        msg: InboundMessage,
        category: str | None,
        escalate: EscalationReason | None = None,
        *,
        rerouted_by: str | None = None,
    ) -> tuple[RoutingDecision, str | None, bool]:
        """Route ``msg`` (as ``category`` when given; to a person for ``escalate`` unless it only thanks)
        with its thread's history (all of it, for a re-route: ``rerouted_by`` the agent who chose it) and
        post the reply; its ts, or None for a re-route that failed; and whether it was routed alone, with
        no history (a follow-up's "yes please" is the category of its thread, not of its words).

        A decision made whose reply Slack would not take is kept in the store before the error goes on
        (the attempt fails): the next attempt posts it (:meth:`_post_kept`)."""
        rerouting = rerouted_by is not None
        history = await self._history(msg, rerouting=rerouting)
        # An agent's re-route answers again what the bot answered already: not the customer's wait.
        preface = None if rerouting else self._late(msg)
        # Whether an agent took the thread meanwhile (a DM's is not the agents'; a re-route's chooser
        # may have written there before choosing).
        check = None if is_direct(msg) else self._check_still_ours(msg, rerouted_by)
        streamed = self._streamed_reply(msg, preface, check)
        decision = await self._router.route(
            msg.text or "",
            history,
            on_text=self._text_sink(msg, streamed, rerouting),
            category=category,
            escalate=escalate,
            on_answering=streamed.prepare if streamed else None,
        )
        if check is not None and await self._beaten_by_an_agent(decision, streamed, check):
            return beaten_decision(decision), None, not history
        if not rerouting and await self._withdrawn(msg, ask_store=True):
            return await self._withdrawn_decision(msg, decision, streamed), None, not history
        try:
            return decision, await self._post(msg, decision, streamed, history, preface), not history
        except Exception as e:
            if rerouted_by is not None:
                await self._record_unposted_reroute(msg, decision, e, rerouted_by)
            else:
                await self._keep(msg, decision)
            raise

    async def _post_kept(
        self, msg: InboundMessage, decision: RoutingDecision, posted: Mapping[int, str]
    ) -> str | None:
        """Post the decision an earlier attempt made (whole: Claude wrote it all then), but for the
        messages of it that attempt posted (``posted``, see :meth:`_post_parts`); its ts."""
        history = await self._history(msg) if decision.escalated and is_direct(msg) else []
        # Failing, it stays kept for the next.
        return await self._post(msg, decision, None, history, self._late(msg), posted=posted, kept=True)

    def _late(self, msg: InboundMessage) -> str | None:
        """The apology a reply to ``msg`` begins with when it comes LATE_REPLY_MINUTES or more after the
        customer wrote (the bot was away, Claude or Slack down for a while); None otherwise."""
        minutes = self._settings.late_reply_minutes
        written = slack_time(msg.ts)
        if not minutes or written is None or datetime.now(UTC) - written < timedelta(minutes=minutes):
            return None
        return self._router.routes.late_reply_note

    async def _history(self, msg: InboundMessage, *, rerouting: bool = False) -> list[Turn]:
        """The conversation before ``msg``: the DM's earlier messages, the thread's earlier turns (all of
        them, for a re-route: ``rerouting``)."""
        history: list[Turn] = []
        # The bot's replies the customer stopped, which carry no metadata, are known by the store.
        streamed = partial(self._store.streamed_replies, msg.team_id, msg.channel_id)
        if is_direct(msg) and not is_thread_reply(msg):
            history = await direct_message_history(self._client, msg, self.identity.user_id, streamed)
        # A message that starts its own thread (the common case) has no history there: no lookup for it.
        # A re-route's thread always has some: the reply it replaces, at least.
        if is_thread_reply(msg) or rerouting:
            history += await thread_history(
                self._client,
                msg,
                self.identity.user_id,
                self._directory.is_agent,
                rerouting=rerouting,
                streamed_replies=streamed,
            )
        return history

    async def give_up(self, msg: InboundMessage, error: str) -> None:
        """The message could not be handled after every retry: hand it to a person, and record why.

        Unless its answer is in Slack after all (the failures were in recording it), its thread is in a
        person's hands already, or its author deleted it (during the last attempt, after its last look):
        no escalation on top of an answer, nor a tag in an agent's thread, nor one under a question taken
        back (what the attempts spent is recorded, marked withdrawn).
        """
        if (await self._recover_posted(msg)).reply is not None or await self._left_to_a_person(msg):
            return
        spent = await self._store.kept_decision(msg)
        if await self._withdrawn(msg, ask_store=True):
            await self._close_withdrawn(msg, spent)
            return
        decision = gave_up_decision(msg.text or "", error, self._router.routes, spent=spent)
        metadata = reply_metadata(msg, decision_payload(decision))
        history = await self._dm_history_if_readable(msg)
        reply_ts = await self._escalations.post(msg, decision, metadata, history, self._late(msg))
        await self._store.complete(msg, decision, reply_ts)

    async def _dm_history_if_readable(self, msg: InboundMessage) -> list[Turn]:
        """For a DM given up on, the conversation its notice shows the agents (they cannot read the DM);
        none when Slack will not give it, which may be why the message was given up on."""
        if not is_direct(msg):
            return []
        try:
            return await self._history(msg)
        except SLACK_ERRORS as e:
            logger.warning("the notice of %s/%s goes without its conversation: %s", msg.channel_id, msg.ts, e)
            return []


def outcome(decision: RoutingDecision) -> str:
    """What became of a message, for the operator's log: answered or escalated (and why), its category,
    confidence and classifier, and its time. Never the customer's text, nor the reasoning that may quote
    it: ``"answered as Technical Support (0.91 by claude) in 2.31 s"``."""
    if decision.acknowledgement:
        done = "closed with thanks"
    elif decision.escalated:
        done = f"escalated ({decision.escalation_reason or 'unknown reason'}), guessed"
    else:
        done = "answered offline as" if decision.offline else "answered as"
    timing = f" in {decision.total_ms / 1000:.2f} s" if decision.measured else ""
    return f"{done} {decision.category} ({decision.confidence:.2f} by {decision.source}){timing}"
