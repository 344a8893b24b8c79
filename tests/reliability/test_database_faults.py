"""A locked or briefly failing database never loses a claimed message, nor answers one twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import bot.store.engine
from bot.store.errors import DatabaseError
from tests.bot.harness import CHANNEL, CUSTOMER, RunningBot
from tests.fakes import FakeAnthropic, FakeSlack, event_callback, message_event
from tests.reliability.helpers import eventually, outcomes, pending_count, rows


@contextlib.asynccontextmanager
async def exclusive_lock(database_url: str) -> AsyncIterator[sqlite3.Connection]:
    """Another process's view: a connection holding ``BEGIN EXCLUSIVE`` on the bot's SQLite file.

    Taken in a thread: the bot, on this event loop, may be in the middle of a transaction of its own,
    which must be able to finish while this waits for the lock.
    """
    path = Path(database_url.removeprefix("sqlite:///"))
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        await asyncio.to_thread(connection.execute, "BEGIN EXCLUSIVE")
        yield connection
    finally:
        if connection.in_transaction:
            connection.rollback()
        connection.close()


def _event(running: RunningBot, slack: FakeSlack, text: str) -> dict:
    event = message_event(text, CHANNEL, CUSTOMER, running.next_ts())
    slack.add_message(CHANNEL, event["ts"], CUSTOMER, text)
    return event_callback(event)


async def test_a_claim_waits_out_a_short_lock(make_bot, slack: FakeSlack, bot_db_url: str) -> None:
    running = await make_bot()
    payload = _event(running, slack, "I was charged twice for my order")
    async with exclusive_lock(bot_db_url) as lock:
        delivery = asyncio.create_task(running.send(payload))
        await asyncio.sleep(0.5)  # the claim is now waiting on SQLite's busy timeout
        assert not delivery.done()
        lock.rollback()
    status, _ = await delivery
    assert status == 200
    await eventually(lambda: outcomes(slack, CHANNEL, payload["event"]["ts"]), "the answer")
    await running.idle()
    assert len(outcomes(slack, CHANNEL, payload["event"]["ts"])) == 1


async def test_a_claim_that_cannot_wait_gets_a_500_and_slacks_redelivery_is_answered_once(
    make_bot,
    slack: FakeSlack,
    anthropic_api: FakeAnthropic,
    bot_db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(bot.store.engine, "SQLITE_BUSY_TIMEOUT_MS", 100)
    running = await make_bot()
    payload = _event(running, slack, "I was charged twice for my order")
    async with exclusive_lock(bot_db_url):
        status, _ = await running.send(payload)
    assert status == 500  # not acknowledged: Slack will deliver the event again
    assert anthropic_api.requests == [] and slack.calls_to("chat.postMessage") == []
    assert any("database is locked" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    for retry in (1, 2):  # Slack's redeliveries, the second one a duplicate
        status, _ = await running.send(payload, retry_num=retry)
        assert status == 200
    await eventually(lambda: outcomes(slack, CHANNEL, payload["event"]["ts"]), "the answer")
    await running.idle()
    assert len(outcomes(slack, CHANNEL, payload["event"]["ts"])) == 1
    assert len(await rows(running.store)) == 1


async def test_a_database_failing_after_the_reply_was_posted_neither_loses_nor_repeats_it(
    make_bot, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = await make_bot(slack_streaming="off", claim_lease_seconds=1.0, retry_base_seconds=0.1)
    store = running.store
    real_complete, real_fail = store.complete, store.fail
    broken = {"complete": 1, "fail": 1}

    def failing(name: str, real):  # the database answers again after one failure of each
        async def call(*args, **kwargs):
            if broken[name]:
                broken[name] -= 1
                raise DatabaseError("database error: OperationalError: server closed the connection")
            return await real(*args, **kwargs)

        return call

    monkeypatch.setattr(store, "complete", failing("complete", real_complete))
    monkeypatch.setattr(store, "fail", failing("fail", real_fail))
    event = await running.customer_says("How do I reset my password?")

    async def recorded() -> bool:
        return len(await rows(store)) == 1 and await pending_count(store) == 0

    # The reply was posted but not recorded, and not even the failure could be noted: the lease runs
    # out, the recovery loop takes the message again, finds the reply in the thread and records it.
    await eventually(recorded, "the decision recorded after recovery")
    await running.idle()
    assert len(outcomes(slack, CHANNEL, event["ts"])) == 1
    assert len(slack.calls_to("chat.postMessage")) == 1
    [decision] = await rows(store)
    assert "recovered" in decision["error"]
