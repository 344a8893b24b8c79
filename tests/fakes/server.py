"""A local aiohttp server on 127.0.0.1 and an ephemeral port: the base of every fake."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

from aiohttp import web


class LocalServer:
    """Runs ``self.app`` on 127.0.0.1:0 until ``stop()``; usable as ``async with``."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.app = web.Application(client_max_size=16 * 1024 * 1024)
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self.port = 0

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if not self.port:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> Self:
        """Binds the port and starts serving; returns ``self``."""
        if self._runner is not None:
            return self
        self._closing = asyncio.Event()
        # handler_cancellation: a client that gives up (timeout) ends its handler, as in a real server.
        runner = web.AppRunner(self.app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        await site.start()
        self._runner = runner
        self.port = runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Releases any scripted hang or latency, then shuts the server down."""
        self._closing.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def sleep(self, seconds: float | None) -> None:
        """Sleeps ``seconds``, cut short when the server stops (so no test waits on a scripted delay)."""
        if not seconds or seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
