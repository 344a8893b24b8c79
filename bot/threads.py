"""Reading a thread back from Slack: its earlier turns for follow-ups, and the bot's own replies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.replies import REPLY_EVENT
from bot.store.records import InboundMessage
from router.models import Turn

HISTORY_TURNS = 20


async def thread_messages(client: AsyncWebClient, msg: InboundMessage) -> AsyncIterator[dict[str, Any]]:
    """Every message of ``msg``'s thread, oldest first, with metadata."""
    cursor = None
    while True:
        response = await client.conversations_replies(
            channel=msg.channel_id, ts=msg.thread_ts, include_all_metadata=True, limit=200, cursor=cursor
        )
        for message in response.get("messages") or []:
            yield dict(message)
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return


def _is_reply_to(message: dict[str, Any], msg: InboundMessage) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return metadata.get("event_type") == REPLY_EVENT and payload.get("message_ts") == msg.ts


def _from_bot(message: dict[str, Any], bot_user_id: str | None) -> bool:
    return bool(message.get("bot_id")) or (bot_user_id is not None and message.get("user") == bot_user_id)


async def find_posted_reply(
    client: AsyncWebClient, msg: InboundMessage, bot_user_id: str | None
) -> tuple[dict[str, Any] | None, list[str]]:
    """What the bot already wrote for ``msg`` before a crash: its finished reply (if any), and the ts of
    replies it never finished (streams stopped by the crash carry no metadata)."""
    posted = None
    unfinished: list[str] = []
    async for message in thread_messages(client, msg):
        if float(message.get("ts", 0)) <= float(msg.ts):
            continue
        if _is_reply_to(message, msg):
            posted = message
        elif bot_user_id is not None and message.get("user") == bot_user_id:
            # Only our own bot user: another app's message here is not ours to remove.
            if not message.get("metadata"):
                unfinished.append(str(message["ts"]))
        else:
            break  # the customer wrote again: what follows answers that, not ``msg``
    return posted, unfinished


async def thread_history(
    client: AsyncWebClient, msg: InboundMessage, bot_user_id: str | None, limit: int = HISTORY_TURNS
) -> list[Turn]:
    """The customer's and the bot's turns before ``msg`` in its thread, oldest first."""
    turns: list[Turn] = []
    async for message in thread_messages(client, msg):
        if float(message.get("ts", 0)) >= float(msg.ts):
            break
        text = (message.get("text") or "").strip()
        if not text:
            continue
        from_bot = _from_bot(message, bot_user_id)
        if from_bot and (message.get("metadata") or {}).get("event_type") != REPLY_EVENT:
            continue
        turns.append(Turn(role="assistant" if from_bot else "customer", text=text))
    return turns[-limit:]
