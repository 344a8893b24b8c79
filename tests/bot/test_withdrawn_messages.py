"""A customer deletes a message before the bot answered it: no answer (nor escalation) appears under the
question they withdrew, Claude stops writing, and what the bot had decided is still on record. One they
edit while it waits its turn is answered as it reads now."""

from __future__ import annotations

from typing import Any

from bot.store.tables.messages import inbound_messages
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, CUSTOMER, RunningBot
from tests.fakes import FakeAnthropic, FakeSlack, event_callback
from tests.fakes.anthropic_content import customer_text, default_answer
from tests.reliability.helpers import PATIENCE_SECONDS, eventually, rows

SLOW_QUESTION = "The app crashes when I upload photos"


def slow_for_the_first(body: dict[str, Any]) -> str:
    """A long answer (25 s at 16 words a second) to the first question, a short one to anything else."""
    return default_answer(body, 400) if SLOW_QUESTION in customer_text(body) else "Short answer."


async def customer_deletes(
    running: RunningBot, event: dict[str, Any], *, tombstone: bool = False
) -> dict[str, Any]:
    """The customer deletes the message of ``event``, as Slack tells it: ``message_deleted``, or, for a
    message with replies in its thread, ``message_changed`` to a tombstone. Either names the thread of a
    message in one, as Slack does (``thread_ts``: the tombstone's is its own, replies being under it).
    Returns the Events API body sent, for a test to send again as Slack's retry would."""
    thread = {"thread_ts": event["thread_ts"]} if event.get("thread_ts") else {}
    gone = {"type": "message", "user": CUSTOMER, "text": event["text"], "ts": event["ts"]} | thread
    deletion: dict[str, Any] = {
        "type": "message",
        "channel": event["channel"],
        "hidden": True,
        "ts": running.next_ts(),
        "channel_type": event.get("channel_type", "channel"),
    }
    deletion["event_ts"] = deletion["ts"]
    if tombstone:
        dead = {
            "type": "message",
            "subtype": "tombstone",
            "text": "This message was deleted.",
            "hidden": True,
            "thread_ts": event.get("thread_ts") or event["ts"],
        }
        deletion |= {"subtype": "message_changed", "message": dead | {"ts": event["ts"]}}
    else:
        deletion |= {"subtype": "message_deleted", "deleted_ts": event["ts"]}
    body = event_callback(deletion | {"previous_message": gone})
    status, _ = await running.send(body)
    assert status == 200
    return body


async def test_a_question_deleted_while_its_answer_streams_loses_the_answer_and_stops_claude(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """The answer under a withdrawn question used to stream on to its end, Claude billed for all of it."""
    running = await make_bot()
    anthropic_api.answer_fn = slow_for_the_first
    anthropic_api.tokens_per_second = 16
    event = await running.customer_says(SLOW_QUESTION)
    await eventually(lambda: running.replies(event), "the answer's stream to start")
    await customer_deletes(running, event, tombstone=True)
    await running.idle(PATIENCE_SECONDS)

    assert running.replies(event) == []  # the half-written answer is removed, and nothing else posted
    [answer] = [r for r in anthropic_api.replies if r.blocks[0].get("text", "").startswith("**Answer**")]
    assert answer.hung_up and not answer.streamed_to_end
    [decision] = await rows(running.store)
    assert decision["withdrawn"] and decision["input_tokens"] > 0  # on record, with what it cost
    [claimed] = await rows(running.store, inbound_messages)
    assert claimed["state"] == "done"


async def test_a_question_deleted_on_another_replica_loses_its_answer_once_claude_has_written_it(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """README Known limits: the deletion reaches the replica not answering. The worker answering reads the
    store, not that replica's memory, once Claude is done: Claude writes to the end, and the answer the
    customer saw streaming is removed then, nothing else posted."""
    answering = await make_bot()
    other = await make_bot()
    anthropic_api.answer_fn = lambda body: default_answer(body, 40)
    anthropic_api.tokens_per_second = 16  # two or three seconds of answer
    event = await answering.customer_says(SLOW_QUESTION)
    await eventually(lambda: answering.replies(event), "the answer's stream to start")
    other.next_ts()  # each harness counts its own ts: not the customer's again
    await customer_deletes(other, event, tombstone=True)
    await answering.idle(PATIENCE_SECONDS)
    await other.idle()

    assert answering.replies(event) == []
    [answer] = [r for r in anthropic_api.replies if r.blocks[0].get("text", "").startswith("**Answer**")]
    assert answer.streamed_to_end and not answer.hung_up
    [decision] = await rows(answering.store)
    assert decision["withdrawn"]


async def test_a_follow_up_deleted_while_it_waits_its_turn_is_not_answered(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """A second message sent while the first is answered waits its turn; deleted meanwhile, it was still
    classified and answered once its turn came."""
    running = await make_bot()
    anthropic_api.answer_fn = slow_for_the_first
    anthropic_api.tokens_per_second = 200  # two seconds of answer: the follow-up waits that long
    first = await running.customer_says(SLOW_QUESTION)
    await eventually(lambda: running.replies(first), "the first answer's stream to start")
    follow_up = await running.customer_says(
        "Also, can I get an invoice for last month?", thread_ts=first["ts"]
    )
    await customer_deletes(running, follow_up)
    await running.idle(PATIENCE_SECONDS)

    [answered] = running.replies(first)
    assert answered["text"].startswith("**Answer**")  # the first answer, whole; nothing for the second
    assert all("invoice" not in customer_text(body) for body in anthropic_api.bodies())
    states = {row["ts"]: row["state"] for row in await rows(running.store, inbound_messages)}
    assert states == {first["ts"]: "done", follow_up["ts"]: "withdrawn"}
    assert [d["message_ts"] for d in await rows(running.store)] == [first["ts"]]


async def test_deleting_a_message_already_answered_changes_nothing(
    running: RunningBot, slack: FakeSlack
) -> None:
    event = await running.customer_says("How do I reset my password?")
    await running.idle()
    await customer_deletes(running, event, tombstone=True)
    await running.idle()
    [reply] = running.replies(event)
    assert reply["text"].startswith("**Answer**")
    [decision] = await rows(running.store)
    assert not decision["withdrawn"]


async def test_a_follow_up_edited_while_it_waits_its_turn_is_answered_as_it_reads_now(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """Edited before the bot came to it, it was answered as first written: the typo, the wrong order
    number the customer had just corrected."""
    running = await make_bot()
    anthropic_api.answer_fn = slow_for_the_first
    anthropic_api.tokens_per_second = 200  # two seconds of answer: the follow-up waits that long
    first = await running.customer_says(SLOW_QUESTION)
    await eventually(lambda: running.replies(first), "the first answer's stream to start")
    follow_up = await running.customer_says("Where is order #1234?", thread_ts=first["ts"])
    now = {"type": "message", "user": CUSTOMER, "text": "Where is order #1243?", "ts": follow_up["ts"]}
    edit = {"type": "message", "subtype": "message_changed", "channel": CHANNEL, "hidden": True}
    edit |= {"ts": running.next_ts(), "message": now | {"thread_ts": first["ts"]}}
    status, _ = await running.send(event_callback(edit | {"previous_message": follow_up}))
    assert status == 200
    await running.idle(PATIENCE_SECONDS)

    asked = [customer_text(body) for body in anthropic_api.bodies("answer")]
    assert asked[-1] == "Where is order #1243?"
    assert not any("#1234" in text for text in asked)
    assert len(running.replies(first)) == 2


async def test_a_question_deleted_while_its_last_attempt_fails_is_not_escalated(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """Given up on after its last attempt, a message went to a person without a look at whether its
    author had deleted it meanwhile: agents tagged, and the customer told a person would follow up, under
    a question they took back."""
    running = await make_bot(slack_streaming="off", retry_attempts=1)
    # Slack holds the answer's post a while, then refuses it: the customer deletes the question meanwhile.
    slack.fail_next("chat.postMessage", error="fatal_error", hang=5.0, channel=CHANNEL)
    event = await running.customer_says("How do I reset my password?")
    await eventually(lambda: slack.calls_to("chat.postMessage"), "the answer's post")
    await customer_deletes(running, event)
    await running.idle(PATIENCE_SECONDS * 2)

    assert running.replies(event) == []  # no escalation under the deleted question
    [decision] = await rows(running.store)
    assert decision["withdrawn"] and decision["input_tokens"] > 0  # the answer made, on record for its cost
    [claimed] = await rows(running.store, inbound_messages)
    assert claimed["state"] == "done"
