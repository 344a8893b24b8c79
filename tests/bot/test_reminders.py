"""Escalations no agent picked up are brought up again in their thread, once; an agent ends the wait."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import reminders as reminders_module
from bot.stats import build_report, parse_arguments
from tests.bot.conftest import BotFactory
from tests.bot.test_handoffs import AGENT, escalate, hand_back, sure, taken_over, unsure
from tests.fakes import FakeAnthropic, FakeSlack
from tests.store.plans import query_plan


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


async def test_an_escalation_no_agent_answers_is_brought_up_again_once(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await escalate(running, anthropic_api)
    reminders = running.bot.reminders
    assert await reminders.remind(later(29)) == 0  # under ESCALATION_REMINDER_MINUTES (30)
    assert await reminders.remind(later(31)) == 1
    assert await reminders.remind(later(240)) == 0  # once per escalation
    replies = running.replies(event)
    assert len(replies) == 2 and replies[1]["thread_ts"] == event["ts"]
    assert replies[1]["text"] == (
        f"<@{AGENT}>: still waiting for a person after 31 minutes; no agent has replied since."
    )


async def test_an_agents_reply_ends_the_wait(make_bot: BotFactory, anthropic_api: FakeAnthropic) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await taken_over(running, anthropic_api)
    assert await running.bot.reminders.remind(later(120)) == 0
    assert len(running.replies(event)) == 1
    report = await build_report(running.store, parse_arguments("24h"))
    assert report.picked_up_within["15 min"] == 1 and report.awaiting_agents == 0  # what managers read of it


async def test_an_agent_who_writes_while_the_message_is_classified_is_not_called_to_it(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = unsure
    anthropic_api.classify_latency = 1.0
    event = await running.customer_says("hmm, about that thing from before")
    await asyncio.sleep(0.2)  # Claude is still classifying it
    await running.customer_says("I'm on it", user=AGENT, thread_ts=event["ts"])
    await running.idle()
    assert running.replies(event) == []  # no "a person will follow up", no tag: the agent is there
    assert await running.bot.reminders.remind(later(120)) == 0
    report = await build_report(running.store, parse_arguments("24h"))
    assert report.escalations == 1
    assert report.picked_up_within["15 min"] == 1 and report.awaiting_agents == 0


async def test_an_escalation_after_a_hand_back_has_a_wait_and_a_reminder_of_its_own(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await escalate(running, anthropic_api)
    reminders = running.bot.reminders
    assert await reminders.remind(later(31)) == 1
    await running.customer_says("Sorted, thanks for waiting", user=AGENT, thread_ts=event["ts"])
    await running.idle()
    await hand_back(running, event)
    await running.customer_says("one more thing, about another order", thread_ts=event["ts"])
    await running.idle()
    assert await reminders.remind(later(20)) == 0  # the new escalation's wait starts now
    assert await reminders.remind(later(31)) == 1
    # The agent's words are in the thread, above: the reminder does not say nobody ever replied there.
    assert running.replies(event)[-1]["text"] == (
        f"<@{AGENT}>: still waiting for a person after 31 minutes; no agent has replied since."
    )


async def test_answered_threads_and_escalated_dms_get_no_reminder(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = sure
    answered = await running.customer_says("I was charged twice, I want my money back")
    anthropic_api.classify_fn = unsure
    dm = await running.customer_says("hmm, that thing", channel="D0DM", channel_type="im")
    await running.idle()
    assert await running.bot.reminders.remind(later(600)) == 0
    assert len(running.replies(answered)) == 1 and len(running.replies(dm)) == 1


@pytest.mark.parametrize("refusal", ["not_in_channel", "channel_not_found"])
async def test_a_reminder_slack_refuses_is_tried_again_at_the_next_look(
    make_bot: BotFactory,
    slack: FakeSlack,
    anthropic_api: FakeAnthropic,
    caplog: pytest.LogCaptureFixture,
    refusal: str,
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await escalate(running, anthropic_api)
    slack.fail_next("chat.postMessage", error=refusal)
    with caplog.at_level(logging.WARNING):
        assert await running.bot.reminders.remind(later(31)) == 0
    assert any("could not remind the agents" in r.getMessage() for r in caplog.records)
    reads = len(slack.calls_to("conversations.replies"))
    assert await running.bot.reminders.remind(later(32)) == 1
    assert len(running.replies(event)) == 2
    # Slack said it posted nothing: the thread is not read for it first.
    assert len(slack.calls_to("conversations.replies")) == reads


@pytest.mark.parametrize("posted", [True, False], ids=["posted-then-500", "not-posted"])
async def test_a_reminder_slack_answers_500_for_is_in_the_thread_once(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic, posted: bool
) -> None:
    """A 5xx does not say whether Slack posted the reminder (slack_sdk does not send a post again on one):
    the next look reads the thread for it, by the metadata naming its escalation, and posts it only if
    it is not there."""
    running = await make_bot(agent_users=[AGENT])
    event = await escalate(running, anthropic_api)
    slack.fail_next("chat.postMessage", status=500, after_applying=posted)
    reminders = running.bot.reminders
    assert await reminders.remind(later(31)) == 0
    assert await reminders.remind(later(32)) == (0 if posted else 1)
    assert await reminders.remind(later(240)) == 0
    [_, reminder] = running.replies(event)
    assert reminder["text"].startswith(f"<@{AGENT}>: still waiting for a person after")


async def test_a_reminder_slack_posted_but_never_answered_for_is_not_posted_again(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await escalate(running, anthropic_api)
    running.bot.client.timeout = 1  # the bot gives up on Slack's answer before it comes
    slack.fail_next("chat.postMessage", after_applying=True, hang=60)
    reminders = running.bot.reminders
    assert await reminders.remind(later(31)) == 0
    # The thread cannot be read at the next look: nothing is posted blind, the look after reads it.
    slack.fail_next("conversations.replies", error="internal_error")
    assert await reminders.remind(later(32)) == 0
    assert await reminders.remind(later(33)) == 0
    assert await reminders.remind(later(240)) == 0
    assert len(running.replies(event)) == 2


async def test_reminders_are_off_at_zero_minutes(make_bot: BotFactory, anthropic_api: FakeAnthropic) -> None:
    running = await make_bot(agent_users=[AGENT], escalation_reminder_minutes=0)
    assert not running.bot.reminders.enabled
    assert all(task.get_name() != "escalation reminders" for task in asyncio.all_tasks())


async def test_the_look_reads_only_the_escalations_waiting(make_bot: BotFactory) -> None:
    running = await make_bot()
    plan = await query_plan(running.store, running.store.awaiting_agents_statement(later(0)))
    assert "ix_threads_awaiting_agent" in plan


async def test_the_running_bot_looks_by_itself_and_stops_between_looks(
    make_bot: BotFactory, anthropic_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reminders_module, "LOOK_INTERVAL_SECONDS", 0.05)
    running = await make_bot(agent_users=[AGENT], escalation_reminder_minutes=0.002)  # 0.12 s
    event = await escalate(running, anthropic_api)
    deadline = time.monotonic() + 10
    while len(running.replies(event)) < 2:
        assert time.monotonic() < deadline, "the bot never reminded the agents by itself"
        await asyncio.sleep(0.02)
    await asyncio.wait_for(running.bot.reminders.stop(), timeout=2)
    assert all(task.get_name() != "escalation reminders" for task in asyncio.all_tasks())


async def test_a_one_minute_wait_is_said_in_the_singular(
    store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.escalation_messages import reminder_text
    from bot.settings import Settings

    assert reminder_text("<!here>", timedelta(seconds=70)).endswith(
        "after 1 minute; no agent has replied since."
    )
    settings = Settings(_env_file=None, escalation_reminder_minutes=1)
    reminders = reminders_module.Reminders(store, None, settings, None)  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="bot.reminders"):
        reminders.start()
        await reminders.stop()
    assert "brought up again after 1 minute (ESCALATION_REMINDER_MINUTES" in caplog.text
