"""Server-sent events for the fake Anthropic API, in the exact order and shape the real API streams them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.anthropic_content import REFUSAL_DETAILS, split_tokens
from tests.fakes.anthropic_faults import stream_error_event

_DELTA_USAGE = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
Sleep = Callable[[float | None], Awaitable[None]]


@dataclass
class Reply:
    """What one response carries: content blocks, why it stopped, and token counts.

    ``raw_json`` holds the (possibly cut-off) JSON text a streamed ``tool_use`` block sends as deltas.
    """

    id: str
    model: str
    blocks: list[dict[str, Any]]
    stop_reason: str
    usage_start: dict[str, Any]
    usage_final: dict[str, Any]
    raw_json: dict[int, str] = field(default_factory=dict)
    # How far a streamed reply went: the deltas written, whether it was streamed to its end, and whether
    # the client hung up before (a stopped answer, a timeout).
    deltas_sent: int = 0
    streamed_to_end: bool = False
    hung_up: bool = False


@dataclass
class Pacing:
    """When deltas go out: a wait before the first, then one per ``1 / tokens_per_second``."""

    first: float = 0.0
    tokens_per_second: float | None = None
    sleep: Sleep | None = None

    async def wait(self, index: int) -> None:
        if self.sleep is None:
            return
        if index == 0:
            await self.sleep(self.first)
        elif self.tokens_per_second:
            await self.sleep(1.0 / self.tokens_per_second)


def _deltas(index: int, block: dict[str, Any], reply: Reply) -> list[dict[str, Any]]:
    if block["type"] == "text":
        pieces = split_tokens(block["text"]) if block["text"] else []
        return [{"type": "text_delta", "text": p} for p in pieces]
    raw = reply.raw_json.get(index, json.dumps(block["input"]))
    size = max(1, len(raw) // 4)
    return [{"type": "input_json_delta", "partial_json": raw[i : i + size]} for i in range(0, len(raw), size)]


def _start_block(block: dict[str, Any]) -> dict[str, Any]:
    if block["type"] == "text":
        return {"type": "text", "text": ""}
    return {**block, "input": {}}


async def send_event(resp: web.StreamResponse, name: str, data: dict[str, Any]) -> None:
    """Writes one SSE event (``event:`` and ``data:`` lines, blank line after)."""
    await resp.write(f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode())


async def stream_reply(
    request: web.Request, reply: Reply, headers: dict[str, str], pacing: Pacing, fault: str | None
) -> web.StreamResponse:
    """Streams ``reply``; ``stream_break`` ends it in an ``error`` event, ``stream_drop`` cuts the socket.

    A client that hangs up first (its timeout) ends the stream quietly, as a real server takes it: aiohttp
    ignores a disconnect while it writes a plain response, but one inside a handler is logged as an error.
    """
    resp = web.StreamResponse(headers={"content-type": "text/event-stream; charset=utf-8", **headers})
    resp.headers["cache-control"] = "no-cache"
    try:
        return await _stream(request, resp, reply, pacing, fault)
    except ConnectionError:
        reply.hung_up = True
        return resp
    except asyncio.CancelledError:
        reply.hung_up = True  # the client hung up, and the server (handler_cancellation) ended its handler
        raise


async def _stream(
    request: web.Request, resp: web.StreamResponse, reply: Reply, pacing: Pacing, fault: str | None
) -> web.StreamResponse:
    await resp.prepare(request)
    message: dict[str, Any] = {
        "id": reply.id,
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": reply.usage_start,
    }
    await send_event(resp, "message_start", {"type": "message_start", "message": message})
    sent = 0
    total = sum(len(_deltas(i, b, reply)) for i, b in enumerate(reply.blocks))
    for index, block in enumerate(reply.blocks):
        start_event = {"type": "content_block_start", "index": index, "content_block": _start_block(block)}
        await send_event(resp, "content_block_start", start_event)
        if index == 0 and reply.stop_reason != "refusal":
            await send_event(resp, "ping", {"type": "ping"})
        for delta in _deltas(index, block, reply):
            if fault in ("stream_break", "stream_drop") and sent >= max(1, total // 2):
                return await _break(request, resp, fault)
            await pacing.wait(sent)
            await send_event(
                resp, "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
            )
            sent += 1
            reply.deltas_sent = sent
        await send_event(resp, "content_block_stop", {"type": "content_block_stop", "index": index})
    if fault in ("stream_break", "stream_drop"):
        return await _break(request, resp, fault)
    stop: dict[str, Any] = {"stop_reason": reply.stop_reason, "stop_sequence": None}
    if reply.stop_reason == "refusal":
        stop["stop_details"] = REFUSAL_DETAILS
    final = {k: v for k, v in reply.usage_final.items() if k in _DELTA_USAGE}
    await send_event(resp, "message_delta", {"type": "message_delta", "delta": stop, "usage": final})
    await send_event(resp, "message_stop", {"type": "message_stop"})
    await resp.write_eof()
    reply.streamed_to_end = True
    return resp


async def _break(request: web.Request, resp: web.StreamResponse, fault: str) -> web.StreamResponse:
    if fault == "stream_break":
        await send_event(resp, "error", stream_error_event())
        await resp.write_eof()
        return resp
    # Drop the connection mid-body: the chunked response never terminates, as when a proxy dies.
    if request.transport is not None:
        request.transport.abort()
    return resp
