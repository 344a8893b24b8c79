"""Socket Mode: the same bot over Slack's websocket, with a local server standing in for Slack's."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

import pytest

from bot.formatting import ACTION_REROUTE
from bot.settings import SettingsError
from tests.bot.harness import CHANNEL, CUSTOMER, socket_mode_bot
from tests.bot.test_feedback_actions import AGENT
from tests.fakes import FakeAnthropic, FakeSlack, block_actions_payload, slash_command_form
from tests.fakes.slack_signing import event_callback, message_event
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


async def test_a_first_message_redelivered_over_socket_mode_after_an_agent_replied_is_left_to_them(
    slack: FakeSlack, anthropic_api: FakeAnthropic, bot_db_url: str
) -> None:
    async with socket_mode_bot(slack, anthropic_api, bot_db_url, agent_users=[AGENT]) as running:
        root = running.next_ts()
        text = "I was charged twice for my order"
        slack.add_message(CHANNEL, root, CUSTOMER, text)
        reply = running.next_ts()
        slack.add_message(CHANNEL, reply, AGENT, "Refunded, sorry about that", thread_ts=root)
        agents = message_event("Refunded, sorry about that", CHANNEL, AGENT, reply, thread_ts=root)
        await running.socket.wait_ack(await running.socket.deliver("events_api", event_callback(agents)))
        first = event_callback(message_event(text, CHANNEL, CUSTOMER, root))
        envelope = await running.socket.deliver("events_api", first, retry_attempt=1, retry_reason="timeout")
        await running.socket.wait_ack(envelope)

        async def taken_over() -> bool:
            thread = await running.bot.store.get_thread(slack.team_id, CHANNEL, root)
            return thread is not None and thread.taken_over_by == AGENT

        await eventually(taken_over, "the agent's take-over")
        await running.idle()
        assert slack.thread_replies(CHANNEL, root) == [] and anthropic_api.bodies("classify") == []


async def test_routing_stats_over_socket_mode_is_acked_before_its_report(
    slack: FakeSlack, anthropic_api: FakeAnthropic, bot_db_url: str
) -> None:
    slack.add_user("U0ADMIN", is_admin=True)
    async with socket_mode_bot(slack, anthropic_api, bot_db_url) as running:
        event, _ = await running.customer_says("I was charged twice for my order, I want my money back")
        await eventually(lambda: outcomes(slack, event["channel"], event["ts"]), "the answer")
        await running.idle()

        report = slack.hold_responses("stats")
        form = slash_command_form("/routing-stats", "30d", "U0ADMIN", CHANNEL, slack.response_url("stats"))
        envelope = await running.socket.deliver("slash_commands", dict(parse_qsl(form.decode())))
        # Acknowledged while the report is still on its way: Slack waits three seconds for the ack.
        assert (await running.socket.wait_ack(envelope))["envelope_id"] == envelope
        assert not slack.responses.get("stats")
        report.set()
        await eventually(lambda: slack.responses.get("stats"), "the report")

    # What the same command gets over HTTP (test_stats_command.py).
    [answer] = slack.responses["stats"]
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "Routing stats: last 30 days: 1 message routed"


async def test_an_agents_re_route_over_socket_mode_is_acked_and_answers_again(
    slack: FakeSlack, anthropic_api: FakeAnthropic, bot_db_url: str
) -> None:
    async with socket_mode_bot(slack, anthropic_api, bot_db_url, agent_users=[AGENT]) as running:
        event, _ = await running.customer_says("I was charged twice for my order, I want my money back")
        await eventually(lambda: outcomes(slack, event["channel"], event["ts"]), "the answer")
        await running.idle()
        [first] = outcomes(slack, event["channel"], event["ts"])

        # The click test_feedback_actions.py sends signed over HTTP, here in an interactive envelope.
        key = f"{event['channel']}:{event['ts']}"
        payload = block_actions_payload(
            ACTION_REROUTE,
            key,
            AGENT,
            event["channel"],
            first["ts"],
            slack.response_url("reroute"),
            block_id=f"agent_controls:{key}",
            message=first,
            action_type="static_select",
            selected="Technical Support",
        )
        said = slack.hold_responses("reroute")
        envelope = await running.socket.deliver("interactive", payload)
        assert (await running.socket.wait_ack(envelope))["envelope_id"] == envelope
        assert not slack.responses.get("reroute")
        said.set()

        await eventually(lambda: slack.responses.get("reroute"), "the agent told")
        await eventually(lambda: len(slack.thread_replies(CHANNEL, event["ts"])) == 2, "the new answer")
        await running.idle()

    [told] = slack.responses["reroute"]
    assert "Re-routed to *Technical Support*" in told["text"] and told["response_type"] == "ephemeral"
    second = slack.thread_replies(CHANNEL, event["ts"])[1]
    assert second["metadata"]["event_payload"]["category"] == "Technical Support"
    assert second["metadata"]["event_payload"]["source"] == "agent"


async def test_socket_mode_turned_off_in_slack_stops_serve_with_what_to_check(
    slack: FakeSlack, anthropic_api: FakeAnthropic, bot_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with socket_mode_bot(slack, anthropic_api, bot_db_url) as running:
        event, envelope = await running.customer_says("I want a refund for my order")
        await running.socket.wait_ack(envelope)
        await eventually(
            lambda: running.bot.worker.in_flight or outcomes(slack, event["channel"], event["ts"]),
            "the message taken",
        )
        opened = len(slack.calls_to("apps.connections.open"))

        await running.socket.disconnect("link_disabled")
        # Not a reconnection for ever, each refused or never given an event: serve stops, and says why.
        with pytest.raises(SettingsError) as stopped:
            await asyncio.wait_for(running.serving, 60)
        assert len(slack.calls_to("apps.connections.open")) == opened
        assert not running.socket.open_connections
        # The message it had taken is answered before it stops.
        assert len(outcomes(slack, event["channel"], event["ts"])) == 1

    said = str(stopped.value)
    assert "link_disabled" in said and "Socket Mode" in said and "SLACK_APP_TOKEN" in said
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("Socket Mode" in message for message in logged)
