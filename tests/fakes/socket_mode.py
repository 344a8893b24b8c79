"""A fake Socket Mode endpoint: the websocket Slack opens for apps that use an app-level token.

``apps.connections.open`` on the fake Web API hands out this server's URL; the server says hello,
delivers envelopes (``events_api``, ``slash_commands``, ``interactive``) and records the acks.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.server import LocalServer

_ids = itertools.count(1)


class FakeSocketMode(LocalServer):
    """Speaks Slack's Socket Mode protocol to one connected client at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.acks: dict[str, dict[str, Any]] = {}
        self.connected = asyncio.Event()
        self._socket: web.WebSocketResponse | None = None
        self._acked: dict[str, asyncio.Event] = {}
        self.app.router.add_get("/link", self._link)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/link"

    async def deliver(self, envelope_type: str, payload: dict[str, Any]) -> str:
        """Send an envelope to the connected app; returns its envelope_id."""
        await asyncio.wait_for(self.connected.wait(), 10)
        assert self._socket is not None
        envelope_id = f"env-{next(_ids)}"
        self._acked[envelope_id] = asyncio.Event()
        await self._socket.send_str(
            json.dumps(
                {
                    "envelope_id": envelope_id,
                    "type": envelope_type,
                    "payload": payload,
                    "accepts_response_payload": envelope_type != "events_api",
                    "retry_attempt": 0,
                    "retry_reason": "",
                }
            )
        )
        return envelope_id

    async def wait_ack(self, envelope_id: str, seconds: float = 5.0) -> dict[str, Any]:
        await asyncio.wait_for(self._acked[envelope_id].wait(), seconds)
        return self.acks[envelope_id]

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(heartbeat=None)
        await socket.prepare(request)
        self._socket = socket
        await socket.send_str(
            json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        )
        self.connected.set()
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            envelope_id = data.get("envelope_id")
            if envelope_id:
                self.acks[envelope_id] = data
                self._acked.setdefault(envelope_id, asyncio.Event()).set()
        self.connected.clear()
        return socket
