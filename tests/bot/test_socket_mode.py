"""Socket Mode: the same bot over Slack's websocket, with a local server standing in for Slack's."""

from __future__ import annotations

import asyncio

from bot.app import SupportBot
from bot.commands.serving import support_bot
from bot.server import serve_socket_mode
from tests.bot.harness import CHANNEL, CUSTOMER, make_settings
from tests.fakes import FakeAnthropic, FakeSlack, event_callback, message_event
from tests.fakes.socket_mode import FakeSocketMode

APP_TOKEN = "xapp-1-A111-test"


async def test_socket_mode_receives_acks_and_answers(
    slack: FakeSlack, anthropic_api: FakeAnthropic, bot_db_url: str
) -> None:
    async with FakeSocketMode() as socket:
        slack.socket_mode_url = socket.url  # type: ignore[attr-defined]
        slack.tokens.add(APP_TOKEN)
        settings = make_settings(slack, anthropic_api, bot_db_url, slack_app_token=APP_TOKEN)
        async with support_bot(settings) as bot:
            await _converse_over_socket_mode(bot, socket, slack)


async def _converse_over_socket_mode(bot: SupportBot, socket: FakeSocketMode, slack: FakeSlack) -> None:
    stop = asyncio.Event()
    serving = asyncio.create_task(serve_socket_mode(bot, APP_TOKEN, stop))
    try:
        ts = "1700000200.000001"
        slack.add_message(CHANNEL, ts, CUSTOMER, "I want a refund for my order")
        event = message_event("I want a refund for my order", CHANNEL, CUSTOMER, ts)
        envelope = await socket.deliver("events_api", event_callback(event))
        assert (await socket.wait_ack(envelope))["envelope_id"] == envelope
        for _ in range(250):
            if slack.calls_to("chat.stopStream") or slack.calls_to("chat.postMessage"):
                break
            await asyncio.sleep(0.02)
        [reply] = slack.thread_replies(CHANNEL, ts)
        assert reply["metadata"]["event_payload"]["category"] == "Refund Request"
    finally:
        stop.set()
        await serving
