"""What the agent controls post in threads, for the other agents to read: a hand-back in the thread
handed back, and, when the button was pressed under a DM's notice in the agents' channel (not in the
conversation itself), the hand-back or the re-route there too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.escalation_messages import rerouted_note
from bot.mrkdwn_inline import escape
from bot.slack_ids import is_dm_channel
from bot.store.records import InboundMessage
from router.models import RoutingDecision

if TYPE_CHECKING:
    from bot.app import SupportBot


def pressed_in(body: dict[str, Any]) -> tuple[str, str]:
    """The channel and thread of the message whose button was pressed ("" for what the payload lacks)."""
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    return str(channel or ""), str(message.get("thread_ts") or message.get("ts") or "")


def pressed_elsewhere(body: dict[str, Any], channel: str) -> tuple[str, str] | None:
    """The channel and thread of the message whose button was pressed, when that is not in ``channel``
    (the conversation's): a DM's notice in the agents' channel."""
    where, thread_ts = pressed_in(body)
    return (where, thread_ts) if where and where != channel and thread_ts else None


async def tell_handed_back(
    bot: SupportBot, body: dict[str, Any], user: str, channel: str, thread_ts: str
) -> None:
    """Say in the thread handed back that the bot answers again; and, when the button was pressed
    elsewhere (under a DM's notice in the agents' channel), there too: the other agents read that one.

    A DM's customer alone reads it there, who never saw the agent in their DM: they are told in their
    words, the agent described as a re-route describes them (the routes file's
    ``escalation.agent_description``)."""
    if is_dm_channel(channel):
        who = escape(bot.router.routes.escalation.agent_description)
        text = f"{who[:1].upper()}{who[1:]} handed this conversation back to me: I will answer your next "
        text += "message."
    else:
        text = f"<@{user}> handed this thread back to the bot; it will answer the next message."
    await bot.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
    if notice := pressed_elsewhere(body, channel):
        await bot.client.chat_postMessage(
            channel=notice[0],
            thread_ts=notice[1],
            text=f"<@{user}> handed this conversation back to the bot; it will answer the customer's next "
            "message.",
        )


async def tell_rerouted(
    bot: SupportBot, body: dict[str, Any], user: str, msg: InboundMessage, decision: RoutingDecision
) -> None:
    """When the re-route was chosen elsewhere than the conversation (under a DM's notice in the agents'
    channel): say there who re-routed it and what the customer was told, which the agents cannot read in
    the DM; else the escalation they were tagged in stays open for all they can see."""
    if notice := pressed_elsewhere(body, msg.channel_id):
        answer = decision.answer if bot.settings.quotes_direct_messages else None
        text = rerouted_note(user, decision.category, answer)
        await bot.client.chat_postMessage(channel=notice[0], thread_ts=notice[1], text=text)
