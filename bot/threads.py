"""Finding the bot's own posts in Slack by their message metadata (:mod:`bot.reply_metadata`): the reply
it already wrote for a message, and the notice of an escalated DM in the agents' channel, so that a retry
or a restart does not post them twice. How a thread is read as a conversation for Claude is
:mod:`bot.history`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.reply_metadata import carries, is_reply, notice_metadata, reply_part, reply_payload
from bot.store.records import InboundMessage

# conversations.replies errors that no retry mends: a scope is missing (a mention in a thread of a group DM:
# manifest.yml asks for no mpim:history), the thread's root or the channel is gone, the bot was removed.
UNREADABLE_THREAD = frozenset({"missing_scope", "channel_not_found", "thread_not_found", "not_in_channel"})


async def thread_messages(
    client: AsyncWebClient, channel: str, thread_ts: str
) -> AsyncIterator[dict[str, Any]]:
    """Every message of the thread ``thread_ts`` in ``channel``, oldest first, with metadata."""
    cursor = None
    while True:
        response = await client.conversations_replies(
            channel=channel, ts=thread_ts, include_all_metadata=True, limit=200, cursor=cursor
        )
        for message in response.get("messages") or []:
            yield dict(message)
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return


def _is_reply_to(message: dict[str, Any], msg: InboundMessage) -> bool:
    return is_reply(message) and reply_payload(message).get("message_ts") == msg.ts


def _tells_of(message: dict[str, Any], msg: InboundMessage) -> bool:
    """Whether ``message`` is a notice of ours telling the agents of ``msg``, a DM message."""
    return carries(message, notice_metadata(msg))


@dataclass(frozen=True)
class PostedReply:
    """What the bot already wrote for a message (see :func:`find_posted_reply`).

    ``reply``: its finished reply (the last message, for an answer in several), or None. ``unfinished``:
    the ts of replies never finished (streams stopped by a crash carry no metadata). ``parts``: the
    messages of an answer in several (:func:`bot.reply_metadata.part_metadata`) posted so far, by number.
    """

    reply: dict[str, Any] | None = None
    unfinished: list[str] = field(default_factory=list)
    parts: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The messages of the finished reply, in order: its parts, or the one message."""
        if self.reply is None:
            return []
        if reply_part(self.reply) is None:
            return [self.reply]
        return [self.parts[n] for n in sorted(self.parts)]


async def find_posted_reply(
    client: AsyncWebClient, msg: InboundMessage, bot_user_id: str | None
) -> PostedReply:
    """What the bot already wrote for ``msg`` before a crash, or before the attempt that failed: its
    finished reply, the replies it never finished, and the parts posted of an answer in several.

    A finished reply names the message it answers, so it is found wherever it falls: the customer may
    have written again while it was being written. So does each part of an answer in several; the last
    finishes it. Unfinished ones name nothing: only those before anyone else's next message are taken
    for ``msg``'s (what follows may answer that message).
    """
    posted = None
    unfinished: list[str] = []
    parts: dict[int, dict[str, Any]] = {}
    others_spoke = False
    async for message in thread_messages(client, msg.channel_id, msg.thread_ts):
        if float(message.get("ts", 0)) <= float(msg.ts):
            continue
        if _is_reply_to(message, msg):
            part = reply_part(message)
            if reply_payload(message).get("partial"):
                # An answer that broke off before an escalation that was never posted: not a reply.
                unfinished.append(str(message["ts"]))
            elif part is not None:
                parts.setdefault(part[0], message)
                if part[0] == part[1]:
                    posted = message
            else:
                posted = message
        elif bot_user_id is not None and message.get("user") == bot_user_id:
            # Only our own bot user: another app's message here is not ours to remove.
            if not message.get("metadata") and not others_spoke:
                unfinished.append(str(message["ts"]))
        elif not is_reply(message):
            others_spoke = True  # the customer (or someone) wrote again: what follows may answer that
    return PostedReply(posted, unfinished, parts)


async def find_in_thread(
    client: AsyncWebClient, channel: str, thread_ts: str, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    """The first message of the thread ``thread_ts`` in ``channel`` (its root included) that is
    ``wanted``, with its metadata; None when there is none."""
    async for message in thread_messages(client, channel, thread_ts):
        if wanted(message):
            return message
    return None


async def in_thread(client: AsyncWebClient, channel: str, thread_ts: str, metadata: dict[str, Any]) -> bool:
    """Whether a message of the thread ``thread_ts`` in ``channel`` carries ``metadata``: a post of ours
    that an earlier attempt made there, then failed (or lost Slack's answer) before noting it."""
    return await find_in_thread(client, channel, thread_ts, lambda m: carries(m, metadata)) is not None


async def noticed(client: AsyncWebClient, channel: str, notice_ts: str, msg: InboundMessage) -> bool:
    """Whether the thread of the notice ``notice_ts`` in the agents' ``channel`` tells them of ``msg``
    already (an earlier attempt at it posted there, then failed)."""
    return await in_thread(client, channel, notice_ts, notice_metadata(msg))


async def find_notice(client: AsyncWebClient, channel: str, msg: InboundMessage) -> str | None:
    """The ts of the notice at the top of the agents' ``channel`` that tells them of ``msg``, a DM message,
    if an earlier attempt at it posted one there and then failed (or died) before noting it."""
    cursor = None
    while True:
        response = await client.conversations_history(
            channel=channel, oldest=msg.ts, include_all_metadata=True, limit=200, cursor=cursor
        )
        for message in response.get("messages") or []:
            if _tells_of(message, msg):
                return str(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
