"""Socket Mode: the same bot over Slack's websocket, with a local server standing in for Slack's."""

from __future__ import annotations

import pytest

from tests.bot.harness import socket_mode_bot
from tests.fakes import FakeAnthropic, FakeSlack
from tests.reliability.helpers import eventually, outcomes, unhandled_errors


async def test_socket_mode_receives_acks_and_answers(
    slack: FakeSlack, anthropic_api: FakeAnthropic, bot_db_url: str
) -> None:
    async with socket_mode_bot(slack, anthropic_api, bot_db_url) as running:
        event, envelope = await running.customer_says("I want a refund for my order")
        assert (await running.socket.wait_ack(envelope))["envelope_id"] == envelope
        await eventually(lambda: outcomes(slack, event["channel"], event["ts"]), "the answer")
        [reply] = slack.thread_replies(event["channel"], event["ts"])
        assert reply["metadata"]["event_payload"]["category"] == "Refund Request"


@pytest.mark.parametrize("reason", ["refresh_requested", "warning"])
async def test_a_refresh_slack_asks_for_opens_a_new_connection_and_answering_goes_on(
    slack: FakeSlack,
    anthropic_api: FakeAnthropic,
    bot_db_url: str,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with socket_mode_bot(slack, anthropic_api, bot_db_url) as running:
        socket = running.socket
        first, _ = await running.customer_says("I want a refund for my order")
        await eventually(lambda: outcomes(slack, first["channel"], first["ts"]), "the first answer")
        opened = len(slack.calls_to("apps.connections.open"))

        await socket.disconnect(reason)
        await socket.wait_connections(2)
        # A new URL for it, and the old connection let go: Slack spreads events over every open one.
        assert len(slack.calls_to("apps.connections.open")) == opened + 1
        await eventually(lambda: len(socket.open_connections) == 1, "the old connection closed")

        second, envelope = await running.customer_says("My app crashes when I open the settings page")
        await socket.wait_ack(envelope)
        await eventually(lambda: outcomes(slack, second["channel"], second["ts"]), "the second answer")
        await running.idle()
        assert [len(outcomes(slack, e["channel"], e["ts"])) for e in (first, second)] == [1, 1]
        [reply] = outcomes(slack, second["channel"], second["ts"])
        assert reply["metadata"]["event_payload"]["category"] == "Technical Support"
    assert not unhandled_errors(caplog)
