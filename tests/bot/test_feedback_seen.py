"""What the team sees of a verdict: after a click on *Route is correct* or *Re-route to…*, the message the
controls sit under is updated in place (its answer, blocks and metadata kept) with a line under the
controls naming the verdict on record and who gave it, so that a second agent does not judge it again
unawares; the verdict stands whatever Slack makes of the update."""

from __future__ import annotations

import logging
from itertools import pairwise
from typing import Any

import pytest

from bot.formatting import ACTION_CORRECT, ACTION_REROUTE
from bot.stats import build_report, parse_arguments
from tests.bot.conftest import BotFactory
from tests.bot.harness import RunningBot
from tests.bot.test_dm_escalations import escalated_dm, notices
from tests.bot.test_feedback_actions import AGENT, AGENT2, click, press, replies_count, told, unsure
from tests.bot.test_feedback_older_answers import press_under
from tests.bot.test_handoffs import AGENTS_CHANNEL
from tests.fakes import FakeAnthropic, FakeSlack
from tests.fakes.slack_signing import block_actions_form, block_actions_payload

REFUND = "I was charged twice for my order, I want my money back"
CONTENT = ("section", "markdown", "rich_text")


def verdict_lines(reply: dict[str, Any]) -> list[str]:
    """The verdict lines under a message's controls (the context right after its actions block)."""
    blocks = reply.get("blocks") or []
    return [
        element["text"]
        for above, block in pairwise(blocks)
        if above["type"] == "actions" and block["type"] == "context"
        for element in block["elements"]
    ]


def shown_text(reply: dict[str, Any]) -> str:
    """What a message shows of its answer: the text of its content blocks (a section's, a markdown's)."""
    texts = [b["text"] for b in reply["blocks"] if b["type"] in CONTENT]
    return "\n".join(t if isinstance(t, str) else t["text"] for t in texts)


async def judged(running: RunningBot, event: dict[str, Any], *args: Any) -> str:
    """Click, wait for the private answer and for the click's work to end; the private answer."""
    answer = await click(running, event, *args)
    await running.idle()
    return str(answer["text"])


@pytest.mark.parametrize("streaming", ["on", "off"])
async def test_route_is_correct_is_shown_under_the_answer_and_a_second_agent_sees_it(
    make_bot: BotFactory, slack: FakeSlack, streaming: str
) -> None:
    running = await make_bot(agent_users=[AGENT, AGENT2], slack_streaming=streaming)
    event = await running.customer_says(REFUND)
    await running.idle()
    [before] = running.replies(event)
    posts = len(slack.calls_to("chat.postMessage"))
    assert "is recorded as the right route" in await judged(running, event, ACTION_CORRECT, AGENT, "a")

    # The same message, changed in place: no new message, its answer, blocks and metadata kept.
    [after] = running.replies(event)
    assert after["ts"] == before["ts"] and len(slack.calls_to("chat.postMessage")) == posts
    assert (after["text"], after["metadata"]) == (before["text"], before["metadata"])
    assert [b for b in after["blocks"] if b in before["blocks"]] == before["blocks"]
    assert before["text"].split("\n")[0] in shown_text(after)
    assert verdict_lines(after) == [f"✓ Route to *Refund Request* confirmed by <@{AGENT}>"]

    # Another agent, seeing it, is told who confirmed it; the first agent's verdict stays on record.
    second = await judged(running, event, ACTION_CORRECT, AGENT2, "b")
    assert second == f"<@{AGENT}> already confirmed *Refund Request* as the right route."
    target = await running.store.find_decision(slack.team_id, event["channel"], event["ts"])
    assert target is not None
    feedback = await running.store.get_feedback(target.decision_id)
    assert feedback is not None and feedback.agent_id == AGENT
    [again] = running.replies(event)
    assert verdict_lines(again) == [f"✓ Route to *Refund Request* confirmed by <@{AGENT}>"]
    report = await build_report(running.store, parse_arguments("24h"))
    assert (report.feedback_total.reviewed, report.feedback_total.correct) == (1, 1)


async def test_a_re_route_marks_the_replaced_answer_and_the_latest_verdict_wins(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    running = await make_bot(agent_users=[AGENT, AGENT2])
    event = await running.customer_says(REFUND)
    await running.idle()
    [before] = running.replies(event)
    await judged(running, event, ACTION_CORRECT, AGENT, "a")
    # A colleague disagrees: their re-route replaces the verdict, and the line says so.
    await judged(running, event, ACTION_REROUTE, AGENT2, "b", "Technical Support")
    first, rerouted = await replies_count(running, event, 2)
    assert first["text"] == before["text"] and first["metadata"] == before["metadata"]
    assert verdict_lines(first) == [f"↪ Re-routed to *Technical Support* by <@{AGENT2}>"]
    assert verdict_lines(rerouted) == []  # the new answer says it was re-routed in its own route line
    # Back to the classifier's route, chosen under the re-routed answer: its line names that route.
    await press_under(
        running, {**rerouted, "channel": event["channel"]}, ACTION_REROUTE, "c", "Refund Request"
    )
    await running.idle()
    _first, rerouted, _answer = await replies_count(running, event, 3)
    assert verdict_lines(rerouted) == [f"✓ Route to *Refund Request* confirmed by <@{AGENT}>"]
    report = await build_report(running.store, parse_arguments("24h"))
    assert (report.feedback_total.reviewed, report.feedback_total.correct) == (1, 1)


async def test_confirming_over_a_colleagues_unanswered_re_route_names_what_it_replaces(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    running = await make_bot(agent_users=[AGENT, AGENT2])
    event = await running.customer_says(REFUND)
    await running.idle()
    # AGENT handles the thread: AGENT2's re-route is recorded, not answered.
    await running.customer_says("Refunded the duplicate charge just now", user=AGENT, thread_ts=event["ts"])
    await running.idle()
    await judged(running, event, ACTION_REROUTE, AGENT2, "b", "General Question")
    [answer] = running.replies(event)
    assert verdict_lines(answer) == [f"↪ Re-routed to *General Question* by <@{AGENT2}>"]
    said = await judged(running, event, ACTION_CORRECT, AGENT, "a")
    assert said == (
        "Thanks: *Refund Request* is recorded as the right route, in place of "
        f"<@{AGENT2}>'s re-route to *General Question*."
    )
    [answer] = running.replies(event)
    assert verdict_lines(answer) == [f"✓ Route to *Refund Request* confirmed by <@{AGENT}>"]


async def test_an_escalation_shows_the_verdict_and_keeps_its_tags_and_metadata(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = unsure
    event = await running.customer_says("hmm, about that charge from before")
    await running.idle()
    [before] = running.replies(event)
    await judged(running, event, ACTION_CORRECT, AGENT, "a")
    [after] = running.replies(event)
    assert (after["text"], after["metadata"]) == (before["text"], before["metadata"])
    assert f"<@{AGENT}>" in after["text"]  # the agents' tag, as posted
    assert [b for b in after["blocks"] if b in before["blocks"]] == before["blocks"]
    assert verdict_lines(after) == [f"✓ Route to *Refund Request* confirmed by <@{AGENT}>"]


async def test_slack_refusing_the_update_keeps_the_verdict_and_posts_nothing(
    make_bot: BotFactory, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says(REFUND)
    await running.idle()
    [before] = running.replies(event)
    posts = len(slack.calls_to("chat.postMessage"))
    slack.fail_next("chat.update", error="edit_window_closed")
    with caplog.at_level(logging.WARNING):
        said = await judged(running, event, ACTION_CORRECT, AGENT, "a")
    assert said == "Thanks: *Refund Request* is recorded as the right route."
    assert [c.ok for c in slack.calls_to("chat.update")] == [False]
    assert running.replies(event) == [before] and len(slack.calls_to("chat.postMessage")) == posts
    assert "edit_window_closed" in caplog.text
    target = await running.store.find_decision(slack.team_id, event["channel"], event["ts"])
    assert target is not None and await running.store.get_feedback(target.decision_id) is not None


async def test_no_line_is_written_in_a_dm(make_bot: BotFactory, slack: FakeSlack) -> None:
    """Only the customer reads a DM: a click there (on controls an older version may have left) records
    the verdict and writes no agent's name under it."""
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says(REFUND, channel="D0DM", channel_type="im")
    await running.idle()
    [answer] = running.replies(event)
    key = f"{event['channel']}:{event['ts']}"
    button = {"type": "button", "action_id": ACTION_CORRECT, "text": {"type": "plain_text", "text": "ok"}}
    controls = {
        "type": "actions",
        "block_id": f"agent_controls:{key}",
        "elements": [{**button, "value": key}],
    }
    payload = block_actions_payload(
        ACTION_CORRECT,
        key,
        AGENT,
        event["channel"],
        answer["ts"],
        slack.response_url("dm"),
        block_id=f"agent_controls:{key}",
        message={**answer, "blocks": [*(answer.get("blocks") or []), controls]},
    )
    status, _ = await running.send_form(block_actions_form(payload))
    assert status == 200
    assert "is recorded as the right route" in (await told(running, "dm", 1))[0]
    await running.idle()
    assert slack.calls_to("chat.update") == []
    target = await running.store.find_decision(slack.team_id, event["channel"], event["ts"])
    assert target is not None and await running.store.get_feedback(target.decision_id) is not None


async def test_a_dms_notice_in_the_agents_channel_shows_the_verdict(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """The agents judge an escalated DM under its notice in their channel: the line goes there, and
    nothing is written in the customer's DM."""
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    event, notice_ts = await escalated_dm(running, anthropic_api)
    [before] = notices(slack)
    await press(running, event, ACTION_CORRECT, AGENT, "n", notice=(AGENTS_CHANNEL, before))
    await told(running, "n", 1)
    await running.idle()
    [after] = notices(slack)
    assert (after["ts"], after["text"], after["metadata"]) == (notice_ts, before["text"], before["metadata"])
    assert verdict_lines(after) == [f"✓ Route to *Refund Request* confirmed by <@{AGENT}>"]
    assert [c.params["channel"] for c in slack.calls_to("chat.update")] == [AGENTS_CHANNEL]
