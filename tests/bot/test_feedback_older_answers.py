"""Route is correct pressed under an older answer in a thread, after the thread had another decision (a
follow-up routed elsewhere, a re-route): the verdict is on the route of the answer the agent judged, and
/routing-stats' accuracy per category counts it there, not under the thread's latest route."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.formatting import ACTION_CORRECT, ACTION_REROUTE
from bot.stats import build_report, parse_arguments
from bot.stats.report import StatsReport
from tests.bot.conftest import BotFactory
from tests.bot.harness import RunningBot
from tests.bot.test_feedback_actions import AGENT, answered_as, replies_count, told
from tests.fakes.slack_signing import block_actions_form, block_actions_payload

REFUND = "I was charged twice for my order, I want my money back"
CRASH = "also the app crashes every time I open the settings page"


def control(reply: dict[str, Any], action_id: str) -> dict[str, Any]:
    """The agent control ``action_id`` as the bot posted it under ``reply``."""
    for block in reply.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return {**element, "block_id": block["block_id"]}
    raise AssertionError(f"no {action_id} under {reply.get('text')!r}")


async def press_under(
    running: RunningBot, reply: dict[str, Any], action_id: str, name: str, category: str | None = None
) -> str:
    """Click the control ``action_id`` that ``reply`` carries, with the value and block the bot gave it
    (not one worked out by the test); returns the private answer."""
    element = control(reply, action_id)
    payload = block_actions_payload(
        action_id,
        element.get("value", ""),
        AGENT,
        reply["channel"],
        reply["ts"],
        running.slack.response_url(name),
        block_id=element["block_id"],
        message=reply,
        action_type=element["type"],
        selected=category,
    )
    status, _ = await running.send_form(block_actions_form(payload))
    assert status == 200
    [answer] = await told(running, name, 1)
    return answer


def reviewed(report: StatsReport) -> dict[str, tuple[int, int, int]]:
    """Per category with verdicts: (reviewed, correct, re-routed)."""
    return {f.category: (f.reviewed, f.correct, f.rerouted) for f in report.feedback if f.reviewed}


async def refund_then_crash(running: RunningBot) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A refund question answered as Refund Request, then the customer's follow-up in its thread answered
    as Technical Support; returns the first message's event and the two answers."""
    event = await running.customer_says(REFUND)
    await running.idle()
    await running.customer_says(CRASH, thread_ts=event["ts"])
    await running.idle()
    first, second = await replies_count(running, event, 2)
    assert first["metadata"]["event_payload"]["category"] == "Refund Request"
    assert second["metadata"]["event_payload"]["category"] == "Technical Support"
    return event, {**first, "channel": event["channel"]}, {**second, "channel": event["channel"]}


async def test_route_is_correct_under_an_older_answer_counts_that_answers_route(
    make_bot: BotFactory,
) -> None:
    running = await make_bot(agent_users=[AGENT])
    _event, first, second = await refund_then_crash(running)
    answer = await press_under(running, first, ACTION_CORRECT, "first correct")
    assert answer == "Thanks: *Refund Request* is recorded as the right route."
    report = await build_report(running.store, parse_arguments("24h"))
    assert reviewed(report) == {"Refund Request": (1, 1, 0)}
    # The follow-up's own answer judges the follow-up's route.
    answer = await press_under(running, second, ACTION_CORRECT, "second correct")
    assert answer == "Thanks: *Technical Support* is recorded as the right route."
    report = await build_report(running.store, parse_arguments("24h"))
    assert reviewed(report) == {"Refund Request": (1, 1, 0), "Technical Support": (1, 1, 0)}


async def test_route_is_correct_under_an_answer_older_than_a_re_route_in_its_thread(
    make_bot: BotFactory,
) -> None:
    """The follow-up is re-routed; the first answer's route is then confirmed: it is recorded as right,
    and the re-route stays the follow-up's, whose route it judged."""
    running = await make_bot(agent_users=[AGENT])
    event, first, second = await refund_then_crash(running)
    answer = await press_under(running, second, ACTION_REROUTE, "reroute", "General Question")
    assert answer.startswith("Re-routed to *General Question*")
    follow_up = {"channel": event["channel"], "ts": second["metadata"]["event_payload"]["message_ts"]}
    await answered_as(running, follow_up, "General Question")
    answer = await press_under(running, first, ACTION_CORRECT, "first correct")
    assert answer == "Thanks: *Refund Request* is recorded as the right route."
    report = await build_report(running.store, parse_arguments("24h"))
    assert reviewed(report) == {"Refund Request": (1, 1, 0), "Technical Support": (1, 0, 1)}


async def test_route_is_correct_under_a_follow_ups_answer_after_the_first_message_was_re_routed(
    make_bot: BotFactory,
) -> None:
    """The first message is re-routed after its follow-up was answered; Route is correct under the
    follow-up's answer confirms the follow-up's route, and leaves the first message re-routed."""
    running = await make_bot(agent_users=[AGENT])
    event, first, second = await refund_then_crash(running)
    answer = await press_under(running, first, ACTION_REROUTE, "reroute", "General Question")
    assert answer.startswith("Re-routed to *General Question*")
    await answered_as(running, event, "General Question")
    deadline = time.monotonic() + 10
    while len(running.replies(event)) < 3:
        assert time.monotonic() < deadline, "the re-routed answer was never posted"
        await asyncio.sleep(0.01)
    answer = await press_under(running, second, ACTION_CORRECT, "second correct")
    assert answer == "Thanks: *Technical Support* is recorded as the right route."
    report = await build_report(running.store, parse_arguments("24h"))
    assert reviewed(report) == {"Refund Request": (1, 0, 1), "Technical Support": (1, 1, 0)}


async def test_re_routing_an_older_answer_leaves_a_later_escalation_with_the_agents(
    make_bot: BotFactory,
) -> None:
    """The customer asked for a person in the thread after the bot's first answer, and an agent then
    re-routes that first answer: the customer gets the re-routed answer, but their request for a person
    stands. The thread stays with the agents (the bot does not answer the customer's next message, and
    the escalation still waits for an agent to reply, reminder included), and the agent is told so."""
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says(REFUND)
    await running.idle()
    await running.customer_says("this is useless, I want to talk to a person", thread_ts=event["ts"])
    await running.idle()
    first, escalation = await replies_count(running, event, 2)
    assert escalation["metadata"]["event_payload"]["escalated"] is True
    first = {**first, "channel": event["channel"]}
    answer = await press_under(running, first, ACTION_REROUTE, "reroute", "General Question")
    assert answer.startswith("Re-routed to *General Question*")
    assert "The thread stays with the agents" in answer
    await answered_as(running, event, "General Question")
    await replies_count(running, event, 3)
    thread = await running.store.get_thread(running.slack.team_id, event["channel"], event["ts"])
    assert thread is not None and thread.bot_silent
    await running.customer_says("hello? anyone?", thread_ts=event["ts"])
    await running.idle()
    assert len(running.replies(event)) == 3  # the customer's next message is the agents' to answer
    assert await running.bot.reminders.remind(datetime.now(UTC) + timedelta(minutes=31)) == 1
