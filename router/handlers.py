"""Category handlers: each answers with its own system prompt and model, streamed as text.

``ClaudeHandler`` streams from the Messages API; ``OfflineHandler`` serves the category's
``offline_reply``, labelled as such, when no API key is configured.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import anthropic
import httpx2

from router.classifiers.claude import describe_api_error, usage_fields
from router.config import Category
from router.errors import HandlerUnavailable
from router.markdown import open_fence
from router.models import Answer, Turn, Usage

logger = logging.getLogger(__name__)

OFFLINE_LABEL = "_Automatic answer (our assistant is offline):_"
# Under an answer Claude stopped writing before its end (see _ClaudeAnswer): without it, the customer reads
# a half sentence as the whole answer.
CUT_OFF_NOTE = "_…this answer was cut short, as it reached its length limit: reply here for the rest._"
# The stop reasons of an answer Claude did not finish: the handler's max_tokens, or the model's context.
CUT_OFF = frozenset({"max_tokens", "model_context_window_exceeded"})
# Once an answer's first words are out, its stream is read at most this often (see _paced).
READ_INTERVAL_SECONDS = 0.1


class AnswerStream(Protocol):
    """An answer in the making: iterate it for text chunks, then read ``answer``."""

    def __aiter__(self) -> AsyncIterator[str]: ...

    @property
    def answer(self) -> Answer:
        """The finished answer; valid once iteration has ended."""
        ...

    async def stop(self) -> Answer:
        """End the answer where it is (the customer stopped it): its request is closed, so the model
        writes, and bills, no more; the answer so far, with the tokens reported until then."""
        ...


class Handler(Protocol):
    """Produces a category's answer to a message."""

    # True when the answers are the categories' canned offline replies, not written for the message.
    offline: bool

    def stream(self, category: Category, query: str, history: Sequence[Turn]) -> AnswerStream:
        """Start answering ``query`` as ``category``'s specialist, with the thread's earlier turns."""
        ...


# What the answering model is told about turns that are not plainly the customer's or its own: an agent
# speaks for the support side (what they said or did stands), anyone else is context on the customer's
# side, and a reply an agent's re-route replaced (a wrong answer, a hand-off) is not to be given again.
_SPEAKER_NOTE = {
    "agent": "[A support agent wrote:]\n",
    "other": "[Someone else in the thread wrote:]\n",
    "rerouted": "[An earlier reply of ours, which a support agent has since replaced: do not repeat it.]\n",
}
_SUPPORT_SIDE = frozenset({"assistant", "rerouted", "agent"})
_EARLIER_REPLY = "[An earlier reply of ours in this thread:]\n"
# Before the message an agent re-routed, asked again at the end of the conversation as it now stands.
REROUTE_REQUEST = (
    "[A support agent has re-routed this message of the customer's to you, to answer in place of the "
    "reply it had. Answer it now, taking in everything the customer has said since:]\n"
)


def rerouted_query(query: str) -> str:
    """The message an agent re-routed, as the last turn of a conversation that may have gone on past it
    (its history is the whole thread, see :func:`conversation`)."""
    return REROUTE_REQUEST + query


def conversation(query: str, history: Sequence[Turn]) -> list[dict[str, str]]:
    """Messages API turns: history then the query, strictly alternating and starting with the user (the
    support side's turns before the first of the customer's are read as context in it).

    For an agent's re-route the history is the thread as it stands, the query's own message and what
    followed it included, and the query is :func:`rerouted_query`'s.
    """
    turns: list[dict[str, str]] = []
    for turn in [*history, Turn(role="customer", text=query)]:
        role = "assistant" if turn.role in _SUPPORT_SIDE else "user"
        text = _SPEAKER_NOTE.get(turn.role, "") + turn.text
        if not turns and role == "assistant":
            # The Messages API starts with the user: what the support side said first (an agent's post
            # the customer asks under, our reply where a long thread's kept turns begin) is context there.
            role = "user"
            text = (_SPEAKER_NOTE.get(turn.role) or _EARLIER_REPLY) + turn.text
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + text
        else:
            turns.append({"role": role, "content": text})
    return turns


@dataclass
class _Read:
    """What an answer's stream has told so far: its text, the tokens it used, why Claude stopped."""

    parts: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    stop_reason: str | None = None

    def take(self, event: dict[str, Any]) -> str | None:
        """Note what ``event`` tells; the text it adds to the answer, if any. Raises for an error event."""
        kind = event.get("type")
        delta = event.get("delta") or {}
        if kind == "content_block_delta" and delta.get("type") == "text_delta":
            text = str(delta.get("text") or "")
            self.parts.append(text)
            return text
        if kind == "message_start":
            self.usage |= usage_fields((event.get("message") or {}).get("usage") or {})
        elif kind == "message_delta":
            self.stop_reason = delta.get("stop_reason")
            self.usage |= usage_fields(event.get("usage") or {})
        elif kind == "error":
            error = (event.get("error") or {}).get("type", "error")
            raise HandlerUnavailable(f"anthropic stream error: {error}")
        return None


class _ClaudeAnswer:
    def __init__(self, client: anthropic.AsyncAnthropic, category: Category, messages: list[Any]) -> None:
        self._client = client
        self._category = category
        self._messages = messages
        self._answer: Answer | None = None
        self._read = _Read()
        self._reading: AsyncGenerator[str, None] | None = None

    @property
    def answer(self) -> Answer:
        if self._answer is None:
            raise RuntimeError("the answer is read before its stream has ended")
        return self._answer

    def __aiter__(self) -> AsyncIterator[str]:
        self._reading = self._chunks()
        return self._reading

    async def stop(self) -> Answer:
        if self._reading is not None:
            # Leaves the request's context: the response is closed unread, and the connection with it.
            await self._reading.aclose()
        if self._answer is None:
            # No message_delta came: the output tokens reported are message_start's, all that is known.
            text = "".join(self._read.parts).strip()
            model = self._category.handler.model
            self._answer = Answer(text=text, model=model, usage=Usage(**self._read.usage))
        return self._answer

    async def _chunks(self) -> AsyncGenerator[str, None]:
        read = self._read
        try:
            async with self._request() as response:
                async for event in _events(_paced(response.iter_bytes(), READ_INTERVAL_SECONDS)):
                    text = read.take(event)
                    if text is not None:
                        yield text
        except (anthropic.APIError, httpx2.HTTPError) as e:
            raise self._failed(describe_api_error(e), read.usage) from e
        except HandlerUnavailable as e:
            raise self._failed(str(e), read.usage) from e
        text = self._finished_text(read)
        if read.stop_reason in CUT_OFF:
            # A cut-off answer is still useful, but must not pass for a whole one: the note says it
            # stops there (outside the code block it may have stopped in), and the log says why.
            logger.info("answer for %s was cut off: %s", self._category.name, read.stop_reason)
            fence = open_fence(text)
            note = f"\n{fence}\n\n{CUT_OFF_NOTE}" if fence else f"\n\n{CUT_OFF_NOTE}"
            yield note
            text += note
        self._answer = Answer(text=text, model=self._category.handler.model, usage=Usage(**read.usage))

    def _request(self) -> AbstractAsyncContextManager[anthropic.AsyncAPIResponse[Any]]:
        """The streamed request for the answer, its server-sent events read as JSON lines: the SDK's own
        stream builds a pydantic model per token (and its accumulator the whole message again), which
        cost more CPU than all the rest of the bot's work on an answer. The SDK still sends the request,
        retries it and raises its typed errors for a failed status."""
        handler = self._category.handler
        return self._client.messages.with_streaming_response.create(
            model=handler.model,
            max_tokens=handler.max_tokens,
            system=[{"type": "text", "text": handler.system_prompt, "cache_control": {"type": "ephemeral"}}],
            messages=self._messages,
            stream=True,
        )

    def _finished_text(self, read: _Read) -> str:
        """The answer's text once its stream has ended; raises for one Claude did not finish (the stream
        ended first), refused, or left empty."""
        if read.stop_reason is None:
            # No message_delta: the response ended (cleanly, as a proxy may end it) before Claude said it
            # had finished, so what came is a broken-off answer, not a whole one.
            raise self._failed("the answer stream ended before Claude finished it", read.usage)
        if read.stop_reason == "refusal":
            raise self._failed("the handler model refused to answer", read.usage)
        text = "".join(read.parts).strip()
        if not text:
            raise self._failed("the handler model returned an empty answer", read.usage)
        return text

    def _failed(self, reason: str, usage: dict[str, int]) -> HandlerUnavailable:
        """The error for a failed answer, with the tokens Claude reported before it failed (a stream that
        broke off has told its input, not its output): they are billed all the same."""
        return HandlerUnavailable(reason, usage=Usage(**usage), model=self._category.handler.model)


async def _paced(chunks: AsyncIterator[bytes], interval: float) -> AsyncIterator[bytes]:
    """The stream's chunks, read at most every ``interval`` seconds once the answer's text has begun.

    Claude sends each few tokens as their own event; read as they come, each one wakes the whole chain
    of readers (about 0.1 ms of CPU), 150 times per answer. Slack shows a streamed answer at most twice
    a second, so after the first words, which go out at once, the reader lets a few events gather.
    A read takes at most the HTTP client's chunk (16 KiB), so a paced stream flows at up to 160 KiB/s,
    about ten times what Claude sends while writing.
    """
    loop = asyncio.get_running_loop()
    writing = False
    last = 0.0
    async for chunk in chunks:
        yield chunk
        if not writing:
            writing = b'"text_delta"' in chunk
        else:
            wait = last + interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        last = loop.time()


async def _events(chunks: AsyncIterator[bytes]) -> AsyncIterator[dict[str, Any]]:
    """The JSON of each server-sent ``data:`` line in a byte stream; other lines are skipped.

    Lines are split on the raw bytes: decoding each chunk to text and then to lines (the HTTP client's
    ``aiter_lines``) cost more CPU than the JSON itself, for 150 small events per answer.
    """
    pending = b""
    async for chunk in chunks:
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if line.startswith(b"data:"):
                yield _event(line[5:])
    if pending.startswith(b"data:"):
        yield _event(pending[5:])


def _event(data: bytes) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except ValueError as e:
        raise HandlerUnavailable("unreadable answer stream: a data line is not JSON") from e
    return event if isinstance(event, dict) else {}


class ClaudeHandler:
    """Answers with Claude, streamed."""

    offline = False

    def __init__(self, client: anthropic.AsyncAnthropic) -> None:
        self._client = client

    def stream(self, category: Category, query: str, history: Sequence[Turn]) -> AnswerStream:
        return _ClaudeAnswer(self._client, category, list(conversation(query, history)))


class _OfflineAnswer:
    def __init__(self, category: Category) -> None:
        text = f"{OFFLINE_LABEL} {' '.join(category.offline_reply.split())}"
        self._answer = Answer(text=text, model=None, offline=True)

    @property
    def answer(self) -> Answer:
        return self._answer

    async def stop(self) -> Answer:
        return self._answer  # written at once, whole: nothing to stop

    async def __aiter__(self) -> AsyncIterator[str]:
        yield self._answer.text


class OfflineHandler:
    """Serves each category's ``offline_reply``, labelled as an offline answer."""

    offline = True

    def stream(self, category: Category, query: str, history: Sequence[Turn]) -> AnswerStream:
        return _OfflineAnswer(category)
