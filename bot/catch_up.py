"""Messages customers wrote while the bot was away for longer than Slack retries an event.

Slack delivers an event again three times, over about five minutes; a longer outage (a deploy gone wrong,
a host down for the night) and the messages of that time would never be answered. At start, each channel
and DM where the bot took a customer message in the last :data:`CHANNELS_WINDOW` is read from the last
message it took there (back at most ``CATCH_UP_HOURS``), and each message is put through the intake as
its event would have been: the same rules (agents' posts, bots, subtypes, channels) and the same claim,
so a message whose event does arrive after all, or that another replica catches up at the same time, is
answered once. A message a person already replied to in its thread is left to them (another app's reply,
a ticket number, is no answer: such a thread is read to tell).

Slack's history of a channel holds no thread replies, but it shows, on each thread's root, when the thread
last had one. The channel's history is read back to the oldest root of the threads the bot still has a
part in where a customer wrote within ``CATCH_UP_HOURS``; a thread whose latest reply came after the
bot's last recorded decision had someone write in it while the bot was away, and only those threads are
read in full: the follow-ups in them go through the intake too, and an agent's reply there is their
taking the thread over, as its event would have made it.

The thread of a message caught up at the top is read too when its author added to it. A customer's first
DM is found in the DMs opened with the bot within ``CATCH_UP_HOURS`` (Slack lists them with when each was
opened; this needs the ``im:read`` scope). The agents' replies under the notices of escalated DMs no agent
had picked up are read too: each takes its DM up, as its event would have. A channel where the bot never
took a message is not read at all: a bot newly invited into a busy channel does not answer its past.

The reads leave part of Slack's quota to the answers, and are made again while Slack cannot answer them
for now (:mod:`bot.paced_reads`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.intake import Intake
from bot.paced_reads import PacedReads, again_while_transient
from bot.settings import Settings
from bot.slack_errors import SLACK_ERRORS
from bot.store.recent import LastSeen, SeenThread
from bot.store.records import InboundMessage
from bot.store.repository import Store

logger = logging.getLogger(__name__)

# Channels where a customer wrote within this long are read; the most recently active first, so many.
CHANNELS_WINDOW = timedelta(days=7)
MAX_CHANNELS = 200
# conversations.list pages of the bot's DMs read at most (1,000 each), one every this many seconds: half of
# Slack's quota for it (Tier 2, 20 a minute).
MAX_DIRECT_MESSAGE_PAGES = 20
LIST_INTERVAL_SECONDS = 6.0
# Threads read in full in one channel at most: those whose latest reply is the most recent.
MAX_THREADS_PER_CHANNEL = 100
# How far this host's clock and Slack's may differ, at most.
CLOCK_MARGIN = timedelta(minutes=1)


class CatchUp:
    """Finds the messages no event brought, and hands each to ``submit`` once claimed."""

    def __init__(
        self,
        store: Store,
        client: AsyncWebClient,
        intake: Intake,
        settings: Settings,
        submit: Callable[[InboundMessage], object],
    ) -> None:
        self._store = store
        self._client = client
        self._intake = intake
        self._hours = settings.catch_up_hours
        self._submit = submit
        self._reads = PacedReads()

    async def run(
        self, bot_user_id: str | None, team_id: str | None = None, now: datetime | None = None
    ) -> int:
        """Take every message written since the last one seen in each channel and in each of its threads
        still the bot's, and in the DMs opened with the bot since (in workspace ``team_id``); returns
        how many."""
        if self._hours <= 0:
            return 0
        now = now or datetime.now(UTC)
        earliest = now - timedelta(hours=self._hours)
        # Every reply the bot recorded was posted by then; a minute's margin for the clocks of Slack and
        # of this host (a thread read for nothing costs one call).
        decided = await self._store.last_decided()
        away_since = (decided - CLOCK_MARGIN).timestamp() if decided else 0.0
        self._reads = PacedReads()  # this run's: its first read waits for none before it
        taken = 0
        seen_channels = await self._store.last_seen(
            now - CHANNELS_WINDOW, MAX_CHANNELS, threads_since=earliest
        )
        if team_id:
            known = {seen.channel_id for seen in seen_channels}
            seen_channels = [*await self._opened_direct_messages(team_id, known, earliest), *seen_channels]
        await self._notices(now, away_since, bot_user_id)
        for seen in seen_channels:
            try:
                taken += await self._channel(seen, f"{earliest.timestamp():.6f}", away_since, bot_user_id)
            except SLACK_ERRORS as e:
                # Left the channel since, the channel deleted: nothing to catch up there.
                logger.warning("could not read %s to catch up on it: %s", seen.channel_id, e)
        if taken:
            logger.info("answering %d message(s) written while the bot was away", taken)
        return taken

    async def _notices(self, now: datetime, away_since: float, bot_user_id: str | None) -> None:
        """Read the replies written while the bot was away under the notices of escalated DMs no agent had
        picked up: through the intake, an agent's is their taking the DM up (its pick-up in the stats; no
        reminder then tags the agents for a customer one of them has written to)."""
        for team, channel, notice_ts in await self._store.noticed_awaiting(
            now - CHANNELS_WINDOW, MAX_CHANNELS
        ):
            after = max(f"{away_since:.6f}", notice_ts, key=float)
            await self._thread(LastSeen(team, channel, notice_ts), notice_ts, after, None, bot_user_id)

    async def _opened_direct_messages(
        self, team_id: str, known: set[str], earliest: datetime
    ) -> list[LastSeen]:
        """The DMs opened with the bot since ``earliest`` where it took no message: where a customer's
        first words to it are, if they wrote them while it was away. The most recently opened first."""
        opened: list[tuple[float, str]] = []
        since = earliest.timestamp()
        cursor = None
        try:
            for page in range(MAX_DIRECT_MESSAGE_PAGES):
                if page:
                    await asyncio.sleep(LIST_INTERVAL_SECONDS)
                response = await again_while_transient(
                    self._client.conversations_list,
                    types="im",
                    exclude_archived=True,
                    limit=1000,
                    cursor=cursor,
                )
                for dm in response.get("channels") or []:
                    created = float(dm.get("created") or 0)
                    if created >= since and dm.get("id") not in known and not dm.get("is_user_deleted"):
                        opened.append((created, str(dm["id"])))
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SLACK_ERRORS as e:
            needed = isinstance(e, SlackApiError) and e.response.get("error") == "missing_scope"
            hint = ": the app lacks im:read, reinstall it from manifest.yml" if needed else f": {e}"
            logger.warning("could not look for DMs opened while the bot was away%s", hint)
        opened.sort(reverse=True)
        # A second before the DM was opened: Slack's "created" is whole seconds, its first message's ts not.
        return [
            LastSeen(team_id, channel, f"{created - 1:.6f}") for created, channel in opened[:MAX_CHANNELS]
        ]

    async def _channel(
        self, seen: LastSeen, earliest: str, away_since: float, bot_user_id: str | None
    ) -> int:
        """Takes the new messages at the top of ``seen``'s channel, then in its threads; returns how many."""
        oldest = max(seen.ts, earliest, key=float)
        threads = {thread.thread_ts: thread for thread in seen.threads}
        start = min([oldest, *threads], key=float)
        history = await self._reads.read(
            self._client.conversations_history, channel=seen.channel_id, oldest=start, inclusive=True
        )
        fresh = [m for m in history if float(m["ts"]) > float(oldest)]
        # One someone else replied to in its thread is read with its thread (below): a person's reply
        # makes it theirs, as after a take-over; another app's (a ticket number) does not.
        replied = {m["ts"] for m in fresh if _replied_by_others(m)}
        taken = await self._take(seen, [m for m in fresh if m["ts"] not in replied], bot_user_id)
        active = [
            threads[m["ts"]]
            for m in history
            if m["ts"] in threads and float(m.get("latest_reply") or 0) > away_since
        ]
        # A customer who added to their own message's thread while the bot was away: read it too.
        active += [SeenThread(m["ts"], m["ts"], m.get("user")) for m in fresh if m.get("reply_count")]
        for thread in active[max(0, len(active) - MAX_THREADS_PER_CHANNEL) :]:
            taken += await self._thread(
                seen, thread.thread_ts, thread.ts, thread.customer_id, bot_user_id, thread.ts in replied
            )
        return taken

    async def _thread(
        self,
        seen: LastSeen,
        root: str,
        after: str,
        customer: str | None,
        bot_user_id: str | None,
        with_root: bool = False,
    ) -> int:
        """Takes the messages written after ``after`` in the thread of ``root`` in ``seen``'s channel (and
        the root itself, ``with_root``), but those of ``customer`` a person answered (see
        :func:`_left_to_the_bot`); returns how many."""
        try:
            replies = await self._reads.read(
                self._client.conversations_replies, channel=seen.channel_id, ts=root, oldest=after
            )
        except SLACK_ERRORS as e:
            logger.warning("could not read a thread of %s to catch up on it: %s", seen.channel_id, e)
            return 0
        later = [
            m
            for m in replies
            if (m["ts"] == root and with_root) or (float(m["ts"]) > float(after) and m["ts"] != root)
        ]
        return await self._take(seen, _left_to_the_bot(later, customer), bot_user_id)

    async def _take(self, seen: LastSeen, messages: list[dict[str, Any]], bot_user_id: str | None) -> int:
        """Puts ``messages`` of ``seen``'s channel through the intake, in order; returns how many it took."""
        taken = 0
        for message in messages:
            body = _event_body(seen, message, bot_user_id)
            msg = await self._intake.accept(body, bot_user_id, caught_up=True)
            if msg is not None:
                self._submit(msg)
                taken += 1
        return taken


def _replied_by_others(message: dict[str, Any]) -> bool:
    """Whether someone other than its author replied in ``message``'s thread: Slack lists who did, people
    and apps alike (whether a person did is read from the thread itself)."""
    return any(user != message.get("user") for user in message.get("reply_users") or [])


def _left_to_the_bot(replies: list[dict[str, Any]], customer: str | None) -> list[dict[str, Any]]:
    """``replies`` (oldest first) without the customer's messages that a person answered after them: theirs,
    as after a take-over. Everyone else's stay: through the intake, an agent's reply takes the thread over."""
    kept = []
    answered = False  # someone other than the customer wrote after this message
    for message in reversed(replies):
        if message.get("user") != customer or not answered:
            kept.append(message)
        if message.get("user") not in (None, customer) and not message.get("bot_id"):
            answered = True
    return kept[::-1]


def _event_body(seen: LastSeen, message: dict[str, Any], bot_user_id: str | None) -> dict[str, Any]:
    """The Events API body that would have brought ``message`` (read from the channel's history): one
    that mentions the bot, outside a DM, as its ``app_mention`` (which asks the bot even in a thread it has
    no part in); from another organisation's member in a Slack Connect channel, marked shared as Slack
    marks it, so that the answer streamed to them names their workspace (``recipient_team_id``), not ours."""
    channel = seen.channel_id
    kind = {"D": "im", "G": "group"}.get(channel[:1], "channel")
    mentions = bot_user_id is not None and f"<@{bot_user_id}" in str(message.get("text") or "")
    event_type = "app_mention" if mentions and kind != "im" else "message"
    event = {**message, "type": event_type, "channel": channel, "channel_type": kind}
    body: dict[str, Any] = {"type": "event_callback", "team_id": seen.team_id, "event": event}
    author_team = message.get("user_team") or message.get("team")
    if author_team and author_team != seen.team_id:
        body["is_ext_shared_channel"] = True
    return body
