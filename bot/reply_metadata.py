"""Message metadata on the bot's posts: each reply names the customer message it answers (and, for an
answer in several messages, which one it is), each notice of an escalated DM the message it tells the
agents of, each reminder the escalation it brings up again; so that after a crash, or a post whose answer
was lost, the bot reads in Slack itself what it already posted."""

from __future__ import annotations

from typing import Any

from bot.store.records import AwaitingEscalation, InboundMessage

REPLY_EVENT = "support_router_reply"
# On a notice of an escalated DM in the agents' channel: the customer message it tells them of.
NOTICE_EVENT = "support_router_notice"
# On a reminder of an escalation no agent answered: the escalation it brings up again.
REMINDER_EVENT = "support_router_reminder"


def reply_metadata(msg: InboundMessage, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Message metadata tying a reply to the customer message it answers."""
    return {"event_type": REPLY_EVENT, "event_payload": {"message_ts": msg.ts, **(payload or {})}}


def part_metadata(metadata: dict[str, Any], number: int, count: int) -> dict[str, Any]:
    """``metadata`` of a reply (:func:`reply_metadata`) for its message ``number`` of ``count``: an answer
    too long for one message goes as several, and a retry or a restart posts those not found there."""
    return {**metadata, "event_payload": {**metadata["event_payload"], "part": number, "parts": count}}


def reply_part(message: dict[str, Any]) -> tuple[int, int] | None:
    """Which message of an answer in several ``message`` is, and of how many (None: a whole reply)."""
    payload = reply_payload(message)
    try:
        return int(payload["part"]), int(payload["parts"])
    except (KeyError, TypeError, ValueError):
        return None


def notice_metadata(msg: InboundMessage) -> dict[str, Any]:
    """Message metadata tying a notice in the agents' channel to the DM message it tells them of."""
    return notice_of(msg.channel_id, msg.ts)


def notice_of(channel: str, ts: str) -> dict[str, Any]:
    """:func:`notice_metadata` of the DM message ``ts`` in ``channel``, known by its key alone (one its
    customer deleted: the store keeps no message of a thread a person has)."""
    return {"event_type": NOTICE_EVENT, "event_payload": {"channel": channel, "message_ts": ts}}


def reminder_metadata(escalation: AwaitingEscalation) -> dict[str, Any]:
    """Message metadata tying a reminder to the wait it brings up: its thread, and when the thread went to
    a person (an escalation after a hand-back has a reminder of its own) or, for a customer who wrote
    again to the agent holding it, when they did (each such wait has one too)."""
    since = "customer_waiting_since" if escalation.wrote_again else "escalated_at"
    payload = {
        "channel": escalation.channel_id,
        "thread_ts": escalation.thread_ts,
        since: escalation.waiting_since.isoformat(),
    }
    return {"event_type": REMINDER_EVENT, "event_payload": payload}


def reply_payload(message: dict[str, Any]) -> dict[str, Any]:
    """What a posted message's metadata says (see :func:`reply_metadata`); empty when it says nothing."""
    return dict((message.get("metadata") or {}).get("event_payload") or {})


def is_reply(message: dict[str, Any]) -> bool:
    """Whether a posted ``message`` is a reply of the bot's to a customer message (:func:`reply_metadata`)."""
    return (message.get("metadata") or {}).get("event_type") == REPLY_EVENT


def carries(message: dict[str, Any], metadata: dict[str, Any]) -> bool:
    """Whether a posted ``message`` carries ``metadata`` (a notice's, a reminder's): its event, and all
    that it says."""
    said = message.get("metadata") or {}
    return (
        said.get("event_type") == metadata["event_type"]
        and reply_payload(message) == metadata["event_payload"]
    )
