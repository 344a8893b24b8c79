"""Messages written while the bot was away longer than Slack retries an event are answered at its start,
once, under the rules the events would have met."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot import catch_up
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, CUSTOMER, RunningBot, stop_bot
from tests.bot.test_handoffs import AGENT
from tests.fakes import FakeAnthropic, FakeSlack
from tests.reliability.helpers import eventually
from tests.store.plans import query_plan


def ago(seconds: float) -> str:
    """The Slack ts of a message posted ``seconds`` ago (the harness dates its own in 2023, which the
    catch-up, reading the channels of the last week, would not look at)."""
    return f"{time.time() - seconds:.6f}"


async def started(make_bot: BotFactory, **settings: object) -> RunningBot:
    running = await make_bot(**settings)
    running._ts = time.time() - 3600  # its messages posted an hour ago on
    return running


async def settled(running: RunningBot) -> None:
    """The catch-up at start is over, and what it took is answered."""
    await running.bot.caught_up()
    await running.idle()


async def away(running: RunningBot) -> None:
    """The bot stops; its server and store go with it."""
    await running.idle()
    await stop_bot(running)


async def test_a_message_written_while_the_bot_was_away_is_answered_at_its_start(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    first = await started(make_bot, agent_users=[AGENT])
    before = await first.customer_says("How do I reset my password?")
    await away(first)
    # Written while it was away: no event reaches it (Slack gave up retrying).
    missed = {"channel": CHANNEL} | slack.add_message(
        CHANNEL, ago(600), CUSTOMER, "And how do I change my email?"
    )
    slack.add_message(CHANNEL, ago(590), AGENT, "Heads up team: release at 5pm")
    slack.add_message(CHANNEL, ago(580), None, "deploy finished", bot_id="B0OTHER")
    helped = {"channel": CHANNEL} | slack.add_message(CHANNEL, ago(570), CUSTOMER, "Is the API down?")
    slack.add_message(CHANNEL, ago(560), AGENT, "Looking now", thread_ts=helped["ts"])
    asked = len(anthropic_api.bodies("answer"))
    second = await started(make_bot, agent_users=[AGENT])
    await settled(second)
    assert len(second.replies(missed)) == 1 and len(second.replies(before)) == 1
    assert second.replies(helped) == []  # an agent answered it meanwhile: theirs
    assert len(anthropic_api.bodies("answer")) == asked + 1  # the agent's and the bot's posts asked nothing
    # Started again, nothing is answered twice, and the channel is read from the last message seen on.
    await away(second)
    third = await started(make_bot, agent_users=[AGENT])
    await settled(third)
    assert len(third.replies(missed)) == 1 and len(anthropic_api.bodies("answer")) == asked + 1
    assert slack.calls_to("conversations.history")[-1].params["oldest"] == missed["ts"]  # the last taken


async def test_only_channels_the_bot_answered_in_and_only_the_last_hours_are_read(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    # A channel where the bot never took a message: its past is not the bot's to answer.
    slack.add_message("C0NEW", ago(7200), CUSTOMER, "anyone around?")
    first = await started(make_bot, catch_up_hours=0.0001)  # 0.36 s
    await first.customer_says("How do I reset my password?")
    await away(first)
    missed = {"channel": CHANNEL} | slack.add_message(CHANNEL, ago(5), CUSTOMER, "hello?")
    second = await started(make_bot, catch_up_hours=0.0001)
    await settled(second)
    assert second.replies(missed) == []  # five seconds old: older than CATCH_UP_HOURS
    [look] = slack.calls_to("conversations.history")
    assert look.params["channel"] == CHANNEL and float(look.params["oldest"]) > float(missed["ts"])


async def test_catching_up_is_off_at_zero_hours(make_bot: BotFactory, slack: FakeSlack) -> None:
    first = await started(make_bot, catch_up_hours=0)
    await first.customer_says("How do I reset my password?")
    await away(first)
    second = await started(make_bot, catch_up_hours=0)
    await settled(second)
    assert slack.calls_to("conversations.history") == []


async def test_the_channels_are_read_from_their_index(make_bot: BotFactory) -> None:
    running = await make_bot()
    statement = running.store.last_seen_statement(datetime.now(UTC))
    assert "ix_inbound_messages_ts" in await query_plan(running.store, statement)


async def test_the_reads_are_paced_and_stopping_does_not_wait_for_them(
    make_bot: BotFactory, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catch_up, "READ_INTERVAL_SECONDS", 30.0)
    first = await started(make_bot)
    await first.customer_says("How do I reset my password?")
    await first.customer_says("My app crashes on start", channel="C0OTHER")
    await away(first)
    second = await started(make_bot)
    await eventually(lambda: bool(slack.calls_to("conversations.history")), "the first channel read")
    began = time.monotonic()
    await stop_bot(second)  # the second read is 30 s away: the look is cancelled, not waited for
    assert time.monotonic() - began < 10 and len(slack.calls_to("conversations.history")) == 1
