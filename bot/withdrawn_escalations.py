"""Escalations whose message the customer deleted: what the bot wrote of it for the agents respects the
deletion, as Slack does with "This message was deleted." where the message was.

A DM's notice in the agents' channel quoted the customer's words (:func:`bot.escalation_messages.
direct_message_escalation`, in ESCALATION_CHANNEL): it is edited in place, the words replaced by
:data:`~bot.escalation_messages.DELETED_WORDS` and the classifier's reasoning (which may repeat them) left
out, as a notice that quotes nothing leaves it out; the tags, guess, customer, earlier conversation and
controls stay, so an agent can still act. An escalation in the customer's own thread (a channel's, or a
DM's with no channel to announce it in) quotes nothing, but its reasoning may: it goes.

Nothing is kept in memory: the notice is found in Slack by the metadata naming the deleted message
(:func:`bot.reply_metadata.notice_of`), under the thread's first notice (the store's ``notice_ts``), which
every later notice of the thread follows; the escalation by its reply metadata. Either is edited only while
it still shows what went: Slack telling the deletion again, to any replica, finds nothing to edit. An edit
posts nothing new, so it calls no agent again. A refusal is logged, without the customer's
words, and left: the deletion itself is already in the store (:mod:`bot.store.withdrawn_waits`).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.escalation_messages import (
    DELETED_WORDS,
    FOR_AGENTS_BLOCK,
    GOES_ON,
    GUESS_LINE,
    REASONING_LINE,
    WORDS_FOLLOW,
)
from bot.formatting import QUOTE, section_blocks
from bot.reply_metadata import carries, is_reply, notice_of, reply_payload
from bot.slack_errors import SLACK_ERRORS, why
from bot.slack_ids import is_dm_channel
from bot.store.records import ThreadState
from bot.store.repository import Store
from bot.threads import find_in_thread

logger = logging.getLogger(__name__)


def notice_without_words(notice: str) -> str | None:
    """The text of a DM's notice once its customer deleted the message it quotes: the words (and the
    note of how many more there were) replaced by :data:`DELETED_WORDS`, the reasoning left out; None
    when it quotes no words (a channel customers read) or says they were deleted already."""
    lines = notice.split("\n")
    where = next((n for n, line in enumerate(lines) if n and line.endswith(WORDS_FOLLOW)), None)
    guess = next((n for n, line in enumerate(lines) if line.startswith(GUESS_LINE)), None)
    if where is None or guess is None or guess > where:
        return None
    end = where + 1
    while end < len(lines) and lines[end].startswith(QUOTE):
        end += 1
    if end < len(lines) and lines[end].startswith(GOES_ON):
        end += 1
    if lines[where + 1 : end] == [DELETED_WORDS]:
        return None
    return "\n".join([*lines[: guess + 1], lines[where], DELETED_WORDS, *lines[end:]])


def escalation_without_reasoning(text: str) -> tuple[str, str] | None:
    """The text of an escalation in the customer's thread (:func:`bot.escalation_messages.
    escalation_message`) without the classifier's reasoning, which ends it, and its part for the agents
    so cut; None when it has none (left out already)."""
    guess = text.find(f"\n{GUESS_LINE}")
    reasoning = text.find(f"\n{REASONING_LINE}", guess + 1)
    if guess < 0 or reasoning < 0:
        return None
    return text[:reasoning], text[text.rfind("\n", 0, guess) + 1 : reasoning]


def notice_blocks(message: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """The blocks of a notice saying ``text``: its sections anew, the rest (the agents' help, controls
    and verdict line) as they were."""
    return [*section_blocks(text), *(b for b in message.get("blocks") or [] if b.get("type") != "section")]


def escalation_blocks(message: dict[str, Any], agents: str) -> list[dict[str, Any]] | None:
    """The blocks of an escalation with its part for the agents saying ``agents``: what the customer was
    told, the agents' help and controls as they were; None when its part for the agents is not found."""
    blocks = list(message.get("blocks") or [])
    ids = [b.get("block_id") for b in blocks]
    if FOR_AGENTS_BLOCK not in ids:
        return None
    start = ids.index(FOR_AGENTS_BLOCK)
    end = next((n for n in range(start + 1, len(blocks)) if blocks[n].get("type") != "section"), len(blocks))
    first, *rest = section_blocks(agents)
    return [*blocks[:start], first | {"block_id": FOR_AGENTS_BLOCK}, *rest, *blocks[end:]]


class WithdrawnEscalations:
    """Edits what an escalation wrote of a message its customer deleted; one instance serves the bot."""

    def __init__(self, store: Store, client: AsyncWebClient) -> None:
        self._store = store
        self._client = client

    async def respect(self, team: str, channel: str, thread_ts: str, ts: str) -> None:
        """The customer deleted the message ``ts`` of the thread ``thread_ts`` in ``channel``: edit the
        notice or the escalation that told the agents of it, if any still shows what went. Never raises:
        it runs after Slack was acknowledged, and what Slack refuses is logged."""
        try:
            thread = await self._store.get_thread(team, channel, thread_ts)
            if thread is None:
                return
            if is_dm_channel(channel) and thread.notice_channel_id and thread.notice_ts:
                await self._edit_notice(thread.notice_channel_id, thread.notice_ts, channel, ts)
            elif _went_to_a_person(thread):
                await self._edit_escalation(channel, thread_ts, ts)
        except SLACK_ERRORS as e:
            logger.warning(
                "what the agents were told of %s/%s, deleted by its customer, is left as it was: %s",
                channel,
                ts,
                why(e),
            )
        except Exception:
            logger.exception("could not look for what the agents were told of %s/%s, deleted", channel, ts)

    async def _edit_notice(self, agents_channel: str, notice_ts: str, channel: str, ts: str) -> None:
        metadata = notice_of(channel, ts)
        notice = await find_in_thread(self._client, agents_channel, notice_ts, lambda m: carries(m, metadata))
        text = notice_without_words(str(notice.get("text") or "")) if notice is not None else None
        if notice is None or text is None:
            return
        await self._client.chat_update(
            channel=agents_channel,
            ts=str(notice["ts"]),
            text=text,
            blocks=notice_blocks(notice, text),
            metadata=notice.get("metadata") or metadata,
        )
        logger.info("the notice %s/%s no longer quotes its deleted message", agents_channel, notice["ts"])

    async def _edit_escalation(self, channel: str, thread_ts: str, ts: str) -> None:
        def escalation_of(message: dict[str, Any]) -> bool:
            named = is_reply(message) and reply_payload(message).get("message_ts") == ts
            return named and any(b.get("block_id") == FOR_AGENTS_BLOCK for b in message.get("blocks") or [])

        escalation = await find_in_thread(self._client, channel, thread_ts, escalation_of)
        cut = escalation_without_reasoning(str(escalation.get("text") or "")) if escalation else None
        if escalation is None or cut is None:
            return
        text, agents = cut
        blocks = escalation_blocks(escalation, agents)
        if blocks is None:
            return
        reply_ts = str(escalation["ts"])
        update: dict[str, Any] = {"channel": channel, "ts": reply_ts, "text": text, "blocks": blocks}
        if escalation.get("metadata"):
            update["metadata"] = escalation["metadata"]  # as it was: a retry finds this reply by it
        await self._client.chat_update(**update)
        logger.info("the escalation %s/%s no longer gives its deleted message's reasoning", channel, reply_ts)


def _went_to_a_person(thread: ThreadState) -> bool:
    """Whether the thread went to a person (escalated, taken over, handed back since): only then may a
    reply there be an escalation. Any other thread's deletions read nothing in Slack."""
    return thread.escalated or thread.taken_over_by is not None or thread.handed_back_ts is not None
