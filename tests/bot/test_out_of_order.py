"""Slack does not deliver events in order: a customer's reply in their own thread that comes before the
thread's first message waits for it, and is answered as soon as that is, after it and knowing its answer.

The bots here look for stale messages once an hour: a reply answered here was released by the first
message being handled, not by a recovery pass (unless the test runs one itself)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot import turns
from bot.reply_metadata import reply_payload
from bot.store.tables.messages import inbound_messages
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, CUSTOMER, RunningBot
from tests.bot.test_conversation_order import AGENT, answered_elsewhere, unsure, written
from tests.fakes import FakeAnthropic, FakeSlack
from tests.fakes.slack_signing import app_mention_event, event_callback, message_event

NO_RECOVERY_PASS = {"recovery_interval_seconds": 3600}


def answers_to(running: RunningBot, event: dict[str, Any]) -> list[dict[str, Any]]:
    """The bot's replies in ``event``'s thread that answer ``event`` itself."""
    return [m for m in running.replies(event) if reply_payload(m).get("message_ts") == event["ts"]]


async def state_of(running: RunningBot, event: dict[str, Any]) -> str:
    """The state of ``event``'s message in the store: 'done', 'left', 'waiting'…"""
    m = inbound_messages
    async with running.store.engine.connect() as conn:
        return str((await conn.execute(select(m.c.state).where(m.c.ts == event["ts"]))).scalar_one())


def answered_in_turn(running: RunningBot, anthropic_api: FakeAnthropic, root_ts: str, reply_ts: str) -> None:
    """The thread of ``root_ts`` holds its answer, then the reply's, once each; Claude read the reply
    with the first answer before it."""
    thread = running.replies({"channel": CHANNEL, "ts": root_ts})
    assert [reply_payload(m)["message_ts"] for m in thread] == [root_ts, reply_ts]
    first, second = anthropic_api.bodies("answer")
    assert "Android 14" not in str(first["messages"])
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]
    assert second["messages"][0]["content"] == "The app crashes when I upload photos"
    assert second["messages"][-1]["content"] == "It's version 4.2 on Android 14"


async def test_a_follow_up_delivered_before_its_threads_first_message_is_answered_after_it(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """The first message's delivery failed, and Slack sends it again a minute later, after the customer's
    follow-up in its thread. Neither is lost, each is answered once, the follow-up right after the first
    (taken by the worker that answered it, no recovery pass) and knowing its answer."""
    running = await make_bot(**NO_RECOVERY_PASS)
    root_ts = running.next_ts()
    slack.add_message(CHANNEL, root_ts, CUSTOMER, "The app crashes when I upload photos")
    follow_up = await running.customer_says(
        "It's version 4.2 on Android 14", thread_ts=root_ts, parent_user_id=CUSTOMER
    )
    # Someone else in that thread is still no business of the bot's.
    colleague = await running.customer_says(
        "same here", user="U0COLLEAGUE", thread_ts=root_ts, parent_user_id=CUSTOMER
    )
    await running.idle()
    assert anthropic_api.bodies() == []  # nothing to answer it with yet: the first message is unknown
    root = message_event("The app crashes when I upload photos", CHANNEL, CUSTOMER, root_ts)
    status, _ = await running.send(event_callback(root), retry_num=1)
    assert status == 200
    await running.idle()  # the follow-up is under way before the first message's work ends
    assert answers_to(running, colleague) == []
    answered_in_turn(running, anthropic_api, root_ts, follow_up["ts"])


async def test_a_follow_up_delivered_before_its_threads_first_message_is_left_to_the_agents_it_went_to(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """The first message, once it comes, is escalated: the follow-up that waited for it is left to the
    agents tagged in the thread (state 'left'), not answered beside the escalation."""
    running = await make_bot(agent_users=[AGENT], **NO_RECOVERY_PASS)
    anthropic_api.classify_fn = unsure
    root = written(running, "about my order")
    follow_up = await running.customer_says(
        "it's order 1234, I paid twice", thread_ts=root.ts, parent_user_id=CUSTOMER
    )
    root_event = message_event("about my order", CHANNEL, CUSTOMER, root.ts)
    status, _ = await running.send(event_callback(root_event), retry_num=1)
    assert status == 200
    await running.idle()
    [notice] = running.replies(follow_up)  # the escalation, and no answer to the follow-up
    assert f"<@{AGENT}>" in notice["text"]
    assert len(anthropic_api.bodies("classify")) == 1
    assert await state_of(running, follow_up) == "left"  # closed: no restart answers it later


async def test_a_follow_up_whose_first_message_another_replica_answers_is_not_answered_before_it(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first message came to another replica, which answers it for longer than a follow-up waits for
    an earlier message (``ORDER_WAIT_SECONDS``, none here): the reply waiting for it is not answered
    first. That replica stops once it has answered, before it takes the reply: a recovery pass here does,
    and answers it after the first answer, knowing it."""
    monkeypatch.setattr(turns, "ORDER_WAIT_SECONDS", 0.0)
    running = await make_bot(**NO_RECOVERY_PASS)
    first = written(running, "The app crashes when I upload photos")
    follow_up = await running.customer_says(
        "It's version 4.2 on Android 14", thread_ts=first.ts, parent_user_id=CUSTOMER
    )
    assert await running.store.claim(first, lease_seconds=60)  # the other replica's, answering it
    await running.bot.worker.recover()
    await running.idle()
    assert anthropic_api.bodies() == []
    await answered_elsewhere(running, first)
    await running.bot.worker.recover()
    await running.idle()
    [answer] = anthropic_api.bodies("answer")
    assert [(m["role"], m["content"]) for m in answer["messages"]][1:] == [
        ("assistant", "Which app version?"),
        ("user", "It's version 4.2 on Android 14"),
    ]
    assert len(answers_to(running, follow_up)) == 1


async def test_a_follow_up_claimed_just_after_its_first_message_was_answered_is_answered_too(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intake looked for the follow-up's thread before the first message was claimed; that was
    answered before the follow-up's claim was written, and its worker found no reply waiting. The
    follow-up does not wait for a recovery pass: its claim finds the first message answered."""
    running = await make_bot(**NO_RECOVERY_PASS)
    root = await running.customer_says("The app crashes when I upload photos")
    await running.idle()

    look = running.store.get_thread

    async def looked_before_the_first_message_was_claimed(*_: Any) -> None:
        monkeypatch.setattr(running.store, "get_thread", look)  # this look alone
        return None

    monkeypatch.setattr(running.store, "get_thread", looked_before_the_first_message_was_claimed)
    follow_up = await running.customer_says(
        "It's version 4.2 on Android 14", thread_ts=root["ts"], parent_user_id=CUSTOMER
    )
    await running.idle()
    answered_in_turn(running, anthropic_api, root["ts"], follow_up["ts"])


async def test_a_mention_in_the_customers_own_thread_the_bot_never_took_is_answered_once(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """The thread began with a bare mention (nothing to answer); the question under it mentions the bot,
    and Slack delivers it twice, as a message and as a mention, the message first. It does not wait for
    a first message that will never be claimed: the mention is its claim."""
    running = await make_bot(**NO_RECOVERY_PASS)
    root_ts = running.next_ts()
    slack.add_message(CHANNEL, root_ts, CUSTOMER, f"<@{slack.bot_user_id}>")
    ts, text = running.next_ts(), f"<@{slack.bot_user_id}> the app crashes when I upload photos"
    slack.add_message(CHANNEL, ts, CUSTOMER, text, thread_ts=root_ts)
    extra = {"thread_ts": root_ts, "parent_user_id": CUSTOMER}
    for event in (
        message_event(text, CHANNEL, CUSTOMER, ts, **extra),
        app_mention_event(text, CHANNEL, CUSTOMER, ts, **extra),
    ):
        status, _ = await running.send(event_callback(event))
        assert status == 200
    await running.idle()
    [answer] = anthropic_api.bodies("answer")
    assert answer["messages"][-1]["content"] == "the app crashes when I upload photos"
    assert len(answers_to(running, event)) == 1
