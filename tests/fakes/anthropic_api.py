"""A fake Anthropic Messages API on 127.0.0.1 for the real ``anthropic.AsyncAnthropic`` client.

Classification requests (structured outputs via ``messages.parse`` or a forced tool) get a verdict from
``classify_fn``; every other request is an answer from ``answer_fn``, plain or streamed. Latency and
faults are scripted; every request is recorded.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from aiohttp import web

from tests.fakes import anthropic_content as content
from tests.fakes.anthropic_content import Classification
from tests.fakes.anthropic_faults import HTTP_FAULTS, FaultPlan, error_response
from tests.fakes.anthropic_requests import request_problem
from tests.fakes.anthropic_sse import Pacing, Reply, stream_reply
from tests.fakes.server import LocalServer

ClassifyFn = Callable[[str, list[str]], dict[str, Any]]
AnswerFn = Callable[[dict[str, Any]], str]


class RecordedRequest(NamedTuple):
    """One request to ``/v1/messages``: ``kind`` is ``"classify"`` or ``"answer"``."""

    kind: str
    body: dict[str, Any]
    headers: dict[str, str]


class FakeAnthropic(LocalServer):
    """The fake Messages API. Point ``AsyncAnthropic(base_url=fake.base_url, api_key="test")`` at it."""

    def __init__(
        self,
        *,
        classify_fn: ClassifyFn | None = None,
        answer_fn: AnswerFn | None = None,
        classify_latency: float = 0.0,
        first_token_latency: float = 0.0,
        tokens_per_second: float | None = None,
        answer_tokens: int = 40,
        retry_after: float = 0.0,
        hang_seconds: float = 30.0,
        api_key: str | None = None,
    ) -> None:
        super().__init__()
        self.classify_fn: ClassifyFn = classify_fn or content.default_classify
        self.answer_fn: AnswerFn = answer_fn or self.default_answer
        self.classify_latency = classify_latency
        self.first_token_latency = first_token_latency
        self.tokens_per_second = tokens_per_second
        self.answer_tokens = answer_tokens
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        # What each request that got a message back (not an HTTP fault) was sent, with its token counts.
        self.replies: list[Reply] = []
        self.counters: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self._faults = FaultPlan()
        self._cache_keys: set[str] = set()
        # Model ids the Models and Messages APIs answer 404 for (besides any not starting with "claude-").
        self.unknown_models: set[str] = set()
        self.app.router.add_post("/v1/messages", self._messages)
        self.app.router.add_get("/v1/models/{model_id}", self._model)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, for ``AsyncAnthropic(base_url=...)`` or ``ANTHROPIC_BASE_URL``."""
        return self.root_url

    def fail_next(self, kind: str, count: int = 1, *, only: str | None = None) -> None:
        """Serves fault ``kind`` to the next ``count`` matching requests (``only``: classify/answer/None)."""
        self._faults.add(kind, count, only)

    def set_fault_rate(
        self,
        rate: float,
        kinds: Iterable[str] = HTTP_FAULTS[:3],
        seed: int | None = 0,
        *,
        only: str | None = None,
    ) -> None:
        """Fails a seeded random fraction ``rate`` of requests with a kind drawn from ``kinds``."""
        self._faults.set_rate(rate, kinds, seed, only)

    def clear_faults(self) -> None:
        """Cancels queued faults and the random fault rate."""
        self._faults.clear()

    @property
    def pending_faults(self) -> int:
        """Queued one-shot faults not yet served."""
        return self._faults.pending

    def bodies(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Request bodies, optionally only of one kind (``"classify"`` or ``"answer"``)."""
        return [r.body for r in self.requests if kind in (None, r.kind)]

    def default_answer(self, body: dict[str, Any]) -> str:
        """``**Answer** from <first five words of the system prompt>: ...`` padded to ``answer_tokens``."""
        return content.default_answer(body, self.answer_tokens)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        request_id = content.new_id("req")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "invalid_request_error", "Request body is not valid JSON.", request_id)
        problem = self._invalid(request, body)
        if problem:
            return _error(*problem, request_id)
        schema = content.classification_schema(body)
        kind = "classify" if schema else "answer"
        streamed = bool(body.get("stream"))
        self.requests.append(RecordedRequest(kind, body, dict(request.headers)))
        self.counters[kind] += 1
        self.counters["stream" if streamed else "plain"] += 1
        fault = self._faults.take(kind, streamed)
        if fault:
            self.counters[f"fault:{fault}"] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._respond(request, body, schema, fault, request_id)
        finally:
            self.in_flight -= 1

    async def _model(self, request: web.Request) -> web.Response:
        """``GET /v1/models/{model_id}``: the model, as the Models API describes it, or its 404."""
        request_id = content.new_id("req")
        if not self._authorised(request):
            return _error(401, "authentication_error", "invalid x-api-key", request_id)
        model = request.match_info["model_id"]
        self.counters["models"] += 1
        if model in self.unknown_models or not model.startswith("claude-"):
            return _error(404, "not_found_error", f"model: {model}", request_id)
        name = " ".join(part.capitalize() for part in model.split("-"))
        body = {"type": "model", "id": model, "display_name": name, "created_at": "2026-01-01T00:00:00Z"}
        return web.json_response(body, headers={"request-id": request_id})

    def _authorised(self, request: web.Request) -> bool:
        """Whether the request carries ``api_key`` (when one is set): as ``x-api-key``, or as the bearer
        token the SDK sends it as since its 2.x releases."""
        if self.api_key is None:
            return True
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        return self.api_key in (request.headers.get("x-api-key"), bearer)

    def _invalid(self, request: web.Request, body: Any) -> tuple[int, str, str] | None:
        """The API's refusal of a request (:mod:`tests.fakes.anthropic_requests`), or None."""
        if not self._authorised(request):
            return 401, "authentication_error", "invalid x-api-key"
        if not request.headers.get("anthropic-version"):
            return 400, "invalid_request_error", "anthropic-version: header is required"
        return request_problem(body, self.unknown_models)

    async def _respond(
        self,
        request: web.Request,
        body: dict[str, Any],
        schema: Classification | None,
        fault: str | None,
        request_id: str,
    ) -> web.StreamResponse:
        if fault == "timeout":
            await self.sleep(self.hang_seconds)
            fault = None
        if fault in HTTP_FAULTS:
            status, error_body, headers = error_response(fault, request_id, self.retry_after)
            return web.json_response(error_body, status=status, headers=headers)
        reply = self._classify(body, schema, fault) if schema else self._answer(body, fault)
        headers = {"request-id": request_id, "anthropic-organization-id": "fake-org"}
        streamed = bool(body.get("stream"))
        if schema:
            await self.sleep(self.classify_latency)
            pacing = Pacing()
        else:
            pacing = Pacing(self.first_token_latency, self.tokens_per_second, self.sleep)
        if streamed:
            return await stream_reply(request, reply, headers, pacing, fault)
        if not schema:
            words = sum(len(content.split_tokens(b.get("text", ""))) for b in reply.blocks)
            tps = self.tokens_per_second
            await self.sleep(self.first_token_latency + (words / tps if tps else 0.0))
        payload = content.message(reply.id, reply.model, reply.blocks, reply.stop_reason, reply.usage_final)
        return web.json_response(payload, headers=headers)

    def _classify(self, body: dict[str, Any], request: Classification, fault: str | None) -> Reply:
        mode, schema, tool = request
        verdict = self.classify_fn(content.customer_text(body), content.categories_of(schema))
        filled = content.fill_schema(schema, verdict)
        text, stop, raw = json.dumps(filled), "end_turn" if mode == "json_schema" else "tool_use", None
        value: Any = filled
        if fault == "malformed":
            text, value = content.malformed_text(verdict), content.schema_violation(schema)
        elif fault == "schema_violation":
            value = content.schema_violation(schema)
            text = json.dumps(value)
        elif fault == "max_tokens":
            text = raw = content.cut_off(text)
            value, stop = {k: v for k, v in list(filled.items())[:1]}, "max_tokens"
        if fault == "refusal":
            blocks, stop = ([{"type": "text", "text": ""}] if body.get("stream") else []), "refusal"
        elif mode == "json_schema":
            blocks = [{"type": "text", "text": text}]
        else:
            blocks = [{"type": "tool_use", "id": content.new_id("toolu"), "name": tool or "", "input": value}]
        reply = self._reply(body, blocks, stop, out_text=text)
        if raw is not None and mode == "tool":
            reply.raw_json[0] = raw
        return reply

    def _answer(self, body: dict[str, Any], fault: str | None) -> Reply:
        text, stop = self.answer_fn(body), "end_turn"
        if fault == "max_tokens":
            text, stop = content.cut_off(text), "max_tokens"
        if fault == "refusal":
            blocks, stop = ([{"type": "text", "text": ""}] if body.get("stream") else []), "refusal"
        else:
            blocks = [{"type": "text", "text": text}]
        return self._reply(body, blocks, stop, out_text=text if fault != "refusal" else "")

    def _reply(self, body: dict[str, Any], blocks: list[dict[str, Any]], stop: str, out_text: str) -> Reply:
        total, cache_key, prefix = content.input_tokens(body)
        read = write = 0
        if cache_key is not None:
            read, write = (prefix, 0) if cache_key in self._cache_keys else (0, prefix)
            self._cache_keys.add(cache_key)
        out = max(len(content.split_tokens(out_text)), content.estimate_tokens(out_text)) if out_text else 0
        reply = Reply(
            id=content.new_id("msg"),
            model=str(body["model"]),
            blocks=blocks,
            stop_reason=stop,
            usage_start=content.usage(total, out, cache_read=read, cache_write=write, final=False),
            usage_final=content.usage(total, out, cache_read=read, cache_write=write),
        )
        self.replies.append(reply)
        return reply


def _error(status: int, error_type: str, text: str, request_id: str) -> web.Response:
    body = {"type": "error", "error": {"type": error_type, "message": text}, "request_id": request_id}
    return web.json_response(body, status=status, headers={"request-id": request_id})
