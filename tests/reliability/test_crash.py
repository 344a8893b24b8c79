"""SIGKILL mid-burst, then a restart: every message Slack saw acknowledged ends answered exactly once.

The bot runs as a real process (``python -m bot serve``, HTTP mode, a SQLite file), talking to the fake
Slack and Anthropic servers in this test process; the fake Anthropic answers slowly so the kill lands
while messages are being worked on.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.bot.harness import CHANNEL, CUSTOMER, SECRET
from tests.fakes import FakeAnthropic, FakeSlack, event_callback, message_event, sign
from tests.reliability.helpers import eventually, outcomes, pending_count

BURST = 60
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """``python -m bot serve`` with its environment pointing at the fakes."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.url = f"http://127.0.0.1:{env['PORT']}"

    async def start(self, session: aiohttp.ClientSession) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "serve",
                cwd=self.env["HOME"],
                env=self.env,
                stdout=log,
                stderr=log,
            )

        async def healthy() -> bool:
            assert self.process is not None and self.process.returncode is None, self.log.read_text()
            try:
                async with session.get(f"{self.url}/healthz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(healthy, "the bot process to serve /healthz", patience=120)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                await self.kill()


def _environment(tmp_path: Path, slack: FakeSlack, anthropic: FakeAnthropic) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "SLACK_", "DATABASE_"))}
    return env | {
        "HOME": str(tmp_path),  # also the working folder: no stray .env is read
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.base_url,
        # Streamed, so the kill also lands in the middle of answers being written.
        "SLACK_STREAMING": "on",
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": anthropic.base_url,
        "ANTHROPIC_MAX_RETRIES": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'routing.db'}",
        "HOST": "127.0.0.1",
        "PORT": str(_free_port()),
        "CLAIM_LEASE_SECONDS": "30",
        "RECOVERY_INTERVAL_SECONDS": "0.5",
        "RETRY_BASE_SECONDS": "0.2",
        "LOG_LEVEL": "INFO",
    }


async def _deliver(session: aiohttp.ClientSession, url: str, payload: dict[str, Any], retry: int = 0) -> int:
    """POST a signed event; the status, or 0 when the process died before answering."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **sign(body, SECRET)}
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
    try:
        async with session.post(f"{url}/slack/events", data=body, headers=headers) as response:
            return response.status
    except aiohttp.ClientError:
        return 0


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
async def test_sigkill_mid_burst_then_restart_answers_every_accepted_message_exactly_once(
    tmp_path: Path,
) -> None:
    async with (
        FakeSlack() as slack,
        FakeAnthropic(classify_latency=0.2, first_token_latency=0.5, answer_tokens=12) as anthropic,
        aiohttp.ClientSession() as session,
    ):
        env = _environment(tmp_path, slack, anthropic)
        bot = BotProcess(env, tmp_path / "bot.log")
        payloads = []
        for i in range(BURST):
            ts = f"{1_700_000_000 + i}.000100"
            text = f"I was charged twice for order {i}, please help"
            slack.add_message(CHANNEL, ts, CUSTOMER, text)
            payloads.append(event_callback(message_event(text, CHANNEL, CUSTOMER, ts)))
        try:
            await bot.start(session)
            deliveries = [asyncio.create_task(_deliver(session, bot.url, p)) for p in payloads]
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
                    assert await _deliver(session, bot.url, payload, retry=1) == 200

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
