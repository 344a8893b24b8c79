"""Agent controls on the bot's messages: hand a thread back to the bot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.formatting import ACTION_HAND_BACK

if TYPE_CHECKING:
    from bot.app import SupportBot

NOT_AN_AGENT = "Only support agents can use these controls."


def register(app: AsyncApp, bot: SupportBot) -> None:
    @app.action(ACTION_HAND_BACK)
    async def hand_back(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]
        if not await bot.is_agent(user):
            await respond(text=NOT_AN_AGENT, response_type="ephemeral", replace_original=False)
            return
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id")
        thread_ts = message.get("thread_ts") or message.get("ts")
        await bot.store.hand_back(body["team"]["id"], channel, thread_ts)
        await bot.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=f"<@{user}> handed this thread back to the bot; it will answer the next message.",
        )
