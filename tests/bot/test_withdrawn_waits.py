"""A customer who deletes the message they wait on an agent about waits no more: an escalation nobody
picked up, or what they wrote to the agent holding their thread, is not brought up
ESCALATION_REMINDER_MINUTES later about a message that is gone, whichever replica Slack tells of the
deletion, and however often. A wait about more than one message is not ended by deleting one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.conftest import BotFactory
from tests.bot.harness import RunningBot
from tests.bot.test_customers_waiting_on_an_agent import WROTE_AGAIN
from tests.bot.test_dm_escalations import DM, OTHER_AGENT, escalated_dm, notices
from tests.bot.test_handoffs import AGENT, AGENTS_CHANNEL, escalate, sure, taken_over, unsure
from tests.bot.test_reminders import later
from tests.bot.test_withdrawn_messages import customer_deletes
from tests.fakes import FakeAnthropic, FakeSlack

STILL_WAITING = f"<@{AGENT}>: still waiting for a person after 31 minutes; no agent has replied since."


async def writes_again(running: RunningBot, event: dict[str, Any], text: str) -> dict[str, Any]:
    """The customer writes ``text`` in ``event``'s thread; returns its event."""
    said = await running.customer_says(text, thread_ts=event["ts"])
    await running.idle()
    return said


@pytest.mark.parametrize("tombstone", [True, False], ids=["tombstone", "message_deleted"])
async def test_an_escalated_question_the_customer_deletes_is_not_brought_up_again(
    make_bot: BotFactory, anthropic_api: FakeAnthropic, tombstone: bool
) -> None:
    """Slack tells of a message with replies (the escalation under it) deleted by a tombstone, or by a
    ``message_deleted`` naming it as its thread's parent: either ends its wait. The other escalation,
    whose question stays, is brought up as before."""
    running = await make_bot(agent_users=[AGENT])
    withdrawn = await escalate(running, anthropic_api, "hmm, about that thing from before")
    kept = await escalate(running, anthropic_api, "hmm, about the other thing")
    await customer_deletes(running, withdrawn | {"thread_ts": withdrawn["ts"]}, tombstone=tombstone)
    await running.idle()
    reminders = running.bot.reminders
    assert await reminders.remind(later(31)) == 1
    assert await reminders.remind(later(240)) == 0
    assert len(running.replies(withdrawn)) == 1  # the escalation alone: nobody tagged again
    assert running.replies(kept)[-1]["text"] == STILL_WAITING


async def test_an_escalated_follow_up_deleted_in_its_thread_ends_the_wait(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    """The escalated message is a reply in a thread the bot answered: Slack's ``message_deleted`` names
    that thread in what the message was (``previous_message.thread_ts``)."""
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = sure
    first = await running.customer_says("I was charged twice, I want my money back")
    await running.idle()
    anthropic_api.classify_fn = unsure
    follow_up = await writes_again(running, first, "hmm, and that other thing?")
    assert len(running.replies(first)) == 2  # the answer, then the follow-up's escalation
    await customer_deletes(running, follow_up)
    await running.idle()
    assert await running.bot.reminders.remind(later(31)) == 0
    assert len(running.replies(first)) == 2


async def test_a_deletion_another_replica_hears_of_twice_ends_the_wait_everywhere(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    """The replica that escalated keeps nothing of it in memory: the store's wait ends, whichever replica
    Slack tells of the deletion, and Slack's retry of that event changes nothing more."""
    escalating = await make_bot(agent_users=[AGENT])
    other = await make_bot(agent_users=[AGENT])
    withdrawn = await escalate(escalating, anthropic_api)
    kept = await escalate(escalating, anthropic_api, "hmm, about the other thing")
    other.next_ts()  # each harness counts its own ts: not the customer's again
    other.next_ts()
    body = await customer_deletes(other, withdrawn, tombstone=True)
    assert (await other.send(body, retry_num=1))[0] == 200
    await other.idle()
    assert await other.bot.reminders.remind(later(31)) == 1  # the kept one's
    assert await escalating.bot.reminders.remind(later(32)) == 0
    assert len(escalating.replies(withdrawn)) == 1
    assert escalating.replies(kept)[-1]["text"].startswith(f"<@{AGENT}>: still waiting for a person")


async def test_a_question_deleted_after_its_reminder_leaves_what_the_customer_writes_next_waiting(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    """The thread stays with the agents (the customer was told a person would follow up): what the
    customer writes there after deleting the question waits for them from then, and is brought up once."""
    running = await make_bot(agent_users=[AGENT])
    event = await escalate(running, anthropic_api)
    reminders = running.bot.reminders
    assert await reminders.remind(later(31)) == 1
    await customer_deletes(running, event, tombstone=True)
    await running.idle()
    assert await reminders.remind(later(240)) == 0
    await writes_again(running, event, "sorry, I meant my refund for order 1234")
    assert await reminders.remind(later(29)) == 0
    assert await reminders.remind(later(31)) == 1
    assert running.replies(event)[-1]["text"] == (
        f"<@{AGENT}>: the customer has written again and waited 31 minutes; no agent has replied since."
    )


async def test_what_the_customer_wrote_to_the_agent_holding_the_thread_deleted_ends_its_wait(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT])
    withdrawn = await taken_over(running, anthropic_api, text="about my order")
    kept = await taken_over(running, anthropic_api, text="about my invoice")
    gone = await writes_again(running, withdrawn, "hello? any news?")
    await writes_again(running, kept, "hello? any news?")
    await customer_deletes(running, gone)
    await running.idle()
    reminders = running.bot.reminders
    assert await reminders.remind(later(31)) == 1
    assert await reminders.remind(later(240)) == 0
    assert all("written again" not in m["text"] for m in running.replies(withdrawn))
    assert running.replies(kept)[-1]["text"] == WROTE_AGAIN
    # The next message starts a wait of its own.
    await writes_again(running, withdrawn, "ok, one more question then")
    assert await reminders.remind(later(31)) == 1
    assert running.replies(withdrawn)[-1]["text"] == WROTE_AGAIN


async def test_a_customer_who_wrote_twice_and_deleted_one_still_waits(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    """The wait is about both messages; the store keeps no list of them, so deleting either ends
    nothing: a tag too many beats a customer forgotten."""
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT])
    event = await taken_over(running, anthropic_api)
    first = await writes_again(running, event, "it's order 1234")
    await writes_again(running, event, "and order 5678")
    await customer_deletes(running, first)
    await running.idle()
    assert await running.bot.reminders.remind(later(31)) == 1
    assert running.replies(event)[-1]["text"] == WROTE_AGAIN


async def test_an_escalation_the_customer_added_to_is_brought_up_after_one_deletion(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await escalate(running, anthropic_api)
    await writes_again(running, event, "I mean the refund for order 1234")
    await customer_deletes(running, event, tombstone=True)
    await running.idle()
    assert await running.bot.reminders.remind(later(31)) == 1
    assert running.replies(event)[-1]["text"] == STILL_WAITING


async def test_a_follow_up_written_while_the_question_was_escalated_still_waits_after_a_deletion(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    """Written while the question was being classified, the follow-up waited its turn and was left to the
    agents once the question was escalated: the wait is about both."""
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = unsure
    anthropic_api.classify_latency = 1.0
    event = await running.customer_says("hmm, about that thing from before")
    await running.customer_says("I mean the refund for order 1234", thread_ts=event["ts"])
    await running.idle()
    assert len(running.replies(event)) == 1  # the escalation; the follow-up is the agents' to read
    await customer_deletes(running, event, tombstone=True)
    await running.idle()
    assert await running.bot.reminders.remind(later(31)) == 1
    assert running.replies(event)[-1]["text"] == STILL_WAITING


async def test_an_escalated_dm_the_customer_deletes_is_not_brought_up_under_its_notice(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT], escalation_channel=AGENTS_CHANNEL)
    event, notice_ts = await escalated_dm(running, anthropic_api)
    assert event["channel"] == DM
    await customer_deletes(running, event, tombstone=True)
    await running.idle()
    assert await running.bot.reminders.remind(later(31)) == 0
    assert [m["ts"] for m in notices(slack)] == [notice_ts]  # the notice alone, nobody tagged again
