"""Posting to a thread: answers posted whole, and removing a stream nobody finished (streamed answers
are :mod:`bot.streaming`).

Every reply carries message metadata naming the customer message it answers (:mod:`bot.reply_metadata`),
so that after a crash the bot can see in Slack itself whether that message was already answered, and
never answer it twice.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.formatting import note
from bot.store.records import InboundMessage

logger = logging.getLogger(__name__)


async def post_reply(
    client: AsyncWebClient,
    msg: InboundMessage,
    text: str,
    blocks: list[dict[str, Any]],
    metadata: dict[str, Any],
    *,
    preface: str | None = None,
) -> str:
    """Post one message in the customer's thread, ``preface`` (plain text of ours) first; returns its ts."""
    if preface:
        lead, lead_blocks = note(preface)
        text, blocks = f"{lead}\n\n{text}", [*lead_blocks, *blocks]
    response = await client.chat_postMessage(
        channel=msg.channel_id,
        thread_ts=msg.thread_ts,
        text=text,
        blocks=blocks,
        metadata=metadata,
        unfurl_links=False,
        unfurl_media=False,
    )
    return str(response["ts"])


async def remove_unfinished(client: AsyncWebClient, msg: InboundMessage, reply_ts: str) -> bool:
    """Delete the bot's half-written streamed reply (its writer died, or Slack stopped taking it), before
    answering again; whether it is gone."""
    try:
        await client.chat_delete(channel=msg.channel_id, ts=reply_ts)
    except SlackApiError as e:
        # Already gone (someone deleted it) is fine; anything else is logged and the answer goes on.
        if e.response.get("error") != "message_not_found":
            logger.warning("could not remove an unfinished reply: %s", e.response.get("error"))
            return False
    return True
