"""From a Slack event to a claimed customer message, or to nothing at all.

Pure parsing first (which events are customer messages), then the thread rules: a follow-up in a
thread the bot answered is routed; a message there from anyone but the customer is an agent taking
over; a thread that is escalated or taken over gets no answer (nor, read again by the catch-up after it was
handed back, what was written there before), except in a DM, which agents cannot read: there the
customer's words are sent on to them (see :meth:`bot.conversation.Conversations.handle`). Either way, a
customer's message in a thread an agent holds waits for that agent's reply (see :mod:`bot.reminders`).
A customer's reply in their own thread that Slack delivers before the thread's first message waits for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any

from slack_bolt.request.internals import extract_actor_team_id, extract_team_id

from bot.agents import Directory
from bot.settings import Settings
from bot.slack_ids import is_dm_channel
from bot.slack_text import message_words
from bot.store.records import InboundMessage, ThreadState
from bot.store.repository import Store
from bot.take_overs import RecentTakeOvers
from bot.withdrawals import RecentWithdrawals, deleted_in_thread, deleted_message, edited_message
from router.policy import acknowledges

logger = logging.getLogger(__name__)

# Subtypes that are still a person writing: a reply also sent to the channel, a message with a file, a
# /me message ("/me can't log in since the update").
ROUTED_SUBTYPES = frozenset({"thread_broadcast", "file_share", "me_message"})
DIRECT_CHANNEL_TYPES = frozenset({"im"})
# How long a reply waits for its thread's first message at least: Slack sends a failed event again after
# about one minute and five.
WAIT_FOR_REDELIVERY_SECONDS = 600.0


def parse_event(
    body: Mapping[str, Any], bot_user_id: str | None, support_channels: Collection[str]
) -> InboundMessage | None:
    """The customer message carried by an Events API body, or None when there is nothing to answer."""
    event = body.get("event") or {}
    if event.get("type") not in {"message", "app_mention"}:
        return None
    subtype = event.get("subtype")
    if subtype and subtype not in ROUTED_SUBTYPES:
        return None
    user = event.get("user")
    if not user or event.get("bot_id") or event.get("bot_profile") or user == bot_user_id:
        return None
    channel = event.get("channel")
    # app_mention events carry no channel_type; direct-message channel ids start with D.
    channel_type = event.get("channel_type") or ("im" if is_dm_channel(str(channel)) else None)
    direct = channel_type in DIRECT_CHANNEL_TYPES
    if not channel or (support_channels and not direct and channel not in support_channels):
        return None
    text = message_words(event, bot_user_id)
    if not text and not event.get("files"):
        # A bare mention or blank text asks nothing. A file alone is kept: an agent sharing one in a
        # bot thread takes it over, and a customer's goes to a person (the router cannot read files).
        return None
    # The installing workspace, as Bolt reads it (authorizations first): in a channel shared with
    # another organisation, the body's team_id is the workspace the message came from, while agents'
    # replies and clicks come from ours, and the thread must be found by both.
    team = extract_team_id(dict(body)) or body.get("team_id") or event.get("team") or ""
    # The author's own workspace, which a streamed answer names as its recipient's (None when ours).
    author_team = extract_actor_team_id(dict(body))
    return InboundMessage(
        team_id=team,
        channel_id=channel,
        ts=event["ts"],
        user_id=user,
        text=text,
        thread_ts=event.get("thread_ts") or event["ts"],
        channel_type=channel_type,
        user_team_id=author_team if author_team and author_team != team else None,
    )


def is_thread_reply(msg: InboundMessage) -> bool:
    return msg.thread_ts != msg.ts


def is_direct(msg: InboundMessage) -> bool:
    """A message in a DM with the bot."""
    return msg.channel_type in DIRECT_CHANNEL_TYPES


def addressed_to_bot(body: Mapping[str, Any], msg: InboundMessage) -> bool:
    """A mention or a DM always asks the bot, even in a thread it has not answered."""
    event = body.get("event") or {}
    return event.get("type") == "app_mention" or is_direct(msg)


def only_thanks(text: str | None) -> bool:
    """Whether the customer's message, in a thread a person has, only thanks them or says goodbye ("thanks,
    that's all!", "great, bye"): it asks nothing of them, so it starts no wait for an agent's reply, and
    brings nobody up ESCALATION_REMINDER_MINUTES later, nor counts in /routing-stats among the customers
    waiting now. A bare "ok" or "yes" may answer the agent's question (the bot does not keep what agents
    write), so it waits as any message does; a wait under way goes on (thanks in advance end nothing)."""
    return text is not None and acknowledges(text, after_question=True)


def left_to_a_person(thread: ThreadState, msg: InboundMessage, *, caught_up: bool) -> bool:
    """Whether ``msg``, in ``thread``, is the person's the thread went to, not the bot's to answer: it is
    theirs now (escalated, taken over); or, read again by the catch-up (``caught_up``), it was when ``msg``
    was written, before the thread's last hand-back: the bot stayed out then, and the agent had it (the
    catch-up reads each thread from the last message the bot took there, so it finds again what it left
    to them). A late event of such a message is answered: the bot never saw it, nor perhaps the agent, as
    they handed back. Never a DM's: agents cannot read a DM, so what the customer adds goes on to them."""
    if is_direct(msg):
        return False
    return thread.bot_silent or (caught_up and thread.written_before_hand_back(msg.ts))


class Intake:
    """Decides, before Slack is acknowledged, whether an event is a customer message to answer.

    A message to answer is claimed in the store before :meth:`accept` returns.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        directory: Directory,
        on_take_over: Callable[[InboundMessage], None] | None = None,
        on_withdrawn: Callable[[str, str, str, str], None] | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        # Where escalated DMs are announced: replies under a notice there are agents taking a DM up, so
        # its events are read even when SUPPORT_CHANNELS leaves it out.
        self._notices = settings.direct_message_escalations
        support = settings.support_channels
        self._channels = [*support, self._notices] if support and self._notices else support
        self._directory = directory
        # Called (it must not wait on Slack: the ack waits on the intake) when an agent's message makes
        # the bot step aside in a thread that was in its hands (not escalated, not taken over).
        self._on_take_over = on_take_over
        # Called (it must not wait on Slack either) with (team, channel, thread ts, ts) of each message
        # its author deleted: what an escalation wrote of it is edited after the ack.
        self._on_withdrawn = on_withdrawn
        self.take_overs = RecentTakeOvers()
        # Messages deleted before their answer was posted (bot.withdrawals), read by the answers' writers.
        self.withdrawals = RecentWithdrawals()

    async def accept(
        self,
        body: Mapping[str, Any],
        bot_user_id: str | None,
        *,
        redelivered: bool = False,
        caught_up: bool = False,
    ) -> InboundMessage | None:
        """The claimed message to answer, or None (not a customer message, a duplicate, an agent's turn).

        ``redelivered``: Slack sent the event again after a failed delivery (``X-Slack-Retry-Num``).
        ``caught_up``: no event brought it; the catch-up at a start read it in Slack (:mod:`bot.catch_up`)."""
        settings = self._settings
        if (deleted := deleted_message(body)) is not None:
            await self._withdraw(body, deleted)
            return None
        if (edited := edited_message(body, bot_user_id)) is not None:
            await self._store.revise(*edited)  # read by the worker when the message's turn comes
            return None
        msg = parse_event(body, bot_user_id, self._channels)
        if msg is None:
            return None
        msg = msg.model_copy(update={"redelivered": True}) if redelivered else msg
        if msg.channel_id == self._notices and is_thread_reply(msg) and await self._under_notice(msg):
            return None
        if msg.channel_id == settings.escalation_channel and msg.channel_id not in settings.support_channels:
            return None  # the agents' own channel: no customer writes there
        thread = None
        if is_thread_reply(msg):
            thread = await self._store.get_thread(msg.team_id, msg.channel_id, msg.thread_ts)
            if thread is None and not addressed_to_bot(body, msg):
                # People talking in a thread the bot has no part in (yet, for a reply that waits).
                return await self._before_its_root(body, msg, bot_user_id)
        elif not addressed_to_bot(body, msg):
            status = await self._directory.agent_status(msg.user_id, wait=False)
            if status:
                return None  # an agent's own post in the support channel ("heads up, team") is no question
            # Unknown (the agents' group never read): claimed, and told apart once the read the intake
            # has just begun in the background comes back (see ``ThreadOwnership._an_agents_own_post``).
            msg = msg.model_copy(update={"author_unknown": True}) if status is None else msg
        if thread is not None and await self._is_agent_turn(msg, thread):
            if thread.written_before_hand_back(msg.ts):
                # Brought only now (a late event, the catch-up after a restart): it would take the thread
                # over again after the hand-back said the bot answers the next message.
                return None
            await self._store.take_over(msg.team_id, msg.channel_id, msg.thread_ts, msg.user_id)
            self.take_overs.note(msg.team_id, msg.channel_id, msg.thread_ts, msg.user_id)
            if not thread.bot_silent and self._on_take_over is not None:
                self._on_take_over(msg)
            return None
        if thread is not None and thread.bot_silent and not thread.written_before_hand_back(msg.ts):
            # Written to the person who has the thread: it waits for an agent's reply (bot.reminders),
            # unless it only thanks them.
            await self._customer_wrote(msg)
        if thread is not None and left_to_a_person(thread, msg, caught_up=caught_up):
            return None
        return msg if await self._store.claim(msg, lease_seconds=self._settings.claim_lease_seconds) else None

    async def _customer_wrote(self, msg: InboundMessage) -> None:
        """Start the wait of a customer who wrote ``msg`` to the person who has its thread (see
        :meth:`bot.store.Store.customer_wrote`), unless it only thanks them (:func:`only_thanks`)."""
        if not only_thanks(msg.text):
            await self._store.customer_wrote(msg.team_id, msg.channel_id, msg.thread_ts, msg.ts)

    async def _withdraw(self, body: Mapping[str, Any], deleted: tuple[str, str, str]) -> None:
        """Withdraw the message ``deleted`` (team, channel, ts), its author having deleted it: not answered
        if it is not yet (:mod:`bot.withdrawals`); no longer waited on if a wait for an agent is about it
        alone (escalated, or written to the agent holding its thread): no reminder about it. Both through
        the store, whichever replica escalated it or holds it; both nothing when Slack tells it again.
        Then, after the ack, what an escalation told the agents of it is edited
        (:mod:`bot.withdrawn_escalations`)."""
        if await self._store.withdraw(*deleted):
            self.withdrawals.note(deleted)
        team, channel, thread_ts, ts = deleted_in_thread(body, deleted)
        if await self._store.withdraw_wait(team, channel, thread_ts, ts):
            logger.info("the wait for an agent in %s/%s ended: its message was deleted", channel, thread_ts)
        if self._on_withdrawn is not None:
            self._on_withdrawn(team, channel, thread_ts, ts)

    async def _before_its_root(
        self, body: Mapping[str, Any], msg: InboundMessage, bot_user_id: str | None
    ) -> InboundMessage | None:
        """Keep waiting a customer's reply in their own thread whose first message the bot has not
        claimed (yet): Slack does not deliver in order, and sends a failed delivery again a minute later,
        when the customer may have written on in its thread. It is claimed as waiting, for as long as the
        catch-up at a start would still find that first message, and answered once that is handled: the
        worker that handled it takes it (:meth:`Store.take_released`). Anyone else's words there, and an
        agent's own thread, are not the bot's business; neither is a thread whose first message it left
        unanswered, and its replies wait in vain. Slack names the thread's author in the event
        (``parent_user_id``): no call to Slack here. A reply that mentions the bot does not wait: its
        ``app_mention`` event is its claim, answered at once.

        Returns the reply, to answer now, when its first message was handled between the look for its
        thread and its claim (its worker found no reply waiting); otherwise None."""
        event = body.get("event") or {}
        if event.get("parent_user_id") != msg.user_id:
            return None
        if bot_user_id and f"<@{bot_user_id}" in str(event.get("text") or ""):
            return None
        if await self._directory.is_agent(msg.user_id, wait=False):
            return None
        wait = max(self._settings.catch_up_hours * 3600, WAIT_FOR_REDELIVERY_SECONDS)
        if not await self._store.claim(msg, lease_seconds=wait, waiting=True):
            return None
        released = await self._store.take_released(msg, self._settings.claim_lease_seconds)
        return released[0] if released else None

    async def _under_notice(self, msg: InboundMessage) -> bool:
        """Whether ``msg`` replies under an escalated DM's notice in the agents' channel; an agent's reply
        there takes the DM up (its pick-up, for /routing-stats and the reminders; what the customer adds
        then goes to that agent), and its customer with it: the DM's other escalations waiting for an
        agent are picked up too."""
        dm = await self._store.noticed_thread(msg.team_id, msg.channel_id, msg.thread_ts)
        if dm is None:
            return False
        if not dm.state.written_before_hand_back(msg.ts) and await self._is_agent_turn(msg, dm.state):
            await self._store.take_over(msg.team_id, dm.channel_id, dm.thread_ts, msg.user_id, customer=True)
        return True

    async def _is_agent_turn(self, msg: InboundMessage, thread: ThreadState) -> bool:
        """An agent writing in a bot thread: a configured agent or, when none are configured (or Slack
        cannot say who the agents are), anyone other than the customer: a wrong step aside is undone
        with *Hand back*, an agent answered as a customer is not. The person who opened the thread is its
        customer, agent or not: an agent asking the bot a question of their own keeps its answers coming."""
        if msg.user_id == thread.customer_id:
            return False
        if self._directory.agents_configured:
            status = await self._directory.agent_status(msg.user_id, wait=False)
            if status is not None:
                return status
        return thread.customer_id is not None  # someone other than the customer (see above)
