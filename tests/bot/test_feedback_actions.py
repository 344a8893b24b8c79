"""Agent controls end to end: a signed click confirms or re-routes, and the stats follow."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.formatting import ACTION_CORRECT, ACTION_REROUTE
from bot.stats import build_report, parse_arguments
from tests.bot.conftest import BotFactory
from tests.bot.harness import RunningBot
from tests.fakes import FakeAnthropic, FakeSlack
from tests.fakes.slack_signing import block_actions_form, block_actions_payload

AGENT = "U0AGENT"


async def click(
    running: RunningBot,
    event: dict[str, Any],
    action_id: str,
    user: str,
    name: str,
    category: str | None = None,
) -> dict[str, Any]:
    """Click an agent control under the bot's first reply to ``event``; returns the private answer."""
    await press(running, event, action_id, user, name, category)
    deadline = time.monotonic() + 10
    while not running.slack.responses.get(name):
        assert time.monotonic() < deadline, "no private answer to the click"
        await asyncio.sleep(0.01)
    return running.slack.responses[name][0]


async def press(
    running: RunningBot,
    event: dict[str, Any],
    action_id: str,
    user: str,
    name: str,
    category: str | None = None,
) -> None:
    """Send a signed click on an agent control under the bot's first reply to ``event``."""
    reply = running.replies(event)[0]
    key = f"{event['channel']}:{event['ts']}"
    payload = block_actions_payload(
        action_id,
        key,
        user,
        event["channel"],
        reply["ts"],
        running.slack.response_url(name),
        block_id=f"agent_controls:{key}",
        message=reply,
        action_type="button" if category is None else "static_select",
    )
    if category is not None:
        payload["actions"][0]["selected_option"] = {
            "text": {"type": "plain_text", "text": category},
            "value": category,
        }
    status, _ = await running.send_form(block_actions_form(payload))
    assert status == 200


async def replies_count(running: RunningBot, event: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The thread's replies once ``count`` of them are there and finished (a finished reply carries its
    metadata)."""
    deadline = time.monotonic() + 10
    while not (len(replies := running.replies(event)) >= count and all("metadata" in r for r in replies)):
        assert time.monotonic() < deadline, f"expected {count} finished replies, got {replies}"
        await asyncio.sleep(0.01)
    return replies


async def test_a_re_route_answers_again_with_the_new_handler_and_changes_the_stats(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    [first] = running.replies(event)
    assert first["metadata"]["event_payload"]["category"] == "Refund Request"
    before = await build_report(running.store, parse_arguments("7d"))
    assert (before.feedback_total.reviewed, before.feedback_total.rerouted) == (0, 0)

    answer = await click(running, event, ACTION_REROUTE, AGENT, "reroute", "Technical Support")
    assert "Re-routed to *Technical Support*" in answer["text"]
    assert answer["response_type"] == "ephemeral"
    replies = await replies_count(running, event, 2)
    second = replies[1]
    assert second["thread_ts"] == event["ts"]
    assert second["metadata"]["event_payload"]["category"] == "Technical Support"
    assert second["metadata"]["event_payload"]["source"] == "agent"
    last_answer = anthropic_api.bodies("answer")[-1]
    assert "technical support specialist" in last_answer["system"][0]["text"]

    deadline = time.monotonic() + 10
    while (after := await build_report(running.store, parse_arguments("7d"))).reroutes_answered < 1:
        assert time.monotonic() < deadline, "the re-routed answer was never recorded"
        await asyncio.sleep(0.02)
    refunds = {f.category: f for f in after.feedback}["Refund Request"]
    assert (refunds.reviewed, refunds.rerouted, refunds.accuracy, refunds.reroute_rate) == (1, 1, 0.0, 1.0)
    assert after.messages == 1  # the re-route answered again, but it is the same customer message
    assert after.reroutes_answered == 1
    assert after.input_tokens > before.input_tokens

    # "Correct" on the re-routed answer confirms the re-route; it does not undo it.
    confirmed = await click(running, event, ACTION_CORRECT, AGENT, "confirm")
    assert "stays re-routed to *Technical Support*" in confirmed["text"]
    target = await running.store.find_decision(slack.team_id, event["channel"], event["ts"])
    assert target is not None
    feedback = await running.store.get_feedback(target.decision_id)
    assert feedback is not None and feedback.category == "Technical Support"


async def test_marking_a_route_correct_counts_as_accurate(running: RunningBot) -> None:
    event = await running.customer_says("My app crashes every time I open the settings page")
    await running.idle()
    answer = await click(running, event, ACTION_CORRECT, AGENT, "correct")
    assert "is recorded as the right route" in answer["text"]
    report = await build_report(running.store, parse_arguments("24h"))
    assert (
        report.feedback_total.reviewed,
        report.feedback_total.correct,
        report.feedback_total.accuracy,
    ) == (
        1,
        1,
        1.0,
    )
    assert len(running.replies(event)) == 1


async def test_someone_who_is_not_an_agent_is_told_privately_and_nothing_changes(
    make_bot: BotFactory,
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    for action, name, category in ((ACTION_CORRECT, "c", None), (ACTION_REROUTE, "r", "General Question")):
        answer = await click(running, event, action, "U0CUSTOMER", name, category)
        assert answer["text"] == "Only support agents can use these controls."
        assert answer["response_type"] == "ephemeral"
    await asyncio.sleep(0.1)
    assert len(running.replies(event)) == 1
    report = await build_report(running.store, parse_arguments("7d"))
    assert report.feedback_total.reviewed == 0


async def test_with_no_agents_configured_a_customer_cannot_judge_their_own_route(
    running: RunningBot,
) -> None:
    # Everyone in the channel acts as an agent then, except on their own conversation.
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    for action, name, category in ((ACTION_CORRECT, "c", None), (ACTION_REROUTE, "r", "General Question")):
        answer = await click(running, event, action, "U0CUSTOMER", name, category)
        assert answer["text"] == "Only support agents can use these controls."
    answer = await click(running, event, ACTION_CORRECT, "U0COLLEAGUE", "colleague")
    assert "is recorded as the right route" in answer["text"]
