"""A hand-back holds, and so does a re-route that gives the thread back: an agent's message written in the
thread before it, brought only after it (the catch-up at a restart, a late event), does not take the
thread over again."""

from __future__ import annotations

import time

from bot.control_replies import HANDED_BACK_UNTOLD
from bot.formatting import ACTION_HAND_BACK, ACTION_REROUTE
from bot.reply_metadata import reply_payload
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, CUSTOMER
from tests.bot.test_catch_up import ago, away, settled, started
from tests.bot.test_feedback_actions import click, press
from tests.bot.test_handoffs import AGENT, bot_free_again, escalate, hand_back, sure, taken_over
from tests.fakes import FakeAnthropic, FakeSlack
from tests.fakes.slack_signing import event_callback, message_event


async def test_a_thread_handed_back_stays_the_bots_after_a_restart(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    first = await started(make_bot, agent_users=[AGENT])
    first._ts = time.time() - 60  # a restart soon after: the catch-up reads the thread again
    event = await taken_over(first, anthropic_api, "I've refunded you, it shows in 3 days", "about my order")
    await hand_back(first, event)
    await away(first)
    asked = len(anthropic_api.bodies("answer"))
    second = await started(make_bot, agent_users=[AGENT])
    second._ts = first._ts
    await settled(second)
    # The agent is not told the bot steps aside for their reply of before.
    assert slack.calls_to("chat.postEphemeral") == []
    assert len(anthropic_api.bodies("answer")) == asked
    anthropic_api.classify_fn = sure
    await second.customer_says("one more thing: can I change the card it goes to?", thread_ts=event["ts"])
    await second.idle()
    _escalation, note, answer = second.replies(event)
    assert note["text"] == f"<@{AGENT}> handed this thread back to the bot; it will answer the next message."
    assert answer["text"].startswith("**Answer**")
    assert len(anthropic_api.bodies("answer")) == asked + 1


async def test_an_agents_reply_whose_event_comes_after_the_hand_back_does_not_take_the_thread_again(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await escalate(running, anthropic_api, "about my order")
    # Written, then the button pressed; Slack's first delivery of the reply failed, and its retry comes now.
    ts = running.next_ts()
    text = "Done, handing you back to the bot"
    slack.add_message(CHANNEL, ts, AGENT, text, thread_ts=event["ts"])
    await hand_back(running, event)
    late = message_event(text, CHANNEL, AGENT, ts, thread_ts=event["ts"])
    assert (await running.send(event_callback(late), retry_num=1))[0] == 200
    await running.idle()
    thread = await running.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and not thread.bot_silent
    anthropic_api.classify_fn = sure
    await running.customer_says("and when will I get it?", thread_ts=event["ts"])
    await running.idle()
    assert running.replies(event)[-1]["text"].startswith("**Answer**")


async def test_a_thread_an_agent_re_routed_stays_the_bots_after_a_restart(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    first = await started(make_bot, agent_users=[AGENT])
    first._ts = time.time() - 60
    event = await taken_over(first, anthropic_api, "Let me get you the right answer")
    await press(first, event, ACTION_REROUTE, AGENT, "rr", "Technical Support")
    await bot_free_again(first, event)
    await first.idle()
    await away(first)
    second = await started(make_bot, agent_users=[AGENT])
    second._ts = first._ts
    await settled(second)
    thread = await second.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and not thread.bot_silent
    assert slack.calls_to("chat.postEphemeral") == []
    anthropic_api.classify_fn = sure
    await second.customer_says("that worked, and how do I stay logged in?", thread_ts=event["ts"])
    await second.idle()
    _escalation, _rerouted, answer = second.replies(event)
    assert answer["text"].startswith("**Answer**")


async def test_an_agent_whose_hand_back_note_slack_refuses_is_told_the_thread_is_handed_back(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    # Without a word, the click looked like it did nothing; pressed again, it said there was nothing to
    # hand back.
    running = await make_bot(agent_users=[AGENT])
    event = await escalate(running, anthropic_api, "about my order")
    slack.fail_next("chat.postMessage", error="restricted_action", channel=CHANNEL)
    answer = await click(running, event, ACTION_HAND_BACK, AGENT, "hand back")
    assert answer["text"] == HANDED_BACK_UNTOLD
    thread = await running.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and not thread.bot_silent
    assert len(running.replies(event)) == 1  # the escalation; no note


async def test_a_customers_message_written_as_the_agent_handed_back_is_still_answered(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    # The agent may not have seen it: a customer left unanswered is the worse mistake.
    running = await make_bot(agent_users=[AGENT])
    event = await escalate(running, anthropic_api, "about my order")
    ts = running.next_ts()
    text = "also, can I change the delivery address?"
    slack.add_message(CHANNEL, ts, CUSTOMER, text, thread_ts=event["ts"])
    await hand_back(running, event)
    anthropic_api.classify_fn = sure
    late = message_event(text, CHANNEL, CUSTOMER, ts, thread_ts=event["ts"])
    assert (await running.send(event_callback(late)))[0] == 200
    await running.idle()
    assert running.replies(event)[-1]["text"].startswith("**Answer**")


async def test_what_a_customer_wrote_while_an_agent_had_the_thread_is_theirs_after_restarts_too(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    # The catch-up reads a thread from the last message the bot took there: it found again what the
    # customer said to the agent, and answered it once the thread was handed back.
    first = await started(make_bot, agent_users=[AGENT])
    first._ts = time.time() - 60
    event = await taken_over(first, anthropic_api, "Refunded, it shows in 3 days", "about my order")
    await first.customer_says("thanks! and is there a fee?", thread_ts=event["ts"])
    await first.idle()
    await away(first)
    slack.add_message(CHANNEL, ago(1), CUSTOMER, "hello? still there?", thread_ts=event["ts"])
    anthropic_api.classify_fn = sure
    answers = len(anthropic_api.bodies("answer"))
    second = await started(make_bot, agent_users=[AGENT])
    second._ts = time.time()  # the agent hands back after what the customer wrote while the bot was away
    await settled(second)
    assert len(second.replies(event)) == 1  # the escalation: the agent has the thread
    await hand_back(second, event)
    await away(second)
    later_ts = second.next_ts()
    slack.add_message(CHANNEL, later_ts, CUSTOMER, "one more: can I change the card?", thread_ts=event["ts"])
    third = await started(make_bot, agent_users=[AGENT])
    await settled(third)
    # Only what the customer wrote after the hand-back is the bot's, written while it was away or not.
    _escalation, note, answer = third.replies(event)
    assert note["text"].startswith(f"<@{AGENT}> handed this thread back")
    assert reply_payload(answer)["message_ts"] == later_ts
    assert len(anthropic_api.bodies("answer")) == answers + 1
