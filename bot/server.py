"""Serving the bot: HTTP (``POST /slack/events``, ``GET /healthz``) or Socket Mode."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import signal
import socket
import time

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.app import SupportBot
from bot.deliveries import Deliveries
from bot.settings import SettingsError
from bot.socket_mode import LINK_DISABLED, SocketModeLink

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Requests failing their signature are logged at most this often (anyone can send them).
UNSIGNED_WARNING_SECONDS = 60.0


def web_app(bot: SupportBot) -> web.Application:
    """The aiohttp application: Slack's requests in, health out."""

    secret = bot.settings.slack_signing_secret
    deliveries = Deliveries(bot, secret.get_secret_value()) if secret is not None else None
    last_warned = [-UNSIGNED_WARNING_SECONDS]

    def refused(status: int) -> None:
        # Nothing else would tell an operator with a wrong secret why Slack says the URL fails.
        now = time.monotonic()
        if status == 401 and now - last_warned[0] >= UNSIGNED_WARNING_SECONDS:
            last_warned[0] = now
            logger.warning(
                "a request failed Slack's signature check (or was over 5 minutes old) and got 401; if "
                "every request does, SLACK_SIGNING_SECRET is wrong: copy the Signing Secret from the "
                "app's Basic Information page"
            )

    async def events(request: web.Request) -> web.Response:
        if deliveries is not None:
            status = await deliveries.receive(await request.read(), request.headers)
            if status is not None:
                refused(status)
                return web.Response(status=status)
        bolt_request = await to_bolt_request(request)
        bolt_response = await bot.app.async_dispatch(bolt_request)
        refused(bolt_response.status)
        return await to_aiohttp_response(bolt_response)

    async def healthz(request: web.Request) -> web.Response:
        healthy = await bot.store.ping()
        body = {"database": "ok" if healthy else "unavailable", "in_flight": bot.worker.in_flight}
        return web.json_response(body, status=200 if healthy else 503)

    app = web.Application()
    app.router.add_post(EVENTS_PATH, events)
    app.router.add_get("/healthz", healthz)
    return app


def events_url(host: str, port: int) -> str:
    """Where Slack's requests are taken, e.g. ``http://0.0.0.0:3000/slack/events``; an IPv6 host in
    brackets (``http://[::]:3000/…``), or the port would read as part of it."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{EVENTS_PATH}"


class HttpServer:
    """The bot behind aiohttp on ``host:port`` (port 0 picks a free one), or on a socket bound already."""

    def __init__(
        self, bot: SupportBot, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None
    ) -> None:
        self.bot = bot
        self._runner = web.AppRunner(web_app(bot), access_log=None)
        self._host = host
        self._port = port
        self._sock = sock
        self.port = port

    async def start(self) -> None:
        """Resume pending messages, then listen."""
        await self._runner.setup()
        await self.bot.start()
        site: web.BaseSite
        if self._sock is not None:
            site = web.SockSite(self._runner, self._sock)
        else:
            site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else self._port
        host = addresses[0][0] if addresses else self._host
        logger.info("listening on %s", events_url(host, self.port))

    async def stop(self) -> None:
        """Stop listening, then finish the messages in flight."""
        await self._runner.cleanup()
        await self.bot.stop()


# glibc's mallopt parameter for the number of malloc arenas (M_ARENA_MAX in malloc.h).
_M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def limit_malloc_arenas() -> None:
    """Let the process's threads share :data:`MALLOC_ARENAS` malloc arenas; a no-op off glibc.

    By default glibc gives each thread that allocates (SQLite's workers, the model's refit, the resolver)
    an arena of its own, up to eight per core, and each keeps the pages it freed: 9 MB more at the peak of
    a burst of 100 messages, with nothing gained (Python's small objects come from its own allocator).
    Called before the first thread starts, as arenas are handed out when a thread first allocates.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, MALLOC_ARENAS)


def freeze_startup_heap() -> None:
    """Exempt everything built at start (the local model, the SDKs, SQLAlchemy, Bolt) from the garbage
    collector's scans.

    Without it a full collection walks that whole heap: one took 124 ms in the middle of a burst, during
    which no event was acknowledged. Frozen objects are still freed by reference counting.
    """
    gc.collect()
    gc.freeze()


async def serve_http(bot: SupportBot, sock: socket.socket, stop: asyncio.Event) -> None:
    """Serve on ``sock`` (bound and listening) until ``stop`` is set; finishes the messages in flight
    before returning."""
    server = HttpServer(bot, sock=sock)
    try:
        await server.start()
        freeze_startup_heap()
        await stop.wait()
    finally:
        await server.stop()


async def serve_socket_mode(bot: SupportBot, app_token: str, stop: asyncio.Event) -> None:
    """Connect to Slack over Socket Mode until ``stop`` is set; finishes the messages in flight before
    returning.

    Raises:
        SettingsError: Slack turned the app's Socket Mode off (see :mod:`bot.socket_mode`).
    """
    await bot.start()
    link = SocketModeLink(bot.app, app_token, bot.client, stop)
    try:
        await link.connect()
        freeze_startup_heap()
        logger.info("connected to Slack over Socket Mode")
        await stop.wait()
    finally:
        await link.close()
        await bot.stop()
    if link.link_disabled:
        raise SettingsError(LINK_DISABLED)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, for a graceful stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
