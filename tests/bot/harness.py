"""The real bot served over real HTTP, with the fake Slack and Anthropic servers, for end-to-end tests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.app import SupportBot
from bot.commands.serving import support_bot
from bot.server import HttpServer, serve_socket_mode
from bot.settings import Settings
from bot.store.repository import Store
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import event_callback, message_event, sign
from tests.fakes.socket_mode import FakeSocketMode

SECRET = "test-signing-secret"
CUSTOMER = "U0CUSTOMER"
CHANNEL = "C0SUPPORT"
APP_TOKEN = "xapp-1-A111-test"


def make_settings(
    slack: FakeSlack, anthropic: FakeAnthropic | None, database_url: str, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": slack.token,
        "slack_signing_secret": SECRET,
        "slack_api_url": slack.base_url,
        "database_url": database_url,
        "anthropic_max_retries": 0,
        "anthropic_timeout": 5.0,
        "claim_lease_seconds": 30.0,
        "recovery_interval_seconds": 0.2,
        # The harness dates its messages in 2023: every reply would be late.
        "late_reply_minutes": 0,
    }
    if anthropic is not None:
        values |= {"anthropic_api_key": "test-key", "anthropic_base_url": anthropic.base_url}
    return Settings(_env_file=None, **(values | extra))


@dataclass
class RunningBot:
    """A started bot, its server and the fakes around it."""

    settings: Settings
    slack: FakeSlack
    anthropic: FakeAnthropic | None
    store: Store
    server: HttpServer
    session: aiohttp.ClientSession
    # The bot, its store and its router's client, closed together by stop_bot.
    parts: AsyncExitStack = field(default_factory=AsyncExitStack)
    clock: Callable[[], float] = field(default=time.time)
    _ts: float = field(default=1_700_000_000.0)

    @property
    def bot(self) -> SupportBot:
        return self.server.bot

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/slack/events"

    def next_ts(self) -> str:
        self._ts += 1
        return f"{self._ts:.6f}"

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        async with self.session.post(self.url, data=body, headers=headers) as response:
            return response.status, await response.text()

    async def send(
        self,
        payload: dict[str, Any],
        *,
        retry_num: int | None = None,
        timestamp: int | None = None,
        secret: str = SECRET,
    ) -> tuple[int, str]:
        """POST an Events API body signed as Slack signs it."""
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **sign(body, secret, timestamp)}
        if retry_num is not None:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post_raw(body, headers)

    async def send_form(self, form: bytes, *, secret: str = SECRET) -> tuple[int, str]:
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(form, secret)}
        return await self.post_raw(form, headers)

    async def customer_says(
        self,
        text: str,
        *,
        user: str = CUSTOMER,
        channel: str = CHANNEL,
        thread_ts: str | None = None,
        channel_type: str = "channel",
        **extra: Any,
    ) -> dict[str, Any]:
        """Put a customer message in the fake Slack and deliver its event; returns the event. ``extra``
        fields (files, attachments, a subtype) are in both, as Slack keeps them in what it gives back."""
        ts = self.next_ts()
        self.slack.add_message(channel, ts, user, text, thread_ts=thread_ts, **extra)
        event = message_event(
            text, channel, user, ts, thread_ts=thread_ts, channel_type=channel_type, **extra
        )
        status, _ = await self.send(event_callback(event))
        assert status == 200
        return event

    async def idle(self, limit_seconds: float = 10.0) -> None:
        """Wait until no message is in flight."""
        deadline = time.monotonic() + limit_seconds
        await asyncio.sleep(0)
        while self.bot.worker.in_flight:
            if time.monotonic() > deadline:
                raise TimeoutError("the bot is still working")
            await asyncio.sleep(0.01)

    def replies(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's messages in the thread of ``event``."""
        return self.slack.thread_replies(event["channel"], event.get("thread_ts") or event["ts"])


async def start_bot(
    slack: FakeSlack, anthropic: FakeAnthropic | None, database_url: str, **extra: Any
) -> RunningBot:
    settings = make_settings(slack, anthropic, database_url, **extra)
    parts = AsyncExitStack()
    bot = await parts.enter_async_context(support_bot(settings))
    server = HttpServer(bot, "127.0.0.1", 0)
    running = RunningBot(settings, slack, anthropic, bot.store, server, aiohttp.ClientSession(), parts)
    try:
        await server.start()
    except BaseException:
        await stop_bot(running, started=False)
        raise
    return running


async def stop_bot(running: RunningBot, *, started: bool = True) -> None:
    await running.session.close()
    if started:
        await running.server.stop()
    await running.parts.aclose()


@dataclass
class SocketModeBot:
    """The bot served over Socket Mode (``serve_socket_mode``, as ``serve`` runs it with an app token),
    connected to a fake Socket Mode endpoint."""

    bot: SupportBot
    slack: FakeSlack
    socket: FakeSocketMode
    serving: asyncio.Task[None]
    stop: asyncio.Event
    _ts: float = field(default=1_700_000_000.0)

    def next_ts(self) -> str:
        self._ts += 1
        return f"{self._ts:.6f}"

    async def idle(self, limit_seconds: float = 60.0) -> None:
        """Wait until no message is in flight."""
        deadline = time.monotonic() + limit_seconds
        while self.bot.worker.in_flight:
            if time.monotonic() > deadline:
                raise TimeoutError("the bot is still working")
            await asyncio.sleep(0.01)

    async def customer_says(self, text: str, **extra: Any) -> tuple[dict[str, Any], str]:
        """Put a customer message in the fake Slack and deliver its event in an ``events_api`` envelope;
        returns the event and the envelope's id."""
        ts = self.next_ts()
        self.slack.add_message(CHANNEL, ts, CUSTOMER, text, **extra)
        event = message_event(text, CHANNEL, CUSTOMER, ts, **extra)
        return event, await self.socket.deliver("events_api", event_callback(event))


@asynccontextmanager
async def socket_mode_bot(
    slack: FakeSlack, anthropic: FakeAnthropic | None, database_url: str, **extra: Any
) -> AsyncIterator[SocketModeBot]:
    """The bot serving Socket Mode until the block ends (then stopped as SIGTERM stops ``serve``); a test
    that sees ``serving`` end on its own awaits it itself."""
    async with FakeSocketMode() as socket:
        slack.socket_mode_url = socket.url
        slack.tokens.add(APP_TOKEN)
        settings = make_settings(slack, anthropic, database_url, slack_app_token=APP_TOKEN, **extra)
        async with support_bot(settings) as bot:
            stop = asyncio.Event()
            serving = asyncio.create_task(serve_socket_mode(bot, APP_TOKEN, stop))
            try:
                yield SocketModeBot(bot, slack, socket, serving, stop)
            finally:
                if not serving.done():
                    stop.set()
                    await serving
