"""Answer streams are read from raw bytes: any split into network chunks gives the same events."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from router.errors import HandlerUnavailable
from router.handlers import _events, _paced

TEXT = b'data: {"type":"content_block_delta","delta":{"type":"text_delta","text":"Hi"}}\n'
STREAMS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "anthropic" / "streams"


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def _read(data: bytes, size: int) -> list[dict]:
    return [event async for event in _events(_chunks(data, size))]


def _expected(text: str) -> list[dict]:
    return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]


@pytest.mark.skipif(not STREAMS.is_dir(), reason="../shared/data/anthropic/streams is not present")
@pytest.mark.parametrize("name", ["basic_response.txt", "refusal_response.txt", "tool_use_response.txt"])
@pytest.mark.parametrize("size", [1, 7, 64, 1 << 20])
async def test_recorded_streams_read_the_same_whatever_the_chunking(name: str, size: int) -> None:
    text = (STREAMS / name).read_text()
    events = await _read(text.encode(), size)
    assert events == _expected(text)
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"


async def test_crlf_line_ends_and_a_last_line_without_newline() -> None:
    data = b'event: ping\r\ndata: {"type": "ping"}\r\n\r\ndata: {"type":"message_stop"}'
    assert await _read(data, 5) == [{"type": "ping"}, {"type": "message_stop"}]


async def test_a_data_line_that_is_not_json_is_a_handler_failure() -> None:
    with pytest.raises(HandlerUnavailable, match="not JSON"):
        await _read(b'data: {"type": "content_block_del\n\n', 4)


async def test_reads_are_paced_only_once_the_answers_text_has_begun() -> None:
    asked: list[float] = []
    loop = asyncio.get_running_loop()

    async def source() -> AsyncIterator[bytes]:
        for chunk in [b'data: {"type":"message_start"}\n', b'data: {"type":"ping"}\n', *[TEXT] * 4]:
            asked.append(loop.time())
            yield chunk

    got = [chunk async for chunk in _paced(source(), 0.05)]
    assert len(got) == 6
    gaps = [b - a for a, b in itertools.pairwise(asked)]
    assert max(gaps[:2]) < 0.04  # before and up to the first words: read at once
    assert min(gaps[3:]) >= 0.045  # after them: at most one read per interval
