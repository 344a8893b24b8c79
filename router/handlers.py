"""Category handlers: each answers with its own system prompt and model, streamed as text.

``ClaudeHandler`` streams from the Messages API; ``OfflineHandler`` serves the category's
``offline_reply``, labelled as such, when no API key is configured.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

import anthropic
import httpx2

from router.classifiers.claude import describe_api_error, usage_fields
from router.config import Category
from router.errors import HandlerUnavailable
from router.models import Answer, Turn, Usage

logger = logging.getLogger(__name__)

OFFLINE_LABEL = "_Automatic answer (our assistant is offline):_"


class AnswerStream(Protocol):
    """An answer in the making: iterate it for text chunks, then read ``answer``."""

    def __aiter__(self) -> AsyncIterator[str]: ...

    @property
    def answer(self) -> Answer:
        """The finished answer; valid once iteration has ended."""
        ...


class Handler(Protocol):
    """Produces a category's answer to a message."""

    def stream(self, category: Category, query: str, history: Sequence[Turn]) -> AnswerStream:
        """Start answering ``query`` as ``category``'s specialist, with the thread's earlier turns."""
        ...


def conversation(query: str, history: Sequence[Turn]) -> list[dict[str, str]]:
    """Messages API turns: history then the query, strictly alternating and starting with the user."""
    turns: list[dict[str, str]] = []
    for turn in [*history, Turn(role="customer", text=query)]:
        role = "user" if turn.role == "customer" else "assistant"
        if not turns and role == "assistant":
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + turn.text
        else:
            turns.append({"role": role, "content": turn.text})
    return turns


class _ClaudeAnswer:
    def __init__(self, client: anthropic.AsyncAnthropic, category: Category, messages: list[Any]) -> None:
        self._client = client
        self._category = category
        self._messages = messages
        self._answer: Answer | None = None

    @property
    def answer(self) -> Answer:
        if self._answer is None:
            raise RuntimeError("the answer is read before its stream has ended")
        return self._answer

    async def __aiter__(self) -> AsyncIterator[str]:
        handler = self._category.handler
        parts: list[str] = []
        usage: dict[str, int] = {}
        stop_reason: str | None = None
        try:
            # The raw event stream: the SDK's message accumulator rebuilds the whole message on every
            # token, which doubled the CPU an answer costs.
            stream = await self._client.messages.create(
                model=handler.model,
                max_tokens=handler.max_tokens,
                system=[
                    {"type": "text", "text": handler.system_prompt, "cache_control": {"type": "ephemeral"}}
                ],
                messages=self._messages,
                stream=True,
            )
            async with stream:
                async for event in stream:
                    if event.type == "content_block_delta" and event.delta.type == "text_delta":
                        parts.append(event.delta.text)
                        yield event.delta.text
                    elif event.type == "message_start":
                        usage |= usage_fields(event.message.usage)
                    elif event.type == "message_delta":
                        stop_reason = event.delta.stop_reason
                        usage |= usage_fields(event.usage)
        except (anthropic.APIError, httpx2.HTTPError) as e:
            raise HandlerUnavailable(describe_api_error(e)) from e
        if stop_reason == "refusal":
            raise HandlerUnavailable("the handler model refused to answer")
        text = "".join(parts).strip()
        if not text:
            raise HandlerUnavailable("the handler model returned an empty answer")
        # A cut-off answer is still useful; the customer sees it and the log says why it is short.
        if stop_reason == "max_tokens":
            logger.info("answer for %s hit max_tokens", self._category.name)
        self._answer = Answer(text=text, model=handler.model, usage=Usage(**usage))


class ClaudeHandler:
    """Answers with Claude, streamed."""

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

    async def __aiter__(self) -> AsyncIterator[str]:
        yield self._answer.text


class OfflineHandler:
    """Serves each category's ``offline_reply``, labelled as an offline answer."""

    def stream(self, category: Category, query: str, history: Sequence[Turn]) -> AnswerStream:
        return _OfflineAnswer(category)
