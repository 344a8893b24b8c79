"""What the operator reads in the log: a line per message saying what became of it (never the customer's
words), and, while the database is down, the recovery pass (which looks for pending messages every few
seconds) saying once that it cannot read the database and once that it can again, not a full traceback
at every pass (an 80-line one every 15 s during a PostgreSQL outage buried the log)."""

from __future__ import annotations

import logging
import re

import pytest

from bot.store.errors import DatabaseError
from bot.store.records import InboundMessage
from tests.bot.conftest import BotFactory
from tests.bot.harness import RunningBot
from tests.reliability.helpers import eventually


def _outcomes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.conversation" and r.levelname == "INFO"]


async def test_each_message_answered_or_escalated_is_one_info_line_without_the_customers_words(
    running: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot"):
        answered = await running.customer_says("My app keeps crashing when I upload a photo")
        await running.idle()
        escalated = await running.customer_says("I want to talk to a human about my invoice please")
        await running.idle()
    [first, second] = _outcomes(caplog)
    assert re.fullmatch(
        rf"message {answered['channel']}/{answered['ts']} answered as Technical Support "
        r"\(0\.\d\d by (claude|local)\) in \d+\.\d\d s",
        first,
    ), first
    assert second.startswith(f"message {escalated['channel']}/{escalated['ts']} escalated (asked_for_human)")
    assert "crashing" not in caplog.text and "invoice" not in caplog.text


async def test_a_database_outage_is_told_once_by_the_recovery_pass_and_its_end_once_too(
    make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    running = await make_bot(recovery_interval_seconds=0.01)
    take_stale = running.store.take_stale
    calls = 0

    async def down_for_a_while(**kwargs: object) -> list[InboundMessage]:
        nonlocal calls
        calls += 1
        if calls <= 5:
            raise DatabaseError("the database could not be reached (connection refused)")
        return await take_stale(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(running.store, "take_stale", down_for_a_while)
    with caplog.at_level(logging.INFO, logger="bot.worker"):
        await eventually(lambda: calls > 6, "the database back for the recovery pass")
    said = [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records if r.name == "bot.worker"]
    assert said == [
        (
            "WARNING",
            "the recovery pass cannot read the database (the database could not be reached (connection "
            "refused)); pending messages wait until it can, looked for every 0.01 s",
            None,
        ),
        ("INFO", "the recovery pass reads the database again", None),
    ]


async def test_an_unexpected_failure_of_the_recovery_pass_keeps_its_traceback(
    make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    running = await make_bot(recovery_interval_seconds=0.01)
    calls = 0

    async def broken(**kwargs: object) -> list[InboundMessage]:
        nonlocal calls
        calls += 1
        raise KeyError("a bug")

    monkeypatch.setattr(running.store, "take_stale", broken)
    with caplog.at_level(logging.INFO, logger="bot.worker"):
        await eventually(lambda: calls > 1, "two recovery passes")
    failed = [r for r in caplog.records if r.name == "bot.worker"]
    assert failed and all(r.levelname == "ERROR" and r.exc_info for r in failed)
