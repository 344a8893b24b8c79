"""A customer who writes again in a thread an agent holds waits for that agent: if none replies within
ESCALATION_REMINDER_MINUTES, the agents are tagged there once, the agent who has the thread named; an
agent's reply, a hand-back or a re-route ends the wait."""

from __future__ import annotations

from typing import Any

from bot.formatting import ACTION_REROUTE
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, CUSTOMER, RunningBot
from tests.bot.test_dm_escalations import DM, OTHER_AGENT, escalated_dm, notices
from tests.bot.test_feedback_actions import press
from tests.bot.test_handoffs import AGENT, AGENTS_CHANNEL, bot_free_again, hand_back, sure, taken_over
from tests.bot.test_reminders import later
from tests.fakes import FakeAnthropic, FakeSlack
from tests.fakes.slack_signing import event_callback, message_event
from tests.store.plans import query_plan

WROTE_AGAIN = (
    f"<@{AGENT}> <@{OTHER_AGENT}>: the customer has written again and waited 31 minutes; no agent has "
    f"replied since (<@{AGENT}> took this thread over)."
)


async def writes_again(running: RunningBot, event: dict[str, Any], text: str = "hello? any news?") -> None:
    """The customer writes in ``event``'s thread, which the bot leaves to the agent who has it."""
    await running.customer_says(text, thread_ts=event["ts"])
    await running.idle()


async def test_a_customer_who_writes_again_to_an_agent_gone_quiet_is_brought_up_once(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT])
    event = await taken_over(running, anthropic_api)
    reminders = running.bot.reminders
    assert await reminders.remind(later(120)) == 0  # the agent answered: nobody waits
    await writes_again(running, event)
    assert await reminders.remind(later(29)) == 0
    assert await reminders.remind(later(31)) == 1
    assert running.replies(event)[-1]["text"] == WROTE_AGAIN
    # More messages after the reminder neither start the clock again nor bring another, until an
    # agent replies: the agents were told, and a tag at each message would be the bot nagging them.
    await writes_again(running, event, "still there?")
    assert await reminders.remind(later(31)) == 0
    assert await reminders.remind(later(600)) == 0
    assert len(running.replies(event)) == 2  # the escalation and the one reminder


async def test_an_agents_reply_ends_the_wait_and_the_next_message_starts_another(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT])
    event = await taken_over(running, anthropic_api)
    reminders = running.bot.reminders
    await writes_again(running, event, "it's order 1234")
    await running.customer_says("Found it, refunding now", user=OTHER_AGENT, thread_ts=event["ts"])
    await running.idle()
    assert await reminders.remind(later(120)) == 0
    await writes_again(running, event, "thanks! and the shipping fee?")
    assert await reminders.remind(later(31)) == 1
    assert running.replies(event)[-1]["text"] == WROTE_AGAIN  # the first agent to take it over is named


async def test_a_hand_back_and_a_re_route_end_the_wait(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT])
    handed = await taken_over(running, anthropic_api, text="about my order")
    rerouted = await taken_over(running, anthropic_api, text="about my login")
    kept = await taken_over(running, anthropic_api, text="about my invoice")
    for event in (handed, rerouted, kept):
        await writes_again(running, event)
    await hand_back(running, handed)
    anthropic_api.classify_fn = sure
    await press(running, rerouted, ACTION_REROUTE, AGENT, "rr", "Technical Support")
    await bot_free_again(running, rerouted)
    await running.idle()
    assert await running.bot.reminders.remind(later(31)) == 1
    assert running.replies(kept)[-1]["text"] == WROTE_AGAIN
    assert all("written again" not in m["text"] for m in running.replies(handed) + running.replies(rerouted))


async def test_edits_and_bots_messages_start_no_wait(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT])
    event = await taken_over(running, anthropic_api)
    said = {"type": "message", "user": CUSTOMER, "ts": event["ts"], "thread_ts": event["ts"]}
    edit = {
        "type": "message",
        "subtype": "message_changed",
        "channel": CHANNEL,
        "hidden": True,
        "ts": running.next_ts(),
        "message": said | {"text": "hmm, about that order from before"},
        "previous_message": said | {"text": "hmm, about that thing from before"},
    }
    beep = message_event(
        "Ticket #42 opened", CHANNEL, "U0OTHERBOT", running.next_ts(), event["ts"], bot_id="B0"
    )
    for body in (edit, beep):
        assert (await running.send(event_callback(body)))[0] == 200
    await running.idle()
    assert await running.bot.reminders.remind(later(120)) == 0
    await writes_again(running, event)  # the customer's own words do
    assert await running.bot.reminders.remind(later(121)) == 1


async def test_a_dm_customer_who_writes_again_to_the_agent_who_took_them_up_is_brought_up_under_its_notice(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT], escalation_channel=AGENTS_CHANNEL)
    event, notice_ts = await escalated_dm(running, anthropic_api)
    await running.customer_says("I'll DM them", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=notice_ts)
    await running.idle()
    anthropic_api.classify_fn = sure
    await running.customer_says("it's order 1234", channel=DM, channel_type="im", thread_ts=event["ts"])
    await running.idle()
    reminders = running.bot.reminders
    assert await reminders.remind(later(29)) == 0
    assert await reminders.remind(later(31)) == 1
    reminder = notices(slack)[-1]
    assert reminder["thread_ts"] == notice_ts
    assert reminder["text"] == (
        f"<@{AGENT}> <@{OTHER_AGENT}>: <@{CUSTOMER}> has written again and waited 31 minutes; no agent has "
        f"replied here since (<@{AGENT}> took them up). Whoever writes to them, say so in this thread."
    )
    assert all("written again" not in m["text"] for m in running.replies(event))  # nothing in the DM
    # A reply under the notice ends the next wait.
    await running.customer_says("and the other one?", channel=DM, channel_type="im", thread_ts=event["ts"])
    await running.idle()
    await running.customer_says("On it", user=OTHER_AGENT, channel=AGENTS_CHANNEL, thread_ts=notice_ts)
    await running.idle()
    assert await reminders.remind(later(120)) == 0


async def test_a_dm_message_picked_up_with_its_customer_waits_for_the_agent_who_has_them(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """The customer adds under their first message, whose notice nobody replied under: the agent took
    them up under their second one. It waits for that agent, is brought up under the first notice, and a
    reply under either notice ends the next such wait (the agent writes to the customer)."""
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
    reminders = running.bot.reminders
    assert await reminders.remind(later(31)) == 1
    reminder = notices(slack)[-1]
    assert reminder["thread_ts"] == first_ts
    assert f"no agent has replied here since (<@{AGENT}> took them up)" in reminder["text"]
    await running.customer_says("and order 5678", channel=DM, channel_type="im", thread_ts=event["ts"])
    await running.idle()
    await running.customer_says("on both", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=second["ts"])
    await running.idle()
    await running.customer_says("and 9999?", channel=DM, channel_type="im", thread_ts=event["ts"])
    await running.idle()
    assert await reminders.remind(later(29)) == 0  # a new wait, from the last message: not due yet
    assert await reminders.remind(later(31)) == 1


async def test_a_reminder_slack_answers_500_for_is_in_the_thread_once(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT])
    event = await taken_over(running, anthropic_api)
    await writes_again(running, event)
    slack.fail_next("chat.postMessage", status=500, after_applying=True)
    reminders = running.bot.reminders
    assert await reminders.remind(later(31)) == 0
    assert await reminders.remind(later(32)) == 0  # found in the thread by its metadata
    assert await reminders.remind(later(240)) == 0
    assert [m["text"] for m in running.replies(event)[1:]] == [WROTE_AGAIN]


async def test_the_look_reads_only_the_customers_waiting(make_bot: BotFactory) -> None:
    running = await make_bot()
    plan = await query_plan(running.store, running.store.customers_waiting_statement(later(0)))
    assert "ix_threads_customer_waiting" in plan
