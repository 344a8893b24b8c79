"""Requests not signed by Slack reach nothing; secrets never reach the logs or the database; a customer's
words never reach the log at INFO or above."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from sqlalchemy import select

import bot.store.engine
from bot.store.tables import metadata
from bot.store.tables.messages import inbound_messages
from tests.bot.harness import CHANNEL, CUSTOMER, SECRET, RunningBot
from tests.fakes import FakeAnthropic, FakeSlack, event_callback, message_event, sign
from tests.reliability.helpers import eventually, outcomes, pending_count, rows
from tests.reliability.test_database_faults import exclusive_lock

MARKER = "PURPLE-ELEPHANT-7319"


def _unsigned_variants(body: bytes) -> dict[str, dict[str, str]]:
    now = int(time.time())
    good = sign(body, SECRET)
    return {
        "wrong secret": sign(body, "not-the-secret"),
        "six minutes old": sign(body, SECRET, now - 6 * 60),
        "six minutes ahead": sign(body, SECRET, now + 6 * 60),
        "no signature": {"X-Slack-Request-Timestamp": str(now)},
        "no timestamp": {"X-Slack-Signature": good["X-Slack-Signature"]},
        "signature of another body": sign(body + b" ", SECRET),
        "malformed signature": {**good, "X-Slack-Signature": "v1=" + "0" * 64},
    }


async def test_a_request_not_signed_by_slack_gets_401_and_reaches_nothing(
    running: RunningBot, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    await running.bot.caught_up()
    at_start = len(slack.calls)  # who the bot is, the DMs opened while it was away
    event = message_event(f"refund please {MARKER}", CHANNEL, CUSTOMER, running.next_ts())
    slack.add_message(CHANNEL, event["ts"], CUSTOMER, event["text"])
    body = json.dumps(event_callback(event)).encode()
    for name, headers in _unsigned_variants(body).items():
        status, _ = await running.post_raw(body, {"Content-Type": "application/json", **headers})
        assert status == 401, name
    await running.idle()
    assert await rows(running.store, inbound_messages) == []  # nothing claimed
    assert anthropic_api.requests == []
    assert slack.calls[at_start:] == []


async def test_no_secret_in_debug_logs_or_the_database_and_no_customer_text_at_info(
    make_bot,
    slack: FakeSlack,
    anthropic_api: FakeAnthropic,
    bot_db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(bot.store.engine, "SQLITE_BUSY_TIMEOUT_MS", 100)
    running = await make_bot(agent_users=["U0AGENT"], retry_base_seconds=0.1)
    secrets = [slack.token, SECRET, running.settings.anthropic_api_key.get_secret_value()]
    texts = [
        f"I was charged twice, card 4111 1111 1111 1111 {MARKER}",
        f"I want to talk to a human {MARKER}",
        f"The app crashes on start {MARKER}",
        f"Do you deliver to Canada? {MARKER}",
    ]
    # Every path that logs: Claude failing, a stream breaking, Slack refusing, the database locked.
    anthropic_api.fail_next("500", only="classify")
    anthropic_api.fail_next("malformed", only="classify")
    anthropic_api.fail_next("stream_break", only="answer")
    slack.fail_next("chat.postMessage", status=503, retry_after=0)
    events = [await running.customer_says(text) for text in texts]
    locked = message_event(f"locked out {MARKER}", CHANNEL, CUSTOMER, running.next_ts())
    slack.add_message(CHANNEL, locked["ts"], CUSTOMER, locked["text"])
    async with exclusive_lock(bot_db_url):
        assert (await running.send(event_callback(locked)))[0] == 500
    assert (await running.send(event_callback(locked), retry_num=1))[0] == 200
    events.append(locked)

    async def done() -> bool:
        answered = all(outcomes(slack, CHANNEL, e["ts"]) for e in events)
        return answered and await pending_count(running.store) == 0

    await eventually(done, "every message answered")
    await running.idle()

    logged = caplog.text + "".join(_record_text(r) for r in caplog.records)
    stored = await _everything_stored(running)
    for secret in secrets:
        assert secret not in logged
        assert secret not in stored
    loud = [r for r in caplog.records if r.levelno >= logging.INFO and MARKER in _record_text(r)]
    assert loud == [], [f"{r.levelname} {r.name}: {r.getMessage()[:200]}" for r in loud]
    assert any(r.levelno >= logging.WARNING for r in caplog.records)  # the failure paths did log
    debug_from = {r.name.split(".")[0] for r in caplog.records if r.levelno == logging.DEBUG}
    assert {"slack_sdk", "anthropic"} <= debug_from  # the clients' request logs were on


def _record_text(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        text += logging.Formatter().formatException(record.exc_info)
    return text


async def _everything_stored(running: RunningBot) -> str:
    dump: list[Any] = []
    async with running.store.reading() as conn:
        for table in metadata.sorted_tables:
            dump += [dict(row) for row in (await conn.execute(select(table))).mappings().all()]
    return json.dumps(dump, default=str, ensure_ascii=False)
