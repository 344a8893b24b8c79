"""Escalations nobody picked up: after ESCALATION_REMINDER_MINUTES with no agent's word in the thread, the
agents are tagged there again, once, so a customer told "a person will follow up" is not forgotten.

Any replica may look; each reminder is claimed in the store before it is posted (one per escalation), and
given back if Slack refuses it, for the next look. A failure that does not say whether Slack posted it (a
5xx, a timeout) gives it back marked: the next look reads the thread for it (its message metadata names the
escalation, :func:`bot.reply_metadata.reminder_metadata`) and posts it only if it is not there, so the
agents are not tagged twice. An agent's reply in the thread (which takes it over), a hand-back and a
re-route all end the wait, and so does the customer deleting the message it is about
(:mod:`bot.store.withdrawn_waits`): the look never reads such a wait. An escalated DM is brought up under
its notice in the agents' channel, where a reply ends the wait (agents cannot write in the customer's DM
with the bot), and that of the customer's other escalations (``Store.take_over``); one the customer wrote
after an agent took them up under another of its notices tags that agent; one never announced there is
left out. An escalation made before this start has its thread read first: an agent may have answered it
while no bot was up, further back than the catch-up reads.

A customer who writes again in a thread an agent holds (taken over; a DM: taken up under its notice) waits
for that agent, whom Slack alone tells of it: their wait (``Store.customer_wrote``, ended by an agent's
reply, a hand-back, a re-route, the deletion of the message it is about) is brought up after as long,
once, through the same claim, tagging every agent and naming the one who holds the thread, who has let it
wait that long: another can step in. More messages do not start the clock again, nor bring a second
reminder, until an agent replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.agents import Directory
from bot.escalation_messages import minutes_word, reminder_text
from bot.escalations import TAKER_REMEMBERED
from bot.reply_metadata import reminder_metadata
from bot.settings import Settings
from bot.slack_errors import SLACK_ERRORS, failure, maybe_carried_out
from bot.store.records import AwaitingEscalation
from bot.store.repository import Store
from bot.threads import in_thread, thread_messages

logger = logging.getLogger(__name__)

# How often the store is asked for escalations that have waited too long.
LOOK_INTERVAL_SECONDS = 60.0
# How far Slack's clock (a reply's ts) and the store's (when a thread was escalated) may differ, at most.
CLOCK_MARGIN = timedelta(minutes=1)


class Reminders:
    """Looks for escalations waiting longer than ``settings.escalation_reminder_minutes`` and tags the
    agents in each one's thread."""

    def __init__(
        self, store: Store, client: AsyncWebClient, settings: Settings, directory: Directory
    ) -> None:
        self._store = store
        self._directory = directory
        self._client = client
        self._settings = settings
        self._wait = timedelta(minutes=settings.escalation_reminder_minutes)
        # Escalations made before this start may have been answered while no bot was up (see
        # :meth:`_answered_unseen`); those made since, the intake saw answered.
        self._started = datetime.now(UTC)
        self._loop: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self._wait > timedelta(0)

    async def remind(self, now: datetime | None = None) -> int:
        """Remind the agents of every escalation, and every customer who wrote again to the agent holding
        their thread, that has waited too long by ``now``; returns how many."""
        now = now or datetime.now(UTC)
        reminded = 0
        due = now - self._wait
        waits = [*await self._store.awaiting_agents(due), *await self._store.customers_waiting(due)]
        for escalation in waits:
            # Read before the claim: a claimed reminder is posted or given back, only Slack fails in between.
            mentions, holder = await self._mentions(escalation, now)
            if await self._store.claim_reminder(escalation):
                reminded += await self._post(escalation, mentions, holder, now)
        return reminded

    async def _post(
        self, escalation: AwaitingEscalation, mentions: str, holder: str | None, now: datetime
    ) -> int:
        if escalation.reminder_maybe_posted and await self._posted_already(escalation):
            return 0
        if escalation.waiting_since < self._started and await self._answered_unseen(escalation):
            return 0
        waited = now - escalation.waiting_since
        channel, thread_ts = escalation.reminder_thread
        customer = escalation.customer_id if escalation.notice_ts else None
        text = reminder_text(
            mentions, waited, direct_message_from=customer, wrote_again=escalation.wrote_again, held_by=holder
        )
        try:
            await self._client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=text,
                unfurl_links=False,
                metadata=reminder_metadata(escalation),
            )
        except SLACK_ERRORS as e:
            logger.warning("could not remind the agents of %s: %s", _where(escalation), failure(e))
            await self._store.claim_reminder(escalation, release=True, maybe_posted=maybe_carried_out(e))
            return 0
        logger.info("reminded the agents of %s", _where(escalation))
        return 1

    async def _posted_already(self, escalation: AwaitingEscalation) -> bool:
        """Whether the reminder of ``escalation``, given back after a failure that may hide its post, is
        in its thread, or the thread could not be read (given back again, still unsure, for the next
        look): either way this look posts nothing."""
        try:
            # Its thread (a DM's: under its notice), by the metadata naming the escalation.
            found = await in_thread(self._client, *escalation.reminder_thread, reminder_metadata(escalation))
        except SLACK_ERRORS as e:
            logger.warning("could not look for the reminder of %s: %s", _where(escalation), failure(e))
            await self._store.claim_reminder(escalation, release=True, maybe_posted=True)
            return True
        if found:
            logger.info("the reminder of %s was posted already (Slack's answer was lost)", _where(escalation))
        return found

    async def _answered_unseen(self, escalation: AwaitingEscalation) -> bool:
        """Whether an agent replied to ``escalation`` (or to the customer who wrote again) in its thread
        (a DM's: under its notice) while no bot was up to see it: no event brought their reply, and the
        catch-up at start reads back only ``CATCH_UP_HOURS`` (none at 0). Their reply is then its pick-up
        (or ends the wait), as its event would have made it, and nobody is tagged for a customer one of
        them has. Only a configured agent's reply counts, and only one written after the wait began
        (within :data:`CLOCK_MARGIN` of Slack's clock and the store's); a thread Slack will not give now
        is reminded of all the same: a tag too many beats a customer forgotten."""
        channel, thread_ts = escalation.reminder_thread
        since = (escalation.waiting_since - CLOCK_MARGIN).timestamp()
        try:
            async for message in thread_messages(self._client, channel, thread_ts):
                user = message.get("user")
                if not user or message.get("bot_id") or user == escalation.customer_id:
                    continue
                if float(message.get("ts") or 0) > since and await self._directory.is_agent(str(user)):
                    key = (escalation.team_id, escalation.channel_id, escalation.thread_ts)
                    await self._store.take_over(*key, str(user), customer=escalation.notice_ts is not None)
                    logger.info("%s was answered while the bot was away: no reminder", _where(escalation))
                    return True
        except SLACK_ERRORS as e:
            logger.warning(
                "could not read the thread of %s before reminding: %s", _where(escalation), failure(e)
            )
        return False

    async def _mentions(self, escalation: AwaitingEscalation, now: datetime) -> tuple[str, str | None]:
        """Whom the reminder tags, and the agent who holds the thread, to name. An escalation: every
        agent; for a DM whose customer an agent had taken up before this message was escalated (replying
        under another of its notices: customers write on at the top of a DM, each escalated message with a
        notice of its own; a take-up picks up those escalated before it), that agent alone, as its notice
        did (``Escalations._announce``). A customer who wrote again: every agent, the holder named (the
        first who took the thread over; for a DM picked up with its customer, the agent who has them):
        the holder alone was told of it already, by Slack or the note under the notice, and let it wait."""
        taker = None
        if escalation.notice_ts:
            since = now - TAKER_REMEMBERED
            taker = await self._store.direct_message_taker(escalation.team_id, escalation.channel_id, since)
        if escalation.wrote_again:
            return await self._directory.mentions(), escalation.taken_over_by or taker
        return (f"<@{taker}>" if taker else await self._directory.mentions()), None

    def start(self) -> None:
        """Look every :data:`LOOK_INTERVAL_SECONDS` until :meth:`stop` (nothing when reminders are off)."""
        if self.enabled and self._loop is None:
            logger.info(
                "an escalation no agent answers is brought up again after %g %s "
                "(ESCALATION_REMINDER_MINUTES; 0 turns this off)",
                self._settings.escalation_reminder_minutes,
                minutes_word(self._settings.escalation_reminder_minutes),
            )
            self._loop = asyncio.create_task(self._looking(), name="escalation reminders")

    async def stop(self) -> None:
        """Stop looking, after the look under way if there is one: a reminder claimed is posted (or given
        back), never cut off between the two."""
        if self._loop is not None:
            self._stopping.set()
            await self._loop
            self._loop = None

    async def _looking(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), LOOK_INTERVAL_SECONDS)
                return
            try:
                await self.remind()
            except Exception:
                logger.exception("the look for escalations waiting on an agent failed; trying again later")


def _where(escalation: AwaitingEscalation) -> str:
    return f"{escalation.channel_id}/{escalation.thread_ts}"
