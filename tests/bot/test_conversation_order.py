"""One conversation at a time per thread (or DM): a customer's quick second message waits for the
bot's answer to the first, and is answered knowing it, or left to a person the first was handed to."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from bot.reply_metadata import reply_metadata
from bot.store.records import InboundMessage
from bot.store.tables.messages import inbound_messages
from bot.turns import ORDER_POLL_SECONDS, ORDER_WAIT_SECONDS
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, CUSTOMER, RunningBot
from tests.fakes import FakeAnthropic, FakeSlack
from tests.store.samples import decision

AGENT = "U0AGENT"


def unsure(text: str, categories: list[str]) -> dict[str, Any]:
    return {"category": "Refund Request", "confidence": 0.3, "reasoning": "unsure", "wants_human": False}


def written(running: RunningBot, text: str) -> InboundMessage:
    """A customer's message in the channel, in Slack: no event of it has come yet."""
    first = InboundMessage(
        team_id=running.slack.team_id,
        channel_id=CHANNEL,
        ts=running.next_ts(),
        user_id=CUSTOMER,
        text="The app crashes",
    )
    running.slack.add_message(CHANNEL, first.ts, CUSTOMER, text)
    return first


async def claimed_elsewhere(running: RunningBot, text: str) -> InboundMessage:
    """A customer's message in the channel, claimed (and still held) by another replica."""
    first = written(running, text)
    assert await running.store.claim(first, lease_seconds=60)
    return first


async def answered_elsewhere(running: RunningBot, first: InboundMessage) -> None:
    """The other replica's answer to ``first``, in its thread, as it records it once posted."""
    slack = running.slack
    reply = slack.add_message(
        CHANNEL,
        None,
        slack.bot_user_id,
        "Which app version?",
        thread_ts=first.ts,
        metadata=reply_metadata(first),
    )
    answered = decision(query="The app crashes", escalated=False, escalation_reason=None)
    await running.store.complete(first, answered, reply["ts"])


async def test_a_second_message_sent_while_the_first_is_escalated_is_left_to_the_agents(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = unsure
    anthropic_api.classify_latency = 0.5
    event = await running.customer_says("about my order")
    await asyncio.sleep(0.1)  # the first message is still being classified
    second = await running.customer_says("it's order 1234, I paid twice", thread_ts=event["ts"])
    await running.idle()
    [notice] = running.replies(event)  # the escalation, and no answer to the second message
    assert f"<@{AGENT}>" in notice["text"]
    assert len(anthropic_api.bodies("classify")) == 1
    async with running.store.engine.connect() as conn:
        state = (
            await conn.execute(select(inbound_messages.c.state).where(inbound_messages.c.ts == second["ts"]))
        ).scalar_one()
    assert state == "left"  # closed, not pending: no restart answers it later
    thread = await running.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and thread.escalated


async def test_quick_direct_messages_are_answered_in_order_each_knowing_the_answer_before(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot()
    anthropic_api.first_token_latency = 0.3
    await running.customer_says("The app crashes when I upload photos", channel="D0DM", channel_type="im")
    await asyncio.sleep(0.05)
    await running.customer_says("It's version 4.2 on Android 14", channel="D0DM", channel_type="im")
    await running.idle()
    first, second = anthropic_api.bodies("answer")
    assert "Android 14" in first["messages"][-1]["content"] or "Android" not in str(first["messages"])
    assert "Android 14" in second["messages"][-1]["content"]
    assert any(m["role"] == "assistant" for m in second["messages"])  # the first answer, as the bot's


async def test_in_a_dm_a_second_message_after_an_escalation_reaches_the_agents_too(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """Agents cannot read a DM: what the customer adds there must reach them in their channel, not be
    left in the DM as a thread's follow-up would be left in the agents' thread."""
    running = await make_bot(agent_users=[AGENT], escalation_channel="C0AGENTS")
    anthropic_api.classify_fn = unsure
    anthropic_api.classify_latency = 0.5
    await running.customer_says("about my order", channel="D0DM", channel_type="im")
    await asyncio.sleep(0.1)  # the first message is still being classified
    await running.customer_says("it's order 1234, I paid twice", channel="D0DM", channel_type="im")
    await running.idle()
    notices = [
        c.params["text"] for c in slack.calls_to("chat.postMessage") if c.params["channel"] == "C0AGENTS"
    ]
    assert len(notices) == 2 and "order 1234" in notices[1]
    async with running.store.engine.connect() as conn:
        states = (await conn.execute(select(inbound_messages.c.state))).scalars().all()
    assert states == ["done", "done"]


async def test_a_follow_up_waits_for_the_earlier_message_another_replica_is_answering(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot()
    # Another replica, on the same database, claimed the first message and is still answering it.
    first = await claimed_elsewhere(running, "The app crashes when I upload photos")
    root = first.ts
    await running.customer_says("It's version 4.2 on Android 14", thread_ts=root)
    await asyncio.sleep(3 * ORDER_POLL_SECONDS)
    assert anthropic_api.bodies() == []  # the follow-up waits its turn
    await answered_elsewhere(running, first)
    await running.idle()
    [answer] = anthropic_api.bodies("answer")
    assert [m["role"] for m in answer["messages"]] == ["user", "assistant", "user"]
    assert answer["messages"][1]["content"] == "Which app version?"


async def test_an_earlier_message_back_from_a_retry_goes_first_and_the_later_one_does_not_stall(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot()
    event = await running.customer_says("The app crashes when I upload photos")
    await running.idle()
    # A follow-up whose first attempt failed: pending in the store, to be tried again shortly.
    ts = running.next_ts()
    slack.add_message(CHANNEL, ts, CUSTOMER, "It's version 4.2", thread_ts=event["ts"])
    earlier = InboundMessage(
        team_id=slack.team_id,
        channel_id=CHANNEL,
        ts=ts,
        user_id=CUSTOMER,
        text="It's version 4.2",
        thread_ts=event["ts"],
    )
    assert await running.store.claim(earlier, lease_seconds=60)
    await running.store.fail(earlier, "Slack was down", retry_in_seconds=0.3)
    started = asyncio.get_running_loop().time()
    await running.customer_says("on Android 14", thread_ts=event["ts"])
    await asyncio.sleep(0.5)
    await running.bot.worker.recover()  # if its recovery pass has not taken it already
    await running.idle()
    _first, retried, later = anthropic_api.bodies("answer")
    assert retried["messages"][-1]["content"].endswith("It's version 4.2")
    assert later["messages"][-1]["content"].endswith("on Android 14")
    assert "version 4.2" in str(later["messages"][:-1])  # answered after it, knowing it
    assert asyncio.get_running_loop().time() - started < ORDER_WAIT_SECONDS / 3


async def test_quick_follow_ups_are_answered_each_knowing_which_answer_went_with_which_question(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    """M1, then M2 and M3 before any answer: Slack has M1 M2 A1 A2 M3 in ts order, but Claude must read
    each answer after its own question, or it cannot tell what "version 4.2" was an answer to."""
    running = await make_bot()
    anthropic_api.first_token_latency = 0.3
    anthropic_api.answer_fn = lambda body: "Answer to: " + body["messages"][-1]["content"]
    first = await running.customer_says("The app crashes when I upload photos")
    await asyncio.sleep(0.02)
    await running.customer_says("It's version 4.2", thread_ts=first["ts"])
    await asyncio.sleep(0.02)
    await running.customer_says("on Android 14", thread_ts=first["ts"])
    await running.idle()
    third = anthropic_api.bodies("answer")[2]
    assert [(m["role"], m["content"]) for m in third["messages"]] == [
        ("user", "The app crashes when I upload photos"),
        ("assistant", "Answer to: The app crashes when I upload photos"),
        ("user", "It's version 4.2"),
        ("assistant", "Answer to: It's version 4.2"),
        ("user", "on Android 14"),
    ]


async def test_a_reply_naming_no_message_of_the_thread_keeps_its_place(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """The answer to the root moves up next to it; a reply to a message deleted since stays where it is."""
    running = await make_bot()
    first = await claimed_elsewhere(running, "The app crashes")
    root = first.ts
    slack.add_message(CHANNEL, running.next_ts(), CUSTOMER, "It's version 4.2", thread_ts=root)
    gone = first.model_copy(update={"ts": f"{float(root) + 0.5:.6f}"})
    for text, about in (("About your deleted message: noted.", gone), ("Which app version?", first)):
        reply = slack.add_message(
            CHANNEL, None, slack.bot_user_id, text, thread_ts=root, metadata=reply_metadata(about)
        )
    answered = decision(query="The app crashes", escalated=False, escalation_reason=None)
    await running.store.complete(first, answered, reply["ts"])
    await running.customer_says("And on Android 14?", thread_ts=root)
    await running.idle()
    [answer] = anthropic_api.bodies("answer")
    assert [(m["role"], m["content"]) for m in answer["messages"]] == [
        ("user", "The app crashes"),
        ("assistant", "Which app version?"),
        ("user", "It's version 4.2"),
        ("assistant", "About your deleted message: noted."),
        ("user", "And on Android 14?"),
    ]


async def test_three_quick_direct_messages_keep_each_answer_after_its_question(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    """In a DM each message is its own thread, and its answer is found by the metadata naming it."""
    running = await make_bot()
    anthropic_api.first_token_latency = 0.3
    anthropic_api.answer_fn = lambda body: "Answer to: " + body["messages"][-1]["content"]
    for text in ("The app crashes when I upload photos", "It's version 4.2", "on Android 14"):
        await running.customer_says(text, channel="D0DM", channel_type="im")
        await asyncio.sleep(0.02)
    await running.idle()
    third = anthropic_api.bodies("answer")[2]
    assert [(m["role"], m["content"]) for m in third["messages"]] == [
        ("user", "The app crashes when I upload photos"),
        ("assistant", "Answer to: The app crashes when I upload photos"),
        ("user", "It's version 4.2"),
        ("assistant", "Answer to: It's version 4.2"),
        ("user", "on Android 14"),
    ]
