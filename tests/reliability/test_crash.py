"""SIGKILL mid-burst, then a restart: every message Slack saw acknowledged ends answered exactly once.

The bot runs as a real process (``python -m bot serve``, HTTP mode, a SQLite file), talking to the fake
Slack and Anthropic servers in this test process; the fake Anthropic answers slowly so the kill lands
while messages are being worked on.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.bot.harness import CHANNEL, CUSTOMER
from tests.fakes import FakeAnthropic, FakeSlack, event_callback, message_event
from tests.reliability.helpers import eventually, outcomes, pending_count
from tests.reliability.processes import BotProcess, deliver, serve_environment

BURST = 60


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
async def test_sigkill_mid_burst_then_restart_answers_every_accepted_message_exactly_once(
    tmp_path: Path,
) -> None:
    async with (
        FakeSlack() as slack,
        FakeAnthropic(classify_latency=0.2, first_token_latency=0.5, answer_tokens=12) as anthropic,
        aiohttp.ClientSession() as session,
    ):
        database_url = f"sqlite:///{tmp_path / 'routing.db'}"
        # Streamed, so the kill also lands in the middle of answers being written.
        env = serve_environment(tmp_path, slack, anthropic, database_url, SLACK_STREAMING="on")
        bot = BotProcess(env, tmp_path / "bot.log")
        payloads = []
        for i in range(BURST):
            ts = f"{1_700_000_000 + i}.000100"
            text = f"I was charged twice for order {i}, please help"
            slack.add_message(CHANNEL, ts, CUSTOMER, text)
            payloads.append(event_callback(message_event(text, CHANNEL, CUSTOMER, ts)))
        try:
            await bot.start(session)
            deliveries = [asyncio.create_task(deliver(session, bot.url, p)) for p in payloads]
            # Kill once some answers are out and others are surely still being worked on.
            finished = ("chat.stopStream", "chat.postMessage")
            await eventually(lambda: sum(len(slack.calls_to(m)) for m in finished) >= 5, "the first answers")
            await bot.kill()
            statuses = await asyncio.gather(*deliveries)
            answered_before = sum(bool(outcomes(slack, CHANNEL, p["event"]["ts"])) for p in payloads)
            assert answered_before < BURST, "the kill came too late to test anything"

            await bot.start(session)
            # Slack delivers again every event it did not see acknowledged.
            for payload, status in zip(payloads, statuses, strict=True):
                if status != 200:
                    assert await deliver(session, bot.url, payload, retry=1) == 200

            def all_answered() -> bool:
                return all(outcomes(slack, CHANNEL, p["event"]["ts"]) for p in payloads)

            await eventually(all_answered, "an answer to every message after the restart", patience=120)
            store_url = env["DATABASE_URL"]
        finally:
            await bot.stop()
        for payload in payloads:
            ts = payload["event"]["ts"]
            assert len(outcomes(slack, CHANNEL, ts)) == 1, ts
            # And no half-written reply beside it: every bot message in the thread is that one answer.
            assert len(slack.thread_replies(CHANNEL, ts)) == 1, ts
        assert sum(status == 200 for status in statuses) > 0
        await _no_pending(store_url)


async def _no_pending(url: str) -> None:
    from bot.store import Store

    store = await Store.connect(url)
    try:
        assert await pending_count(store) == 0
    finally:
        await store.close()
