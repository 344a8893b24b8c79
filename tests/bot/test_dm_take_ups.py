"""Customers write on at the top of a DM, each escalated message with a notice of its own in the agents'
channel. An agent who replies under one of them takes the customer up: the customer's other escalations
waiting then are picked up with it (in /routing-stats, and no reminder); one made later goes to that agent
alone, and waits for them; so does what they add under any of their escalated messages."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.stats import build_report, parse_arguments
from bot.store import Store
from bot.store.awaiting import customer_picked_up
from bot.store.tables.base import utcnow
from bot.store.tables.threads import threads
from tests.bot.conftest import BotFactory
from tests.bot.harness import CUSTOMER
from tests.bot.test_dm_escalations import DM, OTHER_AGENT, escalated_dm, notices
from tests.bot.test_handoffs import AGENT, AGENTS_CHANNEL, sure, unsure
from tests.bot.test_reminders import later
from tests.fakes import FakeAnthropic, FakeSlack
from tests.store.plans import query_plan


async def test_taking_a_customer_up_under_one_notice_picks_up_their_other_escalations(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT], escalation_channel=AGENTS_CHANNEL)
    _event, first_ts = await escalated_dm(running, anthropic_api)
    await running.customer_says("hello?? is anyone there", channel=DM, channel_type="im")
    await running.idle()
    before = await build_report(running.store, parse_arguments("24h"))
    assert (before.escalations_to_pick_up, before.picked_up, before.awaiting_agents) == (2, 0, 2)
    await running.customer_says("I'll DM them", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=first_ts)
    await running.idle()
    # The agent writes to the customer, who waits for a person no more, whichever message they wrote.
    report = await build_report(running.store, parse_arguments("24h"))
    assert (report.escalations_to_pick_up, report.picked_up, report.awaiting_agents) == (2, 2, 0)
    assert report.picked_up_within["15 min"] == 2 and report.awaiting_since is None
    assert report.handoffs == 1  # one agent's reply, under one notice: one thread taken over
    assert await running.bot.reminders.remind(later(31)) == 0
    assert len(notices(slack)) == 2


async def test_a_dm_escalated_after_its_customer_was_taken_up_waits_for_the_agent_who_has_them(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """A message the customer writes after an agent took them up is escalated to that agent alone, and
    waits for them: its reminder tags them, not every agent, and a reply ends the wait."""
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT], escalation_channel=AGENTS_CHANNEL)
    _event, first_ts = await escalated_dm(running, anthropic_api)
    await running.customer_says("I'll DM them", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=first_ts)
    await running.idle()
    await running.customer_says("and another thing: the parcel is missing", channel=DM, channel_type="im")
    await running.idle()
    _first, second = notices(slack)
    assert f"<@{AGENT}>" in second["text"] and f"<@{OTHER_AGENT}>" not in second["text"]
    report = await build_report(running.store, parse_arguments("24h"))
    assert (report.picked_up, report.awaiting_agents) == (1, 1)
    assert await running.bot.reminders.remind(later(31)) == 1
    reminder = notices(slack)[-1]
    assert reminder["thread_ts"] == second["ts"]
    assert reminder["text"].startswith(f"<@{AGENT}>: <@{CUSTOMER}> has been waiting for a person")
    assert f"<@{OTHER_AGENT}>" not in reminder["text"]
    await running.customer_says("on it", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=second["ts"])
    await running.idle()
    report = await build_report(running.store, parse_arguments("24h"))
    assert (report.picked_up, report.awaiting_agents, report.handoffs) == (2, 0, 2)


async def test_what_a_customer_adds_under_a_notice_nobody_replied_under_goes_to_the_agent_who_has_them(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """The customer replies under their first message in the DM, whose notice nobody replied under: an
    agent took them up under their second one, and is the one tagged, in the first notice's thread."""
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT], escalation_channel=AGENTS_CHANNEL)
    event, first_ts = await escalated_dm(running, anthropic_api)
    await running.customer_says("hello?? is anyone there", channel=DM, channel_type="im")
    await running.idle()
    _first, second = notices(slack)
    await running.customer_says("I'll DM them", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=second["ts"])
    await running.idle()
    anthropic_api.classify_fn = sure
    await running.customer_says("it's order 1234", channel=DM, channel_type="im", thread_ts=event["ts"])
    await running.idle()
    *_, follow_up = notices(slack)
    assert len(notices(slack)) == 3 and follow_up["thread_ts"] == first_ts
    assert "> it's order 1234" in follow_up["text"]
    assert f"<@{AGENT}>" in follow_up["text"] and f"<@{OTHER_AGENT}>" not in follow_up["text"]


async def test_an_agent_who_took_a_customer_up_a_day_ago_has_them_no_more(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """A day after an agent took the customer up, what the customer writes, under an escalated message or
    anew, tags every agent again: the one who had them may be off shift, and nobody else would look."""
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT], escalation_channel=AGENTS_CHANNEL)
    event, _first_ts = await escalated_dm(running, anthropic_api)
    await running.customer_says("hello?? is anyone there", channel=DM, channel_type="im")
    await running.idle()
    _first, second = notices(slack)
    await running.customer_says("I'll DM them", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=second["ts"])
    await running.idle()
    async with running.store.engine.begin() as conn:
        await conn.execute(update(threads).values(taken_over_at=utcnow() - timedelta(hours=25)))
    anthropic_api.classify_fn = sure
    await running.customer_says("it's order 1234", channel=DM, channel_type="im", thread_ts=event["ts"])
    await running.idle()
    anthropic_api.classify_fn = unsure
    await running.customer_says("still nothing, a day later", channel=DM, channel_type="im")
    await running.idle()
    _, _, added, anew = notices(slack)
    for notice in (added, anew):
        assert f"<@{AGENT}>" in notice["text"] and f"<@{OTHER_AGENT}>" in notice["text"]


async def test_a_customers_escalations_are_found_through_the_threads_key(store: Store) -> None:
    """Every agent's reply under a notice looks for the DM's other escalations: through the key of
    threads (team, channel, thread), not a scan of every thread."""
    plan = await query_plan(store, customer_picked_up("T1", DM, 0.0))
    # SQLite names a unique constraint's index itself; PostgreSQL by our naming convention.
    assert "(team_id=? AND channel_id=?)" in plan or "uq_threads_team_id_channel_id_thread_ts" in plan
