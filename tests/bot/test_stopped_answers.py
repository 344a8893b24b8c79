"""The customer presses Stop on a streamed answer: Slack stops showing it, Claude stops writing it, the
decision says so, and the thread's next message is answered at once."""

from __future__ import annotations

from typing import Any

from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, RunningBot
from tests.fakes import FakeAnthropic, FakeSlack
from tests.fakes.anthropic_content import customer_text, default_answer
from tests.reliability.helpers import PATIENCE_SECONDS, eventually, rows

FOLLOW_UP = "It's version 4.2"
SHORT_ANSWER = "Version 4.3 fixes that crash: update from the store."


def long_then_short(body: dict[str, Any]) -> str:
    """A long answer to the first question (25 s at 16 words a second); a short one to the follow-up."""
    follow_up = FOLLOW_UP in customer_text(body)
    return SHORT_ANSWER if follow_up else default_answer(body, 400)


async def customer_stops_an_answer(
    running: RunningBot, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A customer asks in the channel and presses Stop once the long answer starts streaming: their
    message's event and the stopped stream's message."""
    anthropic_api.answer_fn = long_then_short
    anthropic_api.tokens_per_second = 16
    first = await running.customer_says("The app crashes when I upload photos")
    await eventually(lambda: running.replies(first), "the answer's stream to start")
    [streamed] = running.replies(first)
    slack.stop_stream_as_user(CHANNEL, streamed["ts"])
    return first, streamed


async def test_an_answer_the_customer_stops_stops_claude_too_and_frees_the_thread(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """Stop used to end only what Slack showed: Claude wrote on to the end, billed, and the customer's
    next message in the thread waited for it. Now its request is closed at the stop."""
    running = await make_bot()
    first, streamed = await customer_stops_an_answer(running, slack, anthropic_api)
    await running.customer_says(FOLLOW_UP, thread_ts=first["ts"])
    await eventually(lambda: len(running.replies(first)) == 2, "the follow-up's answer")
    await running.idle(PATIENCE_SECONDS)

    stopped = next(r for r in anthropic_api.replies if r.blocks[0].get("text", "").startswith("**Answer**"))
    assert stopped.hung_up and not stopped.streamed_to_end  # Claude's request closed at the stop
    assert stopped.deltas_sent < 100
    shown, answered = running.replies(first)
    assert shown["ts"] == streamed["ts"] and stopped.blocks[0]["text"].startswith(shown["text"])
    assert answered["text"] == SHORT_ANSWER  # not the stopped answer again, whole
    decision = next(d for d in await rows(running.store) if d["message_ts"] == first["ts"])
    assert decision["stopped_by_customer"] and not decision["escalated"]
    assert decision["input_tokens"] > 0  # what Claude reported before the stop is billed
    assert stopped.blocks[0]["text"].startswith(decision["answer"])
    follow_up = next(d for d in await rows(running.store) if d["message_ts"] != first["ts"])
    assert not follow_up["stopped_by_customer"]


async def test_a_follow_up_after_a_stop_is_answered_knowing_what_the_customer_was_shown(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """A stopped stream never gets the metadata that names its message (Slack takes no stopStream on it),
    so the follow-up's history left it out: Claude answered as if it had said nothing."""
    running = await make_bot()
    first, streamed = await customer_stops_an_answer(running, slack, anthropic_api)
    await running.idle(PATIENCE_SECONDS)
    await running.customer_says(FOLLOW_UP, thread_ts=first["ts"])
    await running.idle(PATIENCE_SECONDS)

    [shown] = [r for r in running.replies(first) if r["ts"] == streamed["ts"]]
    history = [(m["role"], m["content"]) for m in anthropic_api.bodies("answer")[-1]["messages"]]
    assert history == [
        ("user", "The app crashes when I upload photos"),
        ("assistant", shown["text"].strip()),
        ("user", FOLLOW_UP),
    ]


async def test_in_a_dm_the_next_message_is_answered_knowing_the_answer_the_customer_stopped(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """In a DM customers write on at the top level: the new message is read with their last messages and
    the bot's reply to each, which left out a reply they had stopped (it names no message)."""
    running = await make_bot()
    anthropic_api.answer_fn = long_then_short
    anthropic_api.tokens_per_second = 16
    first = await running.customer_says(
        "The app crashes when I upload photos", channel="D0DM", channel_type="im"
    )
    await eventually(lambda: running.replies(first), "the answer's stream to start")
    [streamed] = running.replies(first)
    slack.stop_stream_as_user("D0DM", streamed["ts"])
    await running.idle(PATIENCE_SECONDS)
    await running.customer_says(FOLLOW_UP, channel="D0DM", channel_type="im")
    await running.idle(PATIENCE_SECONDS)

    [shown] = running.replies(first)
    history = [(m["role"], m["content"]) for m in anthropic_api.bodies("answer")[-1]["messages"]]
    assert history == [
        ("user", "The app crashes when I upload photos"),
        ("assistant", shown["text"].strip()),
        ("user", FOLLOW_UP),
    ]
