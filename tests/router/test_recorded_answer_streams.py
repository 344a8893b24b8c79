"""The handler reads the Messages API's real streams (shared/data/anthropic/streams), replayed over HTTP to
the real AsyncAnthropic client: their text, why they stopped, and the tokens they bill."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anthropic
import pytest
from aiohttp import web

from router.errors import HandlerUnavailable
from router.handlers import CUT_OFF_NOTE, ClaudeHandler
from router.models import Answer, Usage
from router.routes_file import load_routes
from tests.fakes.server import LocalServer

STREAMS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "anthropic" / "streams"
pytestmark = pytest.mark.skipif(not STREAMS.is_dir(), reason="../shared/data/anthropic is not present")


class Replay(LocalServer):
    """Answers every ``POST /v1/messages`` with ``body``, as the API streams it."""

    def __init__(self) -> None:
        super().__init__()
        self.body = b""
        self.app.router.add_post("/v1/messages", self._messages)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        await response.write(self.body)
        await response.write_eof()
        return response


@pytest.fixture
async def replay() -> AsyncIterator[Replay]:
    async with Replay() as server:
        yield server


async def _answer(replay: Replay, stream: str) -> tuple[str, Answer]:
    """What the customer is streamed and the finished answer, for the recorded ``stream``."""
    replay.body = stream.encode()
    category = load_routes().categories[0]
    async with anthropic.AsyncAnthropic(api_key="test", base_url=replay.root_url, max_retries=0) as client:
        answer = ClaudeHandler(client).stream(category, "Hello?", [])
        streamed = "".join([chunk async for chunk in answer])
        return streamed, answer.answer


def _recorded(name: str) -> str:
    return (STREAMS / name).read_text()


async def test_a_whole_answer_and_its_usage_from_message_start_and_message_delta(replay: Replay) -> None:
    streamed, answer = await _answer(replay, _recorded("basic_response.txt"))
    assert streamed == answer.text == "Hello there!"
    # message_start tells the input (and one output token so far), message_delta the output's total.
    assert answer.usage == Usage(input_tokens=11, output_tokens=6)


async def test_a_refused_answer_fails_with_what_it_billed(replay: Replay) -> None:
    with pytest.raises(HandlerUnavailable, match="refused") as failed:
        await _answer(replay, _recorded("refusal_response.txt"))
    assert failed.value.usage == Usage(input_tokens=20, output_tokens=0)


async def test_an_answer_cut_off_at_max_tokens_ends_with_the_note(replay: Replay) -> None:
    """The recorded stream wrote its text, began a tool call and stopped at max_tokens."""
    streamed, answer = await _answer(replay, _recorded("incomplete_partial_json_response.txt"))
    assert streamed.startswith("I'll create a comprehensive tax guide") and streamed.endswith(CUT_OFF_NOTE)
    assert answer.text == streamed
    assert answer.usage == Usage(input_tokens=450, output_tokens=124)


async def test_an_answer_that_filled_the_context_window_ends_with_the_note(replay: Replay) -> None:
    stream = _recorded("basic_response.txt").replace('"end_turn"', '"model_context_window_exceeded"')
    streamed, answer = await _answer(replay, stream)
    assert answer.text == streamed == f"Hello there!\n\n{CUT_OFF_NOTE}"


async def test_a_stream_that_ends_before_claude_finished_is_no_whole_answer(replay: Replay) -> None:
    """The response ended cleanly (a proxy's idle timeout, say) after two of the three text deltas, with no
    message_delta to say why Claude stopped: the half answer is not taken for the whole."""
    recorded = _recorded("basic_response.txt")
    cut = recorded[: recorded.rindex("event:", 0, recorded.index('"text":"!"'))]
    with pytest.raises(HandlerUnavailable, match="ended before") as failed:
        await _answer(replay, cut)
    assert failed.value.usage == Usage(input_tokens=11, output_tokens=1)
