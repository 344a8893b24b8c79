"""A fake Socket Mode endpoint: the websocket Slack opens for apps that use an app-level token.

``apps.connections.open`` on the fake Web API hands out this server's URL; each connection is greeted with
``hello``; envelopes (``events_api``, ``slash_commands``, ``interactive``) go to the newest open
connection, and acks are taken on any. What Slack does besides, as its Socket Mode docs and slack_sdk's
client describe it: a ``disconnect`` message (``refresh_requested`` every few hours, ``warning`` before
it, ``link_disabled`` when the app's Socket Mode is turned off, after which Slack closes the connection);
a connection that drops with no message at all; an envelope delivered again, with ``retry_attempt`` and
``retry_reason``, when its ack did not arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.server import LocalServer

_ids = itertools.count(1)


@dataclass
class _Connection:
    socket: web.WebSocketResponse
    request: web.Request
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class FakeSocketMode(LocalServer):
    """Speaks Slack's Socket Mode protocol to the app's connections."""

    def __init__(self) -> None:
        super().__init__()
        self.acks: dict[str, dict[str, Any]] = {}
        # Every envelope sent, by its id, as sent (for a redelivery, and to see what was not acked).
        self.envelopes: dict[str, dict[str, Any]] = {}
        self.connections: list[_Connection] = []
        self._changed = asyncio.Event()
        self._acked: dict[str, asyncio.Event] = {}
        # Acks that arrived as their connection failed: the app sent them, Slack never had them.
        self.lost_acks: list[str] = []
        self._drop_at_ack: set[str | None] = set()
        self.app.router.add_get("/link", self._link)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/link"

    @property
    def open_connections(self) -> list[_Connection]:
        return [c for c in self.connections if not c.closed.is_set()]

    async def wait_connections(self, opened: int, seconds: float = 60.0) -> None:
        """Wait until ``opened`` connections have been made in all, the last still open."""

        async def made() -> None:
            while not (len(self.connections) >= opened and self.open_connections):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(made(), seconds)

    async def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        seconds: float = 60.0,
    ) -> str:
        """Send an envelope on the newest open connection (waiting for one); returns its envelope_id."""
        await self.wait_connections(1, seconds)
        envelope_id = f"env-{next(_ids)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
        }
        if envelope_type == "events_api":
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": retry_reason}
        self.envelopes[envelope_id] = envelope
        self._acked[envelope_id] = asyncio.Event()
        # On a connection failing under it, it may or may not reach the app: Slack cannot tell either.
        with contextlib.suppress(ConnectionError):
            await self.open_connections[-1].socket.send_str(json.dumps(envelope))
        return envelope_id

    async def redeliver(self, envelope_id: str, reason: str = "timeout") -> str:
        """Deliver the event of ``envelope_id`` again, as Slack does when its ack did not arrive: a new
        envelope (the app cannot rely on its id) with the same payload and the next ``retry_attempt``."""
        sent = self.envelopes[envelope_id]
        attempt = int(sent.get("retry_attempt", 0)) + 1
        return await self.deliver(sent["type"], sent["payload"], retry_attempt=attempt, retry_reason=reason)

    def unacked(self) -> list[str]:
        """The envelopes sent that Slack never had an ack for, in the order they were sent."""
        return [e for e in self.envelopes if e not in self.acks]

    async def wait_ack(self, envelope_id: str, seconds: float = 10.0) -> dict[str, Any]:
        await asyncio.wait_for(self._acked[envelope_id].wait(), seconds)
        return self.acks[envelope_id]

    async def disconnect(self, reason: str) -> None:
        """Send ``{"type": "disconnect", "reason": ...}`` on the newest connection; with ``link_disabled``
        (Socket Mode turned off) Slack closes the connection after it."""
        connection = self.open_connections[-1]
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-applink"}}
        await connection.socket.send_str(json.dumps(message))
        if reason == "link_disabled":
            await connection.socket.close()

    def drop(self) -> None:
        """Cut the newest connection as a network failure does: no disconnect message, no close frame."""
        self._abort(self.open_connections[-1])

    def drop_at_ack(self, envelope_id: str | None) -> None:
        """Cut the connection the ack of ``envelope_id`` (None: the next ack of any) arrives on, before
        Slack takes the ack: the app sent it, Slack never had it (see ``lost_acks``)."""
        self._drop_at_ack.add(envelope_id)

    def _abort(self, connection: _Connection) -> None:
        transport = connection.request.transport
        if transport is not None:
            transport.abort()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(heartbeat=None)
        await socket.prepare(request)
        connection = _Connection(socket, request)
        self.connections.append(connection)
        hello = {
            "type": "hello",
            "num_connections": len(self.open_connections),
            "debug_info": {"host": "fake-applink"},
            "connection_info": {"app_id": "A0FAKE"},
        }
        await socket.send_str(json.dumps(hello))
        self._changed.set()
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                envelope_id = data.get("envelope_id")
                if not envelope_id:
                    continue
                lost = next((e for e in (envelope_id, None) if e in self._drop_at_ack), "")
                if lost != "":
                    self._drop_at_ack.discard(lost)
                    self.lost_acks.append(envelope_id)
                    self._abort(connection)
                    break
                self.acks[envelope_id] = data
                self._acked.setdefault(envelope_id, asyncio.Event()).set()
        finally:
            connection.closed.set()
            self._changed.set()
        return socket
