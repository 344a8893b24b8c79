"""Questions withdrawn or revised: a customer who deletes a message before the bot answered it gets no
answer, one who deletes it once it waits for an agent waits no more (no reminder tags the agents about it:
:mod:`bot.store.withdrawn_waits`), and one who edits it while it waits its turn gets an answer to what it
says now.

Slack tells of a deletion with a ``message_deleted`` event, or, for a message with replies in its
thread (the bot's answer being written there), a ``message_changed`` one that leaves a tombstone. The
intake marks the message withdrawn in the store (read by the worker that holds it, on any replica) and
here, in memory, where the answer being written reads it at each of Claude's chunks and stops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.request.internals import extract_team_id
from slack_sdk.web.async_client import AsyncWebClient

from bot.replies import remove_unfinished
from bot.slack_text import message_words
from bot.store.records import InboundMessage
from bot.store.repository import Store
from bot.streaming import StreamedReply
from router.errors import AnswerStopped
from router.models import RoutingDecision

logger = logging.getLogger(__name__)

# Longer than any answer takes to write: a message withdrawn earlier is done with, answered or not.
KEEP_SECONDS = 600.0

MessageKey = tuple[str, str, str]


def deleted_message(body: Mapping[str, Any]) -> MessageKey | None:
    """The key (team, channel, ts) of the message an event says was deleted, or None for any other
    event: ``message_deleted``, or the tombstone ``message_changed`` leaves of a message with replies."""
    event = body.get("event") or {}
    if event.get("type") != "message":
        return None
    changed = event.get("message") or {}
    if event.get("subtype") == "message_deleted":
        ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
    elif event.get("subtype") == "message_changed" and changed.get("subtype") == "tombstone":
        ts = changed.get("ts")
    else:
        return None
    # The installing workspace, as the intake keys every claimed message (see bot.intake.parse_event).
    team = extract_team_id(dict(body)) or body.get("team_id") or event.get("team")
    channel = event.get("channel")
    return (str(team), str(channel), str(ts)) if team and channel and ts else None


def deleted_in_thread(body: Mapping[str, Any], key: MessageKey) -> tuple[str, str, str, str]:
    """(team, channel, thread ts, ts) of the message ``key`` that ``body`` says was deleted
    (:func:`deleted_message`): Slack names its thread in what it was (``previous_message``) or in its
    tombstone; a message with none named began its own thread."""
    event = body.get("event") or {}
    was = event.get("previous_message") or {}
    tombstone = event.get("message") or {}
    team, channel, ts = key
    return team, channel, str(was.get("thread_ts") or tombstone.get("thread_ts") or ts), ts


def edited_message(body: Mapping[str, Any], bot_user_id: str | None) -> tuple[MessageKey, str] | None:
    """The key of the message an event says its author edited, and what it says now (as the intake reads
    a message), or None for any other event: a ``message_changed`` of a person's message with words (not a
    tombstone, not a bot's)."""
    event = body.get("event") or {}
    edited = event.get("message") or {}
    if event.get("type") != "message" or event.get("subtype") != "message_changed":
        return None
    if (
        edited.get("subtype")
        or edited.get("bot_id")
        or not edited.get("user")
        or edited.get("user") == bot_user_id
    ):
        return None
    text = message_words(edited, bot_user_id)
    if text == message_words(event.get("previous_message") or {}, bot_user_id):
        return None  # its words unchanged: a link unfurled under it, say
    team = extract_team_id(dict(body)) or body.get("team_id") or event.get("team")
    channel, ts = event.get("channel"), edited.get("ts")
    return ((str(team), str(channel), str(ts)), text) if team and channel and ts and text else None


class RecentWithdrawals:
    """The messages this process's intake saw withdrawn lately, before their answer was posted."""

    def __init__(self, keep_seconds: float = KEEP_SECONDS) -> None:
        self._keep = keep_seconds
        self._seen: dict[MessageKey, float] = {}

    def note(self, key: MessageKey) -> None:
        """The message ``key`` was just withdrawn; withdrawals older than the keep window are forgotten."""
        now = time.monotonic()
        self._seen = {seen: at for seen, at in self._seen.items() if now - at < self._keep}
        self._seen[key] = now

    def __contains__(self, msg: InboundMessage) -> bool:
        return (msg.team_id, msg.channel_id, msg.ts) in self._seen


class Withdrawing:
    """What :class:`bot.conversation.Conversations` does about a message deleted before it was answered
    (a mixin; it sets the attributes declared here)."""

    _store: Store
    _client: AsyncWebClient
    _withdrawals: RecentWithdrawals

    def _text_sink(
        self, msg: InboundMessage, streamed: StreamedReply | None, rerouting: bool
    ) -> Callable[[str], Awaitable[None]]:
        """Where Claude's answer to ``msg`` goes as it is written: the stream, if any; stopped (Claude's
        request with it) once the customer deleted the message (seen by this process's intake)."""

        async def take(chunk: str) -> None:
            if not rerouting and msg in self._withdrawals:
                raise AnswerStopped("the customer deleted the message")
            if streamed is not None:
                await streamed.feed(chunk)

        return take

    async def _as_edited(self, msg: InboundMessage) -> InboundMessage:
        """``msg`` saying what it says now: its author may have edited it while it waited its turn."""
        text = await self._store.revised_text(msg)
        return msg.model_copy(update={"text": text}) if text and text != msg.text else msg

    async def _withdrawn(self, msg: InboundMessage, *, ask_store: bool) -> bool:
        """Whether ``msg``'s author deleted it: seen here, or (``ask_store``) by any replica's intake."""
        return msg in self._withdrawals or (ask_store and await self._store.is_withdrawn(msg))

    async def _close_withdrawn(
        self, msg: InboundMessage, kept: RoutingDecision | None
    ) -> RoutingDecision | None:
        """Close ``msg``, deleted before it was routed (while it waited its turn, or for a retry): nothing
        was decided or spent on it; or record, marked withdrawn, the decision an earlier attempt made and
        could not post (``kept``), for what it cost. Returns that decision, if any."""
        _log_withdrawn(msg)
        if kept is None:
            await self._store.close_withdrawn(msg)
            return None
        decision = kept.model_copy(update={"withdrawn": True})
        await self._store.complete(msg, decision, None)
        return decision

    async def _withdrawn_decision(
        self, msg: InboundMessage, decision: RoutingDecision, streamed: StreamedReply | None
    ) -> RoutingDecision:
        """``decision`` on a message deleted while it was being answered: marked withdrawn, nothing posted
        (the stream begun under it, if any, removed), to be recorded for what it cost."""
        if streamed is not None and streamed.ts is not None:
            await remove_unfinished(self._client, msg, streamed.ts)
        _log_withdrawn(msg)
        return decision.model_copy(update={"withdrawn": True})


def _log_withdrawn(msg: InboundMessage) -> None:
    logger.info("message %s/%s was deleted by its author before it was answered", msg.channel_id, msg.ts)
