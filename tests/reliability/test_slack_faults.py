"""Slack failing to take a reply: retried by slack_sdk, and past that, left pending and finished later."""

from __future__ import annotations

import pytest

from bot.store.tables.messages import inbound_messages
from tests.bot.harness import CHANNEL
from tests.fakes import FakeAnthropic, FakeSlack
from tests.reliability.helpers import answered_later, eventually, outcomes, rows


async def test_a_rate_limited_post_is_retried_by_slack_sdk_and_delivered_once(
    make_bot, slack: FakeSlack
) -> None:
    running = await make_bot(slack_streaming="off")
    slack.fail_next("chat.postMessage", status=429, retry_after=0, count=2)
    event = await running.customer_says("How do I reset my password?")
    await eventually(lambda: outcomes(slack, CHANNEL, event["ts"]), "the answer")
    await running.idle()
    posts = slack.calls_to("chat.postMessage")
    assert [call.status for call in posts] == [429, 429, 200]
    assert posts[0].response["error"] == "ratelimited"
    assert len(outcomes(slack, CHANNEL, event["ts"])) == 1
    [message] = await rows(running.store, inbound_messages)
    assert message["state"] == "done" and message["attempts"] == 0  # slack_sdk's retries sufficed


@pytest.mark.parametrize("status", [500, 503])
@pytest.mark.parametrize("posted", [False, True], ids=["not-posted", "posted-then-failed"])
async def test_a_post_slack_fails_is_retried_once_it_is_known_not_to_be_there(
    make_bot, slack: FakeSlack, anthropic_api: FakeAnthropic, status: int, posted: bool
) -> None:
    """A 5xx does not say whether Slack posted the message: sending it again blind would answer twice.
    The next attempt looks in the thread first, and posts only what is not there."""
    running = await make_bot(slack_streaming="off", retry_base_seconds=0.2)
    slack.fail_next("chat.postMessage", status=status, retry_after=0, after_applying=posted)
    event = await running.customer_says("How do I reset my password?")
    await answered_later(running, event, "the answer")
    assert len(slack.thread_replies(CHANNEL, event["ts"])) == 1
    assert [call.status for call in slack.calls_to("chat.postMessage")] == [status] + [200] * (not posted)
    assert len(anthropic_api.bodies("answer")) == 1
    [decision] = await rows(running.store)
    assert decision["reply_ts"] == slack.thread_replies(CHANNEL, event["ts"])[0]["ts"]


@pytest.mark.parametrize("method", ["chat.startStream", "chat.appendStream"])
async def test_a_streaming_call_slack_carried_out_but_answered_500_shows_the_answer_once(
    make_bot, slack: FakeSlack, anthropic_api: FakeAnthropic, method: str
) -> None:
    running = await make_bot(slack_streaming="auto", retry_base_seconds=0.2)
    anthropic_api.answer_fn = lambda body: " ".join(f"word{i:03d}" for i in range(60))
    anthropic_api.tokens_per_second = 40  # appends every half second
    slack.fail_next(method, status=500, retry_after=0, after_applying=True)
    event = await running.customer_says("How do I reset my password?")
    await answered_later(running, event, "the answer")
    [answer] = slack.thread_replies(CHANNEL, event["ts"])  # no stream left in progress beside it
    words = [word for word in answer["text"].split() if word.startswith("word")]
    assert words == [f"word{i:03d}" for i in range(60)]  # each once, in order
    assert len(anthropic_api.bodies("answer")) == 1


async def test_a_reply_that_cannot_be_posted_stays_pending_and_is_finished_later(
    make_bot, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(slack_streaming="off", retry_base_seconds=0.2)
    # The post fails (a 5xx: slack_sdk does not repeat a post blind): the message is left pending for a
    # later attempt, which finds no answer in the thread and posts it.
    slack.fail_next("chat.postMessage", status=503, retry_after=0)
    event = await running.customer_says("How do I reset my password?")
    await answered_later(running, event, "the answer, on a later attempt")
    assert len(outcomes(slack, CHANNEL, event["ts"])) == 1
    assert [call.status for call in slack.calls_to("chat.postMessage")] == [503, 200]
    [message] = await rows(running.store, inbound_messages)
    assert message["state"] == "done" and message["attempts"] == 1 and "503" in message["last_error"]
    [decision] = await rows(running.store)
    assert decision["message_ts"] == event["ts"] and not decision["escalated"]
    # The later attempt posted the answer the first one had from Claude: Claude was asked once, and
    # what it cost is on record.
    assert len(anthropic_api.bodies("answer")) == 1 and decision["output_tokens"] > 0
    assert message["kept_decision"] is None


async def test_a_stream_slack_stops_taking_is_answered_whole_later_without_asking_claude_again(
    make_bot, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(slack_streaming="auto", retry_base_seconds=0.2)
    # Closing the stream fails, and slack_sdk's three retries with it: the attempt fails, its answer kept.
    slack.fail_next("chat.stopStream", status=500, retry_after=0, count=4)
    event = await running.customer_says("How do I reset my password?")
    await answered_later(running, event, "the answer, on a later attempt")
    [answer] = slack.thread_replies(CHANNEL, event["ts"])  # the unfinished stream was removed
    assert "*Answer* from" in answer["text"] and len(slack.calls_to("chat.delete")) == 1
    assert len(anthropic_api.bodies("answer")) == 1
    [decision] = await rows(running.store)
    assert decision["reply_ts"] == answer["ts"] and decision["output_tokens"] > 0


async def test_a_stream_too_long_whose_whole_answer_slack_fails_is_posted_by_the_retry(
    make_bot, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """Slack refuses a stream for its length, the bot removes it to post the answer whole at once, and
    that post fails (a 503): the decision is kept, and the retry posts it once, without asking Claude."""
    running = await make_bot(slack_streaming="auto", retry_base_seconds=0.2)
    anthropic_api.answer_fn = lambda body: " ".join(f"word{i:03d}" for i in range(60))
    slack.stream_text_limit = 200
    slack.fail_next("chat.postMessage", status=503, retry_after=0)
    event = await running.customer_says("How do I reset my password?")
    await answered_later(running, event, "the answer, on a later attempt")
    [answer] = slack.thread_replies(CHANNEL, event["ts"])  # the refused stream was removed
    words = [word for word in answer["text"].split() if word.startswith("word")]
    assert words == [f"word{i:03d}" for i in range(60)]
    calls = [c.method for c in slack.calls if c.method in ("chat.delete", "chat.postMessage")]
    assert calls[0] == "chat.delete" and calls.count("chat.postMessage") == 2
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [503, 200]
    assert len(anthropic_api.bodies("answer")) == 1
    [message] = await rows(running.store, inbound_messages)
    assert message["attempts"] == 1 and message["kept_decision"] is None
    [decision] = await rows(running.store)
    assert decision["reply_ts"] == answer["ts"] and decision["output_tokens"] > 0


async def test_a_stream_rate_limited_mid_answer_still_ends_in_one_answer(make_bot, slack: FakeSlack) -> None:
    running = await make_bot(slack_streaming="on", retry_base_seconds=0.2)
    slack.fail_next("chat.stopStream", status=429, retry_after=0, count=1)
    event = await running.customer_says("How do I reset my password?")
    await eventually(lambda: outcomes(slack, CHANNEL, event["ts"]), "the answer")
    await running.idle()
    assert len(outcomes(slack, CHANNEL, event["ts"])) == 1
    assert len(await rows(running.store)) == 1


async def test_a_message_given_up_on_after_claude_answered_keeps_what_claude_cost_on_record(
    make_bot, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(slack_streaming="off", retry_base_seconds=0.1, retry_attempts=2)
    # Both attempts' posts fail: the second attempt gives up, to a person.
    slack.fail_next("chat.postMessage", status=503, retry_after=0, count=2)
    event = await running.customer_says("How do I reset my password?")
    await answered_later(running, event, "the escalation, after the last attempt")
    [escalation] = outcomes(slack, CHANNEL, event["ts"])
    # The agents see the guess the attempt made, and whose it was.
    assert "*Best guess:* Technical Support" in escalation["text"]
    assert "repeated attempts. Classified by local: Closest to the Technical Support" in escalation["text"]
    [decision] = await rows(running.store)
    assert (decision["source"], decision["escalation_reason"]) == ("fallback", "handler_error")
    # Claude was asked once, by the first attempt, and what that cost is the decision's.
    assert len(anthropic_api.bodies("answer")) == 1
    assert decision["measured"] and decision["output_tokens"] > 0 and decision["cost_usd"] > 0
    assert decision["category"] == "Technical Support" and decision["confidence"] > 0
