"""Real ``python -m bot serve`` processes (HTTP mode) pointed at the fake Slack and Anthropic servers, and
Events API deliveries to them signed as Slack signs them."""

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

from tests.bot.harness import SECRET
from tests.fakes import FakeAnthropic, FakeSlack, sign
from tests.reliability.helpers import eventually

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
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


def serve_environment(
    home: Path, slack: FakeSlack, anthropic: FakeAnthropic, database_url: str, **settings: str
) -> dict[str, str]:
    """The environment of a ``serve`` on a free port, at the fakes and ``database_url``; ``settings``
    (upper-cased names) add to it or override it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "SLACK_", "DATABASE_"))}
    return (
        env
        | {
            "HOME": str(home),  # also the working folder: no stray .env is read
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.base_url,
            "ANTHROPIC_API_KEY": "test-key",
            "ANTHROPIC_BASE_URL": anthropic.base_url,
            "ANTHROPIC_MAX_RETRIES": "0",
            "DATABASE_URL": database_url,
            "HOST": "127.0.0.1",
            "PORT": str(free_port()),
            "CLAIM_LEASE_SECONDS": "30",
            "RECOVERY_INTERVAL_SECONDS": "0.5",
            "RETRY_BASE_SECONDS": "0.2",
            "LOG_LEVEL": "INFO",
        }
        | settings
    )


async def deliver(session: aiohttp.ClientSession, url: str, payload: dict[str, Any], retry: int = 0) -> int:
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
