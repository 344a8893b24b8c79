"""Reading Slack's conversations in bulk without crowding out the answers, and without passing over what
Slack cannot give for now: every page of a ``conversations.*`` read, at a pace that leaves part of Slack's
quota to the answers, and each call made again while Slack is rate-limiting or failing (the catch-up's
reads, :mod:`bot.catch_up`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack_errors import SLACK_ERRORS, retry_after

logger = logging.getLogger(__name__)

# Messages read from one channel at most (a page is as many as Slack gives at once).
MAX_MESSAGES_PER_CHANNEL = 1000
PAGE_SIZE = 200
# Between two reads (a channel's history, a thread): about half of Slack's quota for each of
# conversations.history and conversations.replies (Tier 3, 50 a minute), the other half left to the
# answers that read a thread's or a DM's earlier messages with them meanwhile.
READ_INTERVAL_SECONDS = 2.4
# A read Slack cannot answer for now (rate-limited past slack_sdk's three retries, as the answers resumed
# at a start read their threads too; a 5xx, a timeout) is made again after Slack's Retry-After, or this
# long, at most READ_ATTEMPTS times in all: passed over, what was written there would never be answered.
TRANSIENT_WAIT_SECONDS = 30.0
READ_ATTEMPTS = 10


class PacedReads:
    """The reads of one look through Slack: all but the first wait :data:`READ_INTERVAL_SECONDS`."""

    def __init__(self) -> None:
        self._reads = 0  # made so far

    async def read(self, method: Callable[..., Awaitable[Any]], **params: Any) -> list[dict[str, Any]]:
        """Every page of a conversations.* read, oldest first, at most :data:`MAX_MESSAGES_PER_CHANNEL`
        (the newest: Slack gives a channel's history newest first); each read paced."""
        messages: list[dict[str, Any]] = []
        cursor = None
        while len(messages) < MAX_MESSAGES_PER_CHANNEL:
            if self._reads:
                await asyncio.sleep(READ_INTERVAL_SECONDS)
            self._reads += 1
            response = await again_while_transient(method, **params, limit=PAGE_SIZE, cursor=cursor)
            messages += response.get("messages") or []
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return sorted(messages[:MAX_MESSAGES_PER_CHANNEL], key=lambda m: float(m["ts"]))


async def again_while_transient(method: Callable[..., Awaitable[Any]], **params: Any) -> Any:
    """``method(**params)``, called again while Slack cannot answer it for now (see
    :data:`TRANSIENT_WAIT_SECONDS`); a refusal (``not_in_channel``, ``channel_not_found``) raises at once."""
    attempts = 1
    while True:
        try:
            return await method(**params)
        except SLACK_ERRORS as e:
            wait = _transient_wait(e)
            if wait is None or attempts >= READ_ATTEMPTS:
                raise
            logger.info("Slack cannot answer a catch-up read yet (%s); reading again in %.0f s", e, wait)
        await asyncio.sleep(wait)
        attempts += 1


def _transient_wait(error: BaseException) -> float | None:
    """How long to wait before reading again after ``error``; None when Slack refused the read for good."""
    if not isinstance(error, SlackApiError):
        return TRANSIENT_WAIT_SECONDS  # a timeout, a connection that failed
    status = error.response.status_code
    if status == 429:
        return retry_after(error)
    return TRANSIENT_WAIT_SECONDS if status >= 500 else None
