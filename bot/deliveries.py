"""Events API deliveries over HTTP: verified, claimed and acknowledged in a fraction of a millisecond.

Slack waits three seconds for an acknowledgement, but a burst of customer messages all wait in one queue
for theirs: each delivery's cost before its 200 is paid by every delivery behind it. Through Bolt's
dispatch (request adapter, middleware chain, listener matching, listener runner) a delivery cost about
0.75 ms of CPU around its claim, so the 100th of a burst waited about 75 ms for the others; here it is
about 0.4 ms. A customer message's delivery is checked (signature and timestamp, as Bolt checks them),
claimed in the store (claims arriving together share one transaction), answered 200 and handed to the
worker. Anything else (URL verification, slash commands, interactivity) is not an event callback and
goes through Bolt, as do Socket Mode events, which :mod:`bot.listeners.messages` claims the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_sdk.signature import SignatureVerifier

from bot.store.errors import DatabaseError

if TYPE_CHECKING:
    from bot.app import SupportBot

logger = logging.getLogger(__name__)

ACCEPTED = 200
UNSIGNED = 401
NOT_TAKEN = 500  # Slack delivers the event again
# Set on Slack's deliveries of an event after a failed one (Bolt mirrors it for Socket Mode's retries).
RETRY_HEADER = "x-slack-retry-num"


class Deliveries:
    """Takes the Events API's event callbacks; ``receive`` returns the status to answer, or None for
    a request that is not one (Bolt serves it)."""

    def __init__(self, bot: SupportBot, signing_secret: str) -> None:
        self._bot = bot
        self._verifier = SignatureVerifier(signing_secret)

    def _signed(self, body: bytes, headers: Mapping[str, str]) -> bool:
        # slack_sdk reads the timestamp header with int(): one that is not a number is unsigned, not a 500.
        try:
            return self._verifier.is_valid_request(body, headers)
        except ValueError:
            return False

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> int | None:
        payload = _event_callback(body)
        if payload is None:
            return None
        if not self._signed(body, headers):
            return UNSIGNED
        bot = self._bot
        try:
            retry = next((value for name, value in headers.items() if name.lower() == RETRY_HEADER), None)
            msg = await bot.intake.accept(
                payload, bot.conversations.identity.user_id, redelivered=retried(retry)
            )
        except DatabaseError as e:
            logger.error("could not claim a delivered event: %s", e)
            return NOT_TAKEN
        if msg is not None:
            bot.worker.submit(msg)
        return ACCEPTED


def retried(retry_num: str | None) -> bool:
    """Whether Slack sent a delivery again after a failed one: its ``X-Slack-Retry-Num`` above 0."""
    return (retry_num or "0").strip() not in ("", "0")


def _event_callback(body: bytes) -> dict[str, Any] | None:
    """The JSON of an ``event_callback`` delivery, or None for anything else."""
    if not body.startswith(b"{"):
        return None  # form-encoded: a slash command or an interaction
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if isinstance(payload, dict) and payload.get("type") == "event_callback":
        return payload
    return None
