"""What the operator reads when ``serve`` stops (SIGTERM) with messages in flight: how many it waits for,
and how many it left unfinished, pending for the next start. A stop that said nothing sat silent for up
to half a minute, and a customer's half-written answer was not told of anywhere."""

from __future__ import annotations

import logging

import pytest

from tests.bot.conftest import BotFactory
from tests.fakes import FakeAnthropic
from tests.reliability.helpers import eventually


async def test_a_stop_says_it_waits_for_the_messages_in_flight_and_finishes_them(
    make_bot: BotFactory, anthropic_api: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    running = await make_bot()
    anthropic_api.first_token_latency = 0.3
    event = await running.customer_says("My app keeps crashing when I upload a photo")
    await eventually(lambda: anthropic_api.in_flight, "Claude asked for the answer")
    with caplog.at_level(logging.INFO, logger="bot"):
        await running.bot.stop()
    said = [r.getMessage() for r in caplog.records if r.name == "bot.app"]
    assert said == ["stopping: waiting up to 30 s for 1 message(s) in flight"]
    assert len(running.replies(event)) == 1


async def test_a_stop_that_cannot_wait_for_a_message_says_it_stays_pending_for_the_next_start(
    make_bot: BotFactory, anthropic_api: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    running = await make_bot()
    anthropic_api.first_token_latency = 60.0
    event = await running.customer_says("My app keeps crashing when I upload a photo")
    await eventually(lambda: anthropic_api.in_flight, "Claude asked for the answer")
    with caplog.at_level(logging.INFO, logger="bot"):
        await running.bot.stop(grace_seconds=0)
    said = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bot.app"]
    assert said == [
        ("INFO", "stopping: waiting up to 0 s for 1 message(s) in flight"),
        (
            "WARNING",
            "stopped with 1 message(s) unfinished: they stay pending, and the next start (or another "
            "replica) answers them",
        ),
    ]
    [pending] = await running.store.take_stale(limit=10, lease_seconds=30.0, include_leased=True)
    assert pending.ts == event["ts"]
    await anthropic_api.stop()  # lets the unfinished message end before the bot is closed
