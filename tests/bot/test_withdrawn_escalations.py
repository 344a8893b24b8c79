"""A customer who deletes an escalated message takes its words back from the agents too: the notice of an
escalated DM in the agents' channel no longer quotes them (nor the classifier's reasoning, which may repeat
them), and says the customer deleted the message, its tags, guess and controls kept; an escalation in the
customer's own thread loses its reasoning. Slack's retry of the deletion edits nothing again, and a refusal
of the edit is logged, never raised."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.formatting import CONTROLS_BLOCK
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, RunningBot
from tests.bot.test_dm_escalations import DM, OTHER_AGENT, notices
from tests.bot.test_handoffs import AGENT, AGENTS_CHANNEL, sure
from tests.bot.test_reminders import later
from tests.bot.test_withdrawn_messages import customer_deletes
from tests.fakes import FakeAnthropic, FakeSlack

WORDS = "hmm, about that thing from before: my card ending 4242, order 1234"
MORE_WORDS = "and my address is 1 Main Street"
DELETED = "> _The customer deleted this message._"


def echoing(text: str, categories: list[str]) -> dict[str, Any]:
    """Unsure, with reasoning that repeats the customer's words, as Claude's often does."""
    return {
        "category": "Refund Request",
        "confidence": 0.4,
        "reasoning": f"The customer says: {text}",
        "wants_human": False,
    }


async def escalated_dm(running: RunningBot, anthropic_api: FakeAnthropic) -> tuple[dict[str, Any], str]:
    """A DM the classifier is unsure of, whose reasoning repeats it; its event and its notice's ts."""
    anthropic_api.classify_fn = echoing
    event = await running.customer_says(WORDS, channel=DM, channel_type="im")
    await running.idle()
    [notice] = notices(running.slack)
    assert "4242" in notice["text"] and "The customer says" in notice["text"]
    return event, notice["ts"]


def shown(message: dict[str, Any]) -> str:
    """What a message shows: its blocks' text (what agents read), and its text (notifications, search)."""
    blocks = message.get("blocks") or []
    return "\n".join([message.get("text") or "", *(str(b.get("text", {}).get("text", "")) for b in blocks)])


def has_controls(message: dict[str, Any]) -> bool:
    return any(str(b.get("block_id", "")).startswith(CONTROLS_BLOCK) for b in message.get("blocks") or [])


def edits(slack: FakeSlack) -> int:
    return len([c for c in slack.calls_to("chat.update") if c.ok])


@pytest.mark.parametrize("tombstone", [True, False], ids=["tombstone", "message_deleted"])
async def test_a_deleted_dm_is_no_longer_quoted_in_its_notice(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic, tombstone: bool
) -> None:
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT], escalation_channel=AGENTS_CHANNEL)
    event, notice_ts = await escalated_dm(running, anthropic_api)
    await customer_deletes(running, event, tombstone=tombstone)
    await running.idle()
    [notice] = notices(slack)  # edited in place: nothing posted, nobody tagged again
    assert notice["ts"] == notice_ts and notice.get("edited")
    text = shown(notice)
    assert "4242" not in text and "order 1234" not in text and "The customer says" not in text
    assert DELETED in notice["text"]
    # What agents need to act stays: who is tagged, the guess, who the customer is, the controls.
    assert f"<@{AGENT}>" in notice["text"] and "*Best guess:* Refund Request" in notice["text"]
    assert f"<@{event['user']}> wrote to the bot in a direct message" in notice["text"]
    assert has_controls(notice)
    assert notice["metadata"]["event_payload"] == {"channel": DM, "message_ts": event["ts"]}


async def test_slack_telling_the_deletion_again_edits_nothing_more(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """Another replica hears of the retry: nothing in memory, the notice itself says it is done."""
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    other = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    event, _ = await escalated_dm(running, anthropic_api)
    body = await customer_deletes(running, event, tombstone=True)
    await running.idle()
    assert edits(slack) == 1
    assert (await other.send(body, retry_num=1))[0] == 200
    await other.idle()
    assert edits(slack) == 1
    assert notices(slack)[0]["text"].count(DELETED) == 1


async def test_a_later_notice_under_the_first_is_the_one_edited_for_its_message(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """What the customer adds under an escalated DM goes under its notice, quoted: deleting it takes its
    words out of that notice alone, and the first keeps the message that stays."""
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    event, notice_ts = await escalated_dm(running, anthropic_api)
    anthropic_api.classify_fn = sure
    added = await running.customer_says(MORE_WORDS, channel=DM, channel_type="im", thread_ts=event["ts"])
    await running.idle()
    first, second = notices(slack)
    assert second["thread_ts"] == notice_ts and "1 Main Street" in second["text"]
    await customer_deletes(running, added)
    await running.idle()
    first, second = notices(slack)
    assert "1 Main Street" not in shown(second) and DELETED in second["text"] and has_controls(second)
    assert "4242" in first["text"] and DELETED not in first["text"] and not first.get("edited")
    assert edits(slack) == 1


async def test_a_notice_that_quoted_nothing_is_left_as_it_is(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    # No agents' channel: the notice is in a support channel customers read, without the words.
    running = await make_bot(agent_users=[AGENT], support_channels=[CHANNEL])
    anthropic_api.classify_fn = echoing
    event = await running.customer_says(WORDS, channel=DM, channel_type="im")
    await running.idle()
    [notice] = [m for m in slack.messages(CHANNEL) if m.get("user") == slack.bot_user_id]
    assert "4242" not in shown(notice)
    await customer_deletes(running, event, tombstone=True)
    await running.idle()
    assert slack.calls_to("chat.update") == []


async def test_deleting_an_answered_dm_changes_nothing_for_the_agents(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    event, _ = await escalated_dm(running, anthropic_api)
    anthropic_api.classify_fn = sure
    answered = await running.customer_says("how do refunds work?", channel=DM, channel_type="im")
    await running.idle()
    await customer_deletes(running, answered, tombstone=True)
    await running.idle()
    assert slack.calls_to("chat.update") == []
    assert "4242" in notices(slack)[0]["text"] and len(notices(slack)) == 1
    # An answered message in a thread that has a notice: that notice is not its, and stays.
    thanks = await running.customer_says("thanks!", channel=DM, channel_type="im", thread_ts=event["ts"])
    await running.idle()
    await customer_deletes(running, thanks)
    await running.idle()
    assert not any(DELETED in m["text"] for m in notices(slack))


@pytest.mark.parametrize("error", ["message_not_found", "cant_update_message", "ratelimited"])
async def test_an_edit_slack_refuses_is_logged_without_the_words(
    make_bot: BotFactory,
    slack: FakeSlack,
    anthropic_api: FakeAnthropic,
    caplog: pytest.LogCaptureFixture,
    error: str,
) -> None:
    """Refused for good, or rate-limited past slack_sdk's retries (HTTP 429 each time)."""
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    event, _ = await escalated_dm(running, anthropic_api)
    if error == "ratelimited":
        slack.fail_next("chat.update", status=429, retry_after=0, count=10)
    else:
        slack.fail_next("chat.update", error=error)
    caplog.set_level(logging.INFO)
    await customer_deletes(running, event, tombstone=True)
    await running.idle()
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert error in warning.getMessage() and "4242" not in warning.getMessage()
    assert warning.name == "bot.withdrawn_escalations"
    assert not any("4242" in r.getMessage() for r in caplog.records)
    assert "4242" in notices(slack)[0]["text"]  # left as it was; the wait is ended all the same
    assert await running.bot.reminders.remind(later(31)) == 0


@pytest.mark.parametrize("tombstone", [True, False], ids=["tombstone", "message_deleted"])
async def test_an_escalation_in_the_customers_thread_loses_its_reasoning(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic, tombstone: bool
) -> None:
    """It quotes nothing the customer wrote, but the classifier's reasoning may, for everyone in the
    channel: it goes; what the customer was told, the tags, guess and controls stay."""
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = echoing
    event = await running.customer_says(WORDS)
    await running.idle()
    [escalation] = running.replies(event)
    assert "The customer says" in shown(escalation)
    body = await customer_deletes(running, event | {"thread_ts": event["ts"]}, tombstone=tombstone)
    await running.idle()
    [escalation] = running.replies(event)
    assert "4242" not in shown(escalation) and "Reasoning" not in shown(escalation)
    assert f"<@{AGENT}>" in escalation["text"] and "*Best guess:* Refund Request" in escalation["text"]
    assert has_controls(escalation) and escalation["metadata"]["event_payload"]["message_ts"] == event["ts"]
    assert (await running.send(body, retry_num=1))[0] == 200
    await running.idle()
    assert edits(slack) == 1
