"""End to end: signed Events API requests to the real app, answers in threads of the fake Slack."""

from __future__ import annotations

from tests.bot.harness import RunningBot
from tests.fakes import FakeAnthropic, FakeSlack


async def test_channel_message_gets_one_threaded_answer_from_its_handler(
    running: RunningBot, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    replies = running.replies(event)
    assert len(replies) == 1
    reply = replies[0]
    assert reply["thread_ts"] == event["ts"]
    assert reply["text"].startswith("**Answer**")
    decision_payload = reply["metadata"]["event_payload"]
    assert decision_payload["message_ts"] == event["ts"]
    assert decision_payload["category"] == "Refund Request"
    [answer_request] = anthropic_api.bodies("answer")
    # The refund specialist answered: its model tier and its own system prompt.
    assert answer_request["model"] == "claude-sonnet-5-5"
    assert "specialist for refunds" in answer_request["system"][0]["text"]
