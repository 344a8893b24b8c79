"""A customer who only thanks the agent holding their thread, or says goodbye, asks nothing of them: no
wait starts, nobody is brought up ESCALATION_REMINDER_MINUTES later, and /routing-stats does not count them
among the customers waiting now. What may answer an agent's question ("ok", "yes"), or asks something
with its thanks, waits as before; and thanks end no wait under way."""

from __future__ import annotations

import pytest

from bot.intake import only_thanks
from bot.stats import build_report, parse_arguments
from tests.bot.conftest import BotFactory
from tests.bot.test_customers_waiting_on_an_agent import WROTE_AGAIN, writes_again
from tests.bot.test_dm_escalations import OTHER_AGENT
from tests.bot.test_handoffs import AGENT, escalate, taken_over
from tests.bot.test_reminders import later
from tests.bot.test_withdrawn_messages import customer_deletes
from tests.fakes import FakeAnthropic


@pytest.mark.parametrize("text", ["thanks, that's all!", "Thank you so much 🙏", "great, bye", "ok thanks!"])
async def test_thanks_to_the_agent_holding_the_thread_bring_nobody_up(
    make_bot: BotFactory, anthropic_api: FakeAnthropic, text: str
) -> None:
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT])
    event = await taken_over(running, anthropic_api)
    await writes_again(running, event, text)
    assert await running.bot.reminders.remind(later(31)) == 0
    assert await running.bot.reminders.remind(later(600)) == 0
    assert (await build_report(running.store, parse_arguments("7d"))).customers_waiting == 0
    # What they write next that asks something waits as ever.
    await writes_again(running, event, "oh, and can I change the address too?")
    assert await running.bot.reminders.remind(later(31)) == 1
    assert running.replies(event)[-1]["text"] == WROTE_AGAIN


@pytest.mark.parametrize("text", ["ok", "yes", "thanks! and the shipping fee?", "thanks but it still fails"])
async def test_what_may_answer_the_agent_or_asks_more_waits(
    make_bot: BotFactory, anthropic_api: FakeAnthropic, text: str
) -> None:
    """The bot does not keep what agents write: "ok" may answer their "shall I refund it?"."""
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT])
    event = await taken_over(running, anthropic_api)
    await writes_again(running, event, text)
    assert await running.bot.reminders.remind(later(31)) == 1
    assert (await build_report(running.store, parse_arguments("7d"))).customers_waiting == 1


async def test_thanks_after_a_question_end_no_wait(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    """Thanks in advance: the question still waits for an answer."""
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT])
    event = await taken_over(running, anthropic_api)
    await writes_again(running, event, "hello? any news?")
    await writes_again(running, event, "thanks!")
    assert await running.bot.reminders.remind(later(31)) == 1


async def test_thanks_under_an_escalation_leave_its_wait_about_the_question(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    """The customer thanks the bot for saying a person will come, then deletes the question: nothing is
    left to wait on, and nobody is tagged again. (A second message of substance would keep the wait.)"""
    running = await make_bot(agent_users=[AGENT])
    withdrawn = await escalate(running, anthropic_api, "hmm, about that thing from before")
    await writes_again(running, withdrawn, "thank you!")
    await customer_deletes(running, withdrawn | {"thread_ts": withdrawn["ts"]}, tombstone=True)
    await running.idle()
    assert await running.bot.reminders.remind(later(31)) == 0
    assert len(running.replies(withdrawn)) == 1  # the escalation: nobody tagged again


def test_only_thanks_and_goodbyes_are_taken_for_thanks() -> None:
    assert only_thanks("Thanks a lot, bye!")
    assert not only_thanks("ok")
    assert not only_thanks("")  # a file alone
    assert not only_thanks("thanks, when will it arrive?")
