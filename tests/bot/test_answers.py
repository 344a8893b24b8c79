"""End to end: signed Events API requests to the real app, answers in threads of the fake Slack."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import pytest

from bot.formatting import ACTION_HAND_BACK
from bot.store.tables.messages import inbound_messages
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, CUSTOMER, RunningBot
from tests.fakes import FakeAnthropic, FakeSlack
from tests.reliability.helpers import PATIENCE_SECONDS, answered_later, rows


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


async def test_direct_message_is_answered_in_its_thread(running: RunningBot) -> None:
    event = await running.customer_says("How do I reset my password?", channel="D0DM", channel_type="im")
    await running.idle()
    [reply] = running.replies(event)
    assert reply["thread_ts"] == event["ts"]


async def test_follow_up_in_the_thread_is_routed_with_its_history(
    running: RunningBot, anthropic_api: FakeAnthropic
) -> None:
    first = await running.customer_says("The app crashes when I upload photos")
    await running.idle()
    follow = await running.customer_says("It's version 4.2 on Android 14", thread_ts=first["ts"])
    await running.idle()
    assert len(running.replies(first)) == 2
    last = anthropic_api.bodies("answer")[-1]
    turns = [(m["role"], m["content"]) for m in last["messages"]]
    assert turns[0] == ("user", "The app crashes when I upload photos")
    assert turns[1][0] == "assistant" and turns[1][1].startswith("**Answer**")
    assert turns[2] == ("user", follow["text"])
    # The follow-up was classified knowing the thread, too.
    assert "upload photos" in anthropic_api.bodies("classify")[-1]["messages"][0]["content"]


async def test_a_thread_slack_will_not_let_the_bot_read_is_answered_without_its_history(
    running: RunningBot, slack: FakeSlack, anthropic_api: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    """A mention in a thread of a group DM under a manifest without mpim:history: no retry can read the
    thread, so the message is answered at once without it, and the log says which scope to add."""
    first = await running.customer_says("The app crashes when I upload photos")
    await running.idle()
    slack.fail_next(
        "conversations.replies", error="missing_scope", needed="mpim:history", provided="chat:write"
    )
    await running.customer_says("It's version 4.2 on Android 14", thread_ts=first["ts"])
    await running.idle()
    assert len(running.replies(first)) == 2
    assert len(slack.calls_to("conversations.replies")) == 1  # not tried again: answered on the first go
    last = anthropic_api.bodies("answer")[-1]
    assert [m["content"] for m in last["messages"]] == ["It's version 4.2 on Android 14"]
    assert any("needs mpim:history" in r.getMessage() for r in caplog.records)


async def test_a_thread_slack_cannot_give_now_is_tried_again_with_its_history(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(retry_base_seconds=0.05)
    first = await running.customer_says("The app crashes when I upload photos")
    await running.idle()
    slack.fail_next("conversations.replies", error="ratelimited")
    await running.customer_says("It's version 4.2 on Android 14", thread_ts=first["ts"])
    await running.idle()
    deadline = time.monotonic() + 10
    while len(running.replies(first)) < 2:  # the retry, after its delay
        assert time.monotonic() < deadline, "the follow-up was never answered"
        await asyncio.sleep(0.05)
    assert len(anthropic_api.bodies("answer")[-1]["messages"]) == 3  # the thread, read the second time


async def test_bots_edits_deletions_and_strangers_threads_get_nothing(
    running: RunningBot, slack: FakeSlack
) -> None:
    from tests.fakes import event_callback, message_event

    events = [
        message_event("beep", CHANNEL, "U0OTHERBOT", running.next_ts(), bot_id="B0OTHER"),
        message_event("beep", CHANNEL, slack.bot_user_id, running.next_ts()),
        message_event("edited", CHANNEL, None, running.next_ts(), subtype="message_changed"),
        message_event("", CHANNEL, None, running.next_ts(), subtype="message_deleted"),
        message_event("joined", CHANNEL, CUSTOMER, running.next_ts(), subtype="channel_join"),
        # A reply in a thread the bot never answered: people talking among themselves.
        message_event("thanks!", CHANNEL, CUSTOMER, running.next_ts(), thread_ts="1600000000.000001"),
    ]
    for event in events:
        status, _ = await running.send(event_callback(event))
        assert status == 200
    await running.idle()
    assert slack.calls_to("chat.postMessage") == [] and slack.calls_to("chat.startStream") == []


async def test_three_deliveries_of_one_message_get_one_answer(
    running: RunningBot, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    from tests.fakes import app_mention_event, event_callback

    event = await running.customer_says(f"<@{slack.bot_user_id}> where is my refund?")
    payload = event_callback(event)
    assert (await running.send(payload, retry_num=1))[0] == 200
    mention = app_mention_event(event["text"], CHANNEL, CUSTOMER, event["ts"])
    assert (await running.send(event_callback(mention)))[0] == 200
    await running.idle()
    assert len(running.replies(event)) == 1
    assert len(anthropic_api.bodies("answer")) == 1


async def test_unsure_message_is_escalated_with_agents_tagged_then_the_bot_stays_quiet(
    make_bot, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=["U0AGENT"], agent_usergroup="S0SUPPORT")
    anthropic_api.classify_fn = lambda text, categories: {
        "category": "Refund Request",
        "confidence": 0.41,
        "reasoning": "Might be billing.",
        "wants_human": False,
    }
    event = await running.customer_says("hmm about that thing from before")
    await running.idle()
    [escalation] = running.replies(event)
    text = escalation["text"]
    assert "a person will follow up" in text
    assert "<!subteam^S0SUPPORT> <@U0AGENT>" in text
    assert (
        "Refund Request" in text
        and "0.41" in text
        and "Might be billing." in text
        and "low confidence" in text
    )
    # Agents read there what happens now and what the controls under it do.
    *_, guide, controls = escalation["blocks"]
    assert guide["type"] == "context" and "stays out of this thread" in guide["elements"][0]["text"]
    assert "*Re-route to…*" in guide["elements"][0]["text"]
    assert "*Hand back to the bot*" in guide["elements"][0]["text"]
    assert controls["type"] == "actions"
    assert anthropic_api.bodies("answer") == []
    await running.customer_says("hello?", thread_ts=event["ts"])
    await running.idle()
    assert len(running.replies(event)) == 1  # silent in an escalated thread


async def test_an_agent_writing_in_a_bot_thread_takes_it_over(running: RunningBot, slack: FakeSlack) -> None:
    event = await running.customer_says("How do I change my email address?")
    await running.idle()
    await running.customer_says("I'll take this one", user="U0AGENT", thread_ts=event["ts"])
    await running.customer_says("thanks, it still fails", thread_ts=event["ts"])
    await running.idle()
    assert len(running.replies(event)) == 1
    thread = await running.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and thread.taken_over_by == "U0AGENT"


async def test_offline_mode_answers_with_the_labelled_offline_reply(make_bot) -> None:
    running = await make_bot(offline=True)
    event = await running.customer_says("The app crashes every time I open the camera")
    await running.idle()
    [reply] = running.replies(event)
    assert "offline" in reply["text"].lower()
    assert reply["metadata"]["event_payload"]["source"] == "local"


async def test_a_correctly_configured_start_logs_no_warning(
    make_bot: BotFactory, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # As deployed: the token in the environment (Bolt reads it there too, beside the client it is given).
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    with caplog.at_level(logging.WARNING):
        running = await make_bot()
        event = await running.customer_says("How do I reset my password?")
        await running.idle()
    assert len(running.replies(event)) == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_offline_a_reply_to_the_canned_answer_goes_to_a_person_and_thanks_ends_it(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    running = await make_bot(offline=True, agent_users=["U0AGENT"])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    # The offline refund reply asks for the order number; the customer gives it and a person takes it.
    await running.customer_says("Order 88213, charged twice on Monday", thread_ts=event["ts"])
    await running.idle()
    canned, escalation = running.replies(event)
    assert "<@U0AGENT>" in escalation["text"] and "offline answer" in escalation["text"]
    assert escalation["text"] != canned["text"]
    # In a thread still the bot's, a thank-you is acknowledged, not escalated for fitting no category.
    other = await running.customer_says("The app crashes every time I open the camera")
    await running.idle()
    await running.customer_says("Thanks, that fixed it!", thread_ts=other["ts"])
    await running.idle()
    _answer, thanks = running.replies(other)
    assert thanks["text"].startswith("You're welcome") and "<@U0AGENT>" not in thanks["text"]
    # Nothing was routed: no route line to read, no route to confirm or change under "You're welcome".
    assert [b["type"] for b in thanks["blocks"]] == ["section", "actions"]
    [controls] = [b for b in thanks["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in controls["elements"]] == [ACTION_HAND_BACK]


# A step-by-step guide of about 26,000 characters: what a handler given a high max_tokens writes. Each
# step's heading is numbered, so that a step lost or posted twice shows.
LONG_GUIDE = "\n\n".join(
    f"## Step {n}\n\n" + f"Open **Settings**, then check that item {n} is on. " * 25 for n in range(1, 21)
)


def _guide_steps(texts: list[str]) -> list[int]:
    """The step numbers the customer reads in ``texts`` (the bot's messages), in order."""
    return [int(n) for text in texts for n in re.findall(r"\*Step (\d+)\*", text)]


async def test_a_long_answer_posted_whole_reaches_the_thread_within_slacks_limits(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """Slack refuses a message whose blocks hold more than about 12,000 characters of text
    (msg_blocks_too_long), on every attempt: the answer goes as several messages, in order, each within
    Slack's limits, the agent controls under the last; it is answered, asked of Claude and recorded once."""
    anthropic_api.answer_fn = lambda body: LONG_GUIDE
    running = await make_bot(slack_streaming="off", retry_attempts=3, retry_base_seconds=0.05)
    event = await running.customer_says("How do I set up the app from scratch?")
    await answered_later(running, event, "the long answer")
    replies = running.replies(event)
    assert [call.ok for call in slack.calls_to("chat.postMessage")] == [True] * len(replies)
    assert _guide_steps([r["text"] for r in replies]) == list(range(1, 21))
    controls = [any(b["type"] == "actions" for b in r["blocks"]) for r in replies]
    assert len(replies) > 1 and controls == [False] * (len(replies) - 1) + [True]
    assert len(anthropic_api.bodies("answer")) == 1
    [decision] = await rows(running.store)
    assert not decision["escalated"] and decision["error"] is None
    assert decision["reply_ts"] == replies[0]["ts"]


async def test_a_long_answer_slack_stops_streaming_reaches_the_thread_whole(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """A streamed message that grows past what Slack takes is refused part-way (msg_too_long), as it
    would be on every attempt: the half-streamed message is removed and the answer Claude wrote goes
    whole at once, in messages Slack takes, in the same attempt (not a retry's back-off later, which
    here would never come), without asking Claude again."""
    slack.stream_text_limit = 15_000
    anthropic_api.answer_fn = lambda body: LONG_GUIDE
    running = await make_bot(slack_streaming="auto", retry_base_seconds=3600)
    event = await running.customer_says("How do I set up the app from scratch?")
    await running.idle(limit_seconds=PATIENCE_SECONDS)
    refused = [c for c in slack.calls if c.method.endswith("Stream") and not c.ok]
    assert [c.response["error"] for c in refused] == ["msg_too_long"]
    # The stream goes, then the answer comes: the customer never reads it twice.
    calls = [c.method for c in slack.calls if c.method in ("chat.delete", "chat.postMessage")]
    assert calls == ["chat.delete"] + ["chat.postMessage"] * (len(calls) - 1)
    replies = running.replies(event)
    assert _guide_steps([r["text"] for r in replies]) == list(range(1, 21))
    assert all(slack.stream_state(CHANNEL, r["ts"]) is None for r in replies)  # the broken stream is gone
    assert len(anthropic_api.bodies("answer")) == 1
    [message] = await rows(running.store, inbound_messages)
    assert message["state"] == "done" and message["attempts"] == 0
    [decision] = await rows(running.store)
    assert not decision["escalated"] and decision["reply_ts"] == replies[0]["ts"]


@pytest.mark.parametrize("posted", [False, True], ids=["not-posted", "posted-then-500"])
async def test_a_long_answer_slack_fails_part_way_is_finished_from_where_it_stopped(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic, posted: bool
) -> None:
    """Slack fails the second message of a long answer (a 500: whether it posted it, nobody knows): the
    retry posts the messages not in the thread, not the answer again from its first, nor asks Claude."""
    anthropic_api.answer_fn = lambda body: LONG_GUIDE
    running = await make_bot(slack_streaming="off", retry_base_seconds=0.05)
    slack.fail_next("chat.postMessage", status=500, skip=1, after_applying=posted)
    event = await running.customer_says("How do I set up the app from scratch?")
    await answered_later(running, event, "the rest of the long answer")
    replies = running.replies(event)
    assert _guide_steps([r["text"] for r in replies]) == list(range(1, 21))
    parts = [r["metadata"]["event_payload"]["part"] for r in replies]
    assert parts == list(range(1, len(replies) + 1))
    assert len(anthropic_api.bodies("answer")) == 1
    [decision] = await rows(running.store)
    assert not decision["escalated"] and decision["reply_ts"] == replies[0]["ts"]


async def test_an_answer_slack_still_refuses_goes_to_a_person_at_once_saying_why(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """Slack's limit on a message's block text is not documented: should it refuse even the messages a
    long answer is cut into, no retry of the same message would be taken. The customer is handed to a
    person at once, not after every retry's back-off, and the decision says what Slack refused."""
    slack.block_text_limit = 5_000
    anthropic_api.answer_fn = lambda body: LONG_GUIDE
    running = await make_bot(slack_streaming="off", agent_users=["U0AGENT"], retry_base_seconds=0.05)
    event = await running.customer_says("How do I set up the app from scratch?")
    await answered_later(running, event, "the escalation")
    [escalation] = running.replies(event)
    assert "<@U0AGENT>" in escalation["text"]
    refused = [call.response["error"] for call in slack.calls_to("chat.postMessage") if not call.ok]
    assert refused == ["msg_blocks_too_long"]  # not tried again
    assert len(anthropic_api.bodies("answer")) == 1
    [decision] = await rows(running.store)
    assert decision["escalated"]
    assert decision["error"] == "Slack refused chat.postMessage: msg_blocks_too_long"
