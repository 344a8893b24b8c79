"""An escalation (or a customer waiting on the agent who holds their thread) an agent answered while no
bot was up (no event brought the reply, and the catch-up does not read back that far) is not brought up
again: the reminder looks in its thread first. A wait nobody answered outlives the restart."""

from __future__ import annotations

import time

from bot.stats import build_report, parse_arguments
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL
from tests.bot.test_catch_up import away, settled
from tests.bot.test_dm_escalations import escalated_dm, notices
from tests.bot.test_handoffs import AGENT, AGENTS_CHANNEL, escalate, taken_over
from tests.bot.test_reminders import later
from tests.fakes import FakeAnthropic, FakeSlack


async def test_an_agents_reply_no_event_brought_while_the_bot_was_away_ends_the_wait(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """The agent answered while no bot was up, in a thread older than the catch-up reads back: the first
    look after the start reads the thread before tagging every agent for a customer one of them has."""
    first = await make_bot(agent_users=[AGENT])
    event = await escalate(first, anthropic_api)
    await away(first)
    slack.add_message(CHANNEL, f"{time.time():.6f}", AGENT, "Hi! Which order is this?", thread_ts=event["ts"])
    second = await make_bot(agent_users=[AGENT])
    await settled(second)
    assert await second.bot.reminders.remind(later(31)) == 0
    assert len(second.replies(event)) == 1  # the escalation alone, no reminder under the agent's reply
    thread = await second.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and thread.taken_over_by == AGENT
    report = await build_report(second.store, parse_arguments("24h"))
    assert report.awaiting_agents == 0


async def test_a_dm_an_agent_took_up_while_the_bot_was_away_is_not_brought_up_again(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    first = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    _event, notice_ts = await escalated_dm(first, anthropic_api)
    await away(first)
    slack.add_message(AGENTS_CHANNEL, f"{time.time():.6f}", AGENT, "I'll DM them", thread_ts=notice_ts)
    second = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL, catch_up_hours=0)
    await settled(second)
    assert await second.bot.reminders.remind(later(31)) == 0
    assert len(notices(slack)) == 1


async def test_a_customer_waiting_on_the_agent_who_holds_their_thread_still_waits_after_a_restart(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    first = await make_bot(agent_users=[AGENT])
    event = await taken_over(first, anthropic_api)
    await first.customer_says("hello? any news?", thread_ts=event["ts"])
    await away(first)
    second = await make_bot(agent_users=[AGENT])
    await settled(second)
    assert await second.bot.reminders.remind(later(31)) == 1
    assert second.replies(event)[-1]["text"].startswith(f"<@{AGENT}>: the customer has written again")


async def test_a_customer_an_agent_answered_while_the_bot_was_away_is_not_brought_up(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    first = await make_bot(agent_users=[AGENT])
    event = await taken_over(first, anthropic_api)
    await first.customer_says("hello? any news?", thread_ts=event["ts"])
    await away(first)
    slack.add_message(CHANNEL, f"{time.time():.6f}", AGENT, "Refunded, sorry!", thread_ts=event["ts"])
    second = await make_bot(agent_users=[AGENT], catch_up_hours=0)
    second._ts = first._ts  # its messages come after the first's
    await settled(second)
    assert await second.bot.reminders.remind(later(31)) == 0
    assert len(second.replies(event)) == 1  # the escalation alone
    await second.customer_says("thanks! one more thing", thread_ts=event["ts"])
    await second.idle()
    assert await second.bot.reminders.remind(later(32)) == 1  # that reply ended the wait: a new one began
