"""Messages customers wrote while the bot was away for longer than Slack retries an event.

Slack delivers an event again three times, over about five minutes; a longer outage (a deploy gone wrong,
a host down for the night) and the messages of that time would never be answered. At start, each channel
and DM where the bot took a customer message in the last :data:`CHANNELS_WINDOW` is read from the last
message it took there (back at most ``CATCH_UP_HOURS``), and each message is put through the intake as
its event would have been: the same rules (agents' posts, bots, subtypes, channels) and the same claim,
so a message whose event does arrive after all, or that another replica catches up at the same time, is
answered once. A message someone else already replied to in its thread is left to them.

Only messages at the top of a channel or DM are read (Slack's history of a channel holds no thread
replies): a follow-up written in a thread while the bot was away is not caught up. A channel where the bot
never took a message is not read at all: a bot newly invited into a busy channel does not answer its
past.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.intake import Intake
from bot.replies import SLACK_ERRORS
from bot.settings import Settings
from bot.store.records import InboundMessage
from bot.store.repository import LastSeen, Store

logger = logging.getLogger(__name__)

# Channels where a customer wrote within this long are read; the most recently active first, so many.
CHANNELS_WINDOW = timedelta(days=7)
MAX_CHANNELS = 200
# Messages read from one channel at most (a page is as many as Slack gives at once).
MAX_MESSAGES_PER_CHANNEL = 1000
PAGE_SIZE = 200
# Between two history reads: about half of Slack's quota for conversations.history (Tier 3, 50 a minute),
# the other half left to the DM answers that read a customer's earlier messages with it meanwhile.
READ_INTERVAL_SECONDS = 2.4


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

    async def run(self, bot_user_id: str | None, now: datetime | None = None) -> int:
        """Take every message written since the last one seen in each channel; returns how many."""
        if self._hours <= 0:
            return 0
        now = now or datetime.now(UTC)
        earliest = (now - timedelta(hours=self._hours)).timestamp()
        taken = 0
        for n, seen in enumerate(await self._store.last_seen(now - CHANNELS_WINDOW, MAX_CHANNELS)):
            if n:
                await asyncio.sleep(READ_INTERVAL_SECONDS)
            oldest = max(seen.ts, f"{earliest:.6f}", key=float)
            try:
                messages = await self._history(seen.channel_id, oldest)
            except SLACK_ERRORS as e:
                # Left the channel since, the channel deleted: nothing to catch up there.
                logger.warning("could not read %s to catch up on it: %s", seen.channel_id, e)
                continue
            for message in messages:
                if _answered_by_someone(message):
                    continue  # a person replied in its thread meanwhile: theirs, as after a take-over
                msg = await self._intake.accept(_event_body(seen, message), bot_user_id)
                if msg is not None:
                    self._submit(msg)
                    taken += 1
        if taken:
            logger.info("answering %d message(s) written while the bot was away", taken)
        return taken

    async def _history(self, channel: str, oldest: str) -> list[dict[str, Any]]:
        """The channel's top-level messages after ``oldest``, oldest first."""
        messages: list[dict[str, Any]] = []
        cursor = None
        while len(messages) < MAX_MESSAGES_PER_CHANNEL:
            if cursor:
                await asyncio.sleep(READ_INTERVAL_SECONDS)
            response = await self._client.conversations_history(
                channel=channel, oldest=oldest, limit=PAGE_SIZE, cursor=cursor
            )
            messages += response.get("messages") or []
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return sorted(messages[:MAX_MESSAGES_PER_CHANNEL], key=lambda m: float(m["ts"]))


def _answered_by_someone(message: dict[str, Any]) -> bool:
    """Whether someone other than its author replied in ``message``'s thread (Slack lists who did)."""
    return any(user != message.get("user") for user in message.get("reply_users") or [])


def _event_body(seen: LastSeen, message: dict[str, Any]) -> dict[str, Any]:
    """The Events API body that would have brought ``message`` (read from the channel's history)."""
    channel = seen.channel_id
    kind = {"D": "im", "G": "group"}.get(channel[:1], "channel")
    event = {**message, "type": "message", "channel": channel, "channel_type": kind}
    return {"type": "event_callback", "team_id": seen.team_id, "event": event}
