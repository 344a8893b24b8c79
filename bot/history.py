"""A conversation's history as Claude reads it with a message: the thread's earlier turns, each labelled
with whose it is (the customer's, the bot's, an agent's, anyone else's), and for a new message in a DM the
customer's last few messages there with the bot's replies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.escalation_messages import customer_part
from bot.reply_metadata import REPLY_EVENT, is_reply, reply_payload
from bot.slack_text import message_words, plain_text
from bot.store.records import InboundMessage
from bot.threads import UNREADABLE_THREAD, find_posted_reply, thread_messages
from router.models import Role, Turn

logger = logging.getLogger(__name__)

HISTORY_TURNS = 20
# In a DM customers rarely reply in the bot's threads: a new top-level message is read with the customer's
# last few messages of the last half hour, and the bot's reply to each.
DIRECT_CONTEXT_SECONDS = 1800
DIRECT_CONTEXT_MESSAGES = 3
# Of the given ts of the bot's messages in a thread (its root's ts first), those that are streamed replies,
# each with the ts of the message it answers (``Store.streamed_replies``).
StreamedReplies = Callable[[str, list[str]], Awaitable[dict[str, str]]]


def _answers_earlier(message: dict[str, Any], msg: InboundMessage) -> bool:
    """A reply of ours to a message sent before ``msg``."""
    return is_reply(message) and float(reply_payload(message).get("message_ts") or "inf") < float(msg.ts)


def _words(message: dict[str, Any], bot_user_id: str | None) -> str:
    """What ``message``, read back from a conversation, said to the customer: a person's words with what
    they forwarded and attached (as their event was read), and of an escalation of ours what the
    customer was told, not the agents' tags and the guess."""
    if not _from_us(message, bot_user_id):
        return message_words(message, bot_user_id)
    said = customer_part(message)
    return plain_text(said if said is not None else message.get("text") or "", bot_user_id)


def _from_us(message: dict[str, Any], bot_user_id: str | None) -> bool:
    if bot_user_id is not None and message.get("user") == bot_user_id:
        return True
    return bool(message.get("bot_id")) and is_reply(message)  # our replies, even without auth.test


async def thread_history(
    client: AsyncWebClient,
    msg: InboundMessage,
    bot_user_id: str | None,
    is_agent: Callable[[str], Awaitable[bool]],
    limit: int = HISTORY_TURNS,
    *,
    rerouting: bool = False,
    streamed_replies: StreamedReplies | None = None,
) -> list[Turn]:
    """The thread's turns before ``msg``, oldest first: the customer's (``msg``'s author), the bot's
    replies, agents' and anyone else's (another person, another app's ticket), each labelled as such.

    The bot's replies to earlier messages count wherever they fall: a message sent while the bot was
    still answering the one before is answered after it, knowing that answer. Each reply is read right
    after the message it answers (see :func:`_paired`), so quick follow-ups keep question and answer
    together. A reply an agent's re-route replaced is labelled ``rerouted`` (see :func:`_replaced`).

    ``rerouting``: ``msg`` is being answered again for an agent's re-route, so the turns are the whole
    thread as it stands, ``msg`` and what was said after it included, and every reply of ours to ``msg``
    is one the new answer replaces.

    ``streamed_replies``: which of the bot's messages without metadata are streamed replies, and to what
    (an answer the customer stopped carries none; see :func:`_known_replies`).
    """
    earlier = await _messages_before(client, msg, rerouting=rerouting)
    earlier = await _known_replies(earlier, msg.thread_ts, bot_user_id, streamed_replies)
    replaced = _replaced(earlier, msg.ts if rerouting else None)
    turns: list[Turn] = []
    for message in _paired(earlier):
        text = _words(message, bot_user_id)
        role = await _role(message, msg, bot_user_id, replaced, is_agent) if text else None
        if role is not None:
            turns.append(Turn(role=role, text=text))
    return turns[-limit:]


async def _known_replies(
    messages: list[dict[str, Any]],
    thread_ts: str,
    bot_user_id: str | None,
    streamed_replies: StreamedReplies | None,
) -> list[dict[str, Any]]:
    """``messages``, each of the bot's that carries no metadata but is a streamed reply to a message
    (``streamed_replies`` says) given the metadata naming that message, as it would carry had Slack taken
    its chat.stopStream: an answer the customer stopped part-way is what they read, and Claude must know
    it was said. Asked only when there is such a message (rarely: most are finished, or removed)."""
    bare = [str(m.get("ts")) for m in messages if m.get("user") == bot_user_id and not m.get("metadata")]
    if not bare or bot_user_id is None or streamed_replies is None:
        return messages
    answered = await streamed_replies(thread_ts, bare)
    return [
        message | {"metadata": {"event_type": REPLY_EVENT, "event_payload": {"message_ts": answered[ts]}}}
        if (ts := str(message.get("ts"))) in answered
        else message
        for message in messages
    ]


async def _messages_before(
    client: AsyncWebClient, msg: InboundMessage, *, rerouting: bool
) -> list[dict[str, Any]]:
    """The thread's messages before ``msg`` (and the replies to earlier ones that came after it); the
    whole thread when ``rerouting``. None at all when Slack will never let the bot read it.

    Raises:
        SlackApiError: a failure a retry may get past (rate limits, outages).
    """
    try:
        return [
            message
            async for message in thread_messages(client, msg.channel_id, msg.thread_ts)
            if rerouting or float(message.get("ts", 0)) < float(msg.ts) or _answers_earlier(message, msg)
        ]
    except SlackApiError as e:
        error = e.response.get("error")
        if error not in UNREADABLE_THREAD:
            raise  # rate limits and outages: the message is tried again, history and all
        # No retry would read it: the message is answered without its thread rather than given up on.
        needed = (
            f" (needs {e.response.get('needed')}, a scope the app was not given)"
            if error == "missing_scope"
            else ""
        )
        logger.warning("thread %s/%s cannot be read: %s%s", msg.channel_id, msg.thread_ts, error, needed)
        return []


async def _role(
    message: dict[str, Any],
    msg: InboundMessage,
    bot_user_id: str | None,
    replaced: set[str],
    is_agent: Callable[[str], Awaitable[bool]],
) -> Role | None:
    """Whose turn ``message`` is in ``msg``'s thread; None for one of ours that is no reply (a notice)."""
    user = message.get("user")
    if _from_us(message, bot_user_id):
        if not is_reply(message):
            return None
        return "rerouted" if str(message.get("ts")) in replaced else "assistant"
    if user == msg.user_id:
        return "customer"
    if user and not message.get("bot_id") and await is_agent(user):
        return "agent"
    return "other"


def _answered(message: dict[str, Any]) -> str:
    """The ts of the message a reply of ours answers ("" for any other message)."""
    return str(reply_payload(message).get("message_ts") or "") if is_reply(message) else ""


def _is_reroute(message: dict[str, Any]) -> bool:
    """An answer an agent's re-route asked for (its decision's source is the agent)."""
    return is_reply(message) and reply_payload(message).get("source") == "agent"


def _replaced(messages: list[dict[str, Any]], rerouting: str | None) -> set[str]:
    """The ts of our replies that an agent's re-route replaced: each reply to a message that a re-routed
    answer (posted after it) answers again, and every reply to ``rerouting``, the message being answered
    again now. Claude is told not to repeat them: an agent judged them the wrong kind of answer."""
    last_reroute: dict[str, float] = {}
    for message in messages:
        if _is_reroute(message):
            last_reroute[_answered(message)] = float(message.get("ts", 0))
    return {
        str(message.get("ts"))
        for message in messages
        if (answered := _answered(message))
        and (answered == rerouting or float(message.get("ts", 0)) < last_reroute.get(answered, 0.0))
    }


def _paired(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` (oldest first) with each reply of ours moved to just after the message it answers.

    Slack orders by ts, so when the customer writes M1, M2, M3 before the answers arrive the thread
    reads M1 M2 A1 A2 M3, and Claude would see two questions then two answers; it needs M1 A1 M2 A2 M3.
    A reply that names no message here (or no message at all) keeps its place, and so does a re-routed
    answer: it was written knowing everything before it, the customer's later messages included.
    """
    present = {str(message.get("ts")) for message in messages if not is_reply(message)}
    answers: dict[str, list[dict[str, Any]]] = {}
    rest: list[dict[str, Any]] = []
    for message in messages:
        answered = _answered(message)
        if answered in present and not _is_reroute(message):
            answers.setdefault(answered, []).append(message)
        else:
            rest.append(message)
    return [paired for message in rest for paired in [message, *answers.get(str(message.get("ts")), [])]]


async def direct_message_history(
    client: AsyncWebClient,
    msg: InboundMessage,
    bot_user_id: str | None,
    streamed_replies: StreamedReplies | None = None,
) -> list[Turn]:
    """The DM exchanges before ``msg``, a top-level message in a DM, oldest first: the customer's last
    :data:`DIRECT_CONTEXT_MESSAGES` messages of the last :data:`DIRECT_CONTEXT_SECONDS`, each followed by
    the bot's reply in its thread (one the customer stopped too: see :func:`_stopped_reply`). Context is
    a bonus: when Slack cannot give it, the message goes without.
    """
    try:
        response = await client.conversations_history(
            channel=msg.channel_id,
            latest=msg.ts,
            oldest=f"{float(msg.ts) - DIRECT_CONTEXT_SECONDS:.6f}",
            limit=DIRECT_CONTEXT_MESSAGES,
        )
        turns: list[Turn] = []
        for message in reversed(response.get("messages") or []):
            text = message_words(message, bot_user_id)
            if message.get("user") != msg.user_id or not text:
                continue
            turns.append(Turn(role="customer", text=text))
            if message.get("reply_count"):
                earlier = msg.model_copy(update={"ts": message["ts"], "thread_ts": message["ts"]})
                found = await find_posted_reply(client, earlier, bot_user_id)
                said = found.messages or await _stopped_reply(
                    client, earlier, found.unfinished, streamed_replies
                )
                answer = "\n".join(filter(None, (_words(m, bot_user_id) for m in said)))
                if answer:
                    turns.append(Turn(role="assistant", text=answer))
        return turns
    except SlackApiError as e:
        logger.warning("no DM context for %s: %s", msg.channel_id, e.response.get("error"))
        return []


async def _stopped_reply(
    client: AsyncWebClient,
    msg: InboundMessage,
    unfinished: list[str],
    streamed_replies: StreamedReplies | None,
) -> list[dict[str, Any]]:
    """The bot's reply to ``msg`` that the customer stopped part-way, read again from its thread: among
    the bot's messages there without metadata (``unfinished``), the one the store knows as its stream."""
    if not unfinished or streamed_replies is None:
        return []
    known = await streamed_replies(msg.thread_ts, unfinished)
    if not known:
        return []
    return [
        m async for m in thread_messages(client, msg.channel_id, msg.thread_ts) if str(m.get("ts")) in known
    ]
