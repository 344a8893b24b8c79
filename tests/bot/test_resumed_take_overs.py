"""A message resumed after the bot was away (a crash, a deploy) is not answered under an agent's reply
written meanwhile, which no event brought: the agent has the thread, as their event would have made it."""

from __future__ import annotations

from bot.reply_metadata import reply_payload
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL
from tests.bot.test_handoffs import AGENT, hand_back, sure
from tests.bot.test_security_and_recovery import _dead_process_store, _pending, _until_nothing_pending
from tests.fakes import FakeAnthropic, FakeSlack
from tests.reliability.helpers import eventually


async def test_a_message_resumed_after_a_crash_is_left_to_the_agent_who_replied_meanwhile(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic, bot_db_url: str
) -> None:
    # The process claimed the customer's message and died; the agent answered it while no bot was up.
    store = await _dead_process_store(bot_db_url)
    msg = _pending(slack, "1700000100.000001", "I was charged twice for my order")
    assert await store.claim(msg, lease_seconds=1)
    await store.close()
    slack.add_message(CHANNEL, "1700000100.000002", AGENT, "Refunded the second charge", thread_ts=msg.ts)
    running = await make_bot(agent_users=[AGENT])
    await _until_nothing_pending(running)
    assert slack.thread_replies(CHANNEL, msg.ts) == []  # no answer under the agent's words, no escalation
    assert anthropic_api.bodies("answer") == []
    thread = await running.store.get_thread(slack.team_id, CHANNEL, msg.ts)
    assert thread is not None and thread.taken_over_by == AGENT
    await running.customer_says("thanks, that was quick", thread_ts=msg.ts)
    await running.idle()
    assert slack.thread_replies(CHANNEL, msg.ts) == []  # the agent's customer now


async def test_a_follow_up_retried_after_an_agent_wrote_and_handed_back_is_answered(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    # The agent's words came after the customer's, and the hand-back after both: the thread is the bot's.
    running = await make_bot(agent_users=[AGENT], slack_streaming="off", retry_base_seconds=3)
    anthropic_api.classify_fn = sure
    event = await running.customer_says("I want my money back for order 1234")
    await running.idle()
    slack.fail_next("chat.postMessage", error="internal_error")  # its answer waits for a retry
    follow_up = await running.customer_says("and can it go to another card?", thread_ts=event["ts"])
    await eventually(lambda: slack.calls_to("chat.postMessage")[-1].ok is False, "the failed attempt")
    await running.customer_says("Let me check that for you", user=AGENT, thread_ts=event["ts"])
    await running.idle()
    await hand_back(running, event)
    await _until_nothing_pending(running)  # retried
    *_, answer = running.replies(event)
    assert reply_payload(answer)["message_ts"] == follow_up["ts"]
    thread = await running.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and not thread.bot_silent  # still handed back
