"""The fake Anthropic API refuses what the real Messages API refuses, with the same status and error body:
a fake that took a request the API answers 400 would let the suite pass while production failed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx2
import pydantic
import pytest

from tests.fakes import FakeAnthropic

MODEL = "claude-haiku-4-5"
ASK = [{"role": "user", "content": "I was charged twice"}]
HEADERS = {"x-api-key": "test", "anthropic-version": "2023-06-01", "content-type": "application/json"}
VERDICT = {
    "type": "object",
    "properties": {"category": {"type": "string", "enum": ["Refund Request", "General Question"]}},
    "required": ["category"],
    "additionalProperties": False,
}


class Scored(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    confidence: float = pydantic.Field(ge=0, le=1)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic(answer_tokens=8) as server:
        yield server


async def _post(
    fake: FakeAnthropic, body: dict[str, Any], headers: dict[str, str] = HEADERS
) -> httpx2.Response:
    async with httpx2.AsyncClient(base_url=fake.base_url) as http:
        return await http.post("/v1/messages", json=body, headers=headers)


def _body(**fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 100, "messages": ASK, **fields}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": MODEL, "messages": ASK}, "max_tokens: Field required"),
        (_body(max_tokens="100"), "max_tokens: Input should be a valid integer"),
        (_body(max_tokens=0), "max_tokens: Input should be greater than or equal to 1"),
        # The structured-outputs beta's parameter, moved to output_config.format when it became GA.
        (_body(output_format={"type": "json_schema", "schema": VERDICT}), "output_format: Extra inputs"),
        (_body(messages=[{"role": "user", "content": ""}]), "messages.0: all messages must have non-empty"),
        (_body(messages=[{"role": "user", "content": " \n"}]), "must contain non-whitespace text"),
        (_body(messages=[{"role": "system", "content": "hi"}]), "messages.0.role"),
        (
            _body(system=[{"type": "text", "text": ""}]),
            "system.0.text: text content blocks must be non-empty",
        ),
        (
            _body(
                output_config={
                    "format": {"type": "json_schema", "schema": {**VERDICT, "additionalProperties": True}}
                }
            ),
            "'additionalProperties' must be explicitly set to false",
        ),
        (
            _body(output_config={"format": {"type": "json_schema", "schema": Scored.model_json_schema()}}),
            "property 'maximum' is not supported",
        ),
    ],
)
async def test_a_request_the_api_refuses_is_answered_400_and_not_served(
    fake: FakeAnthropic, body: dict[str, Any], message: str
) -> None:
    response = await _post(fake, body)
    assert response.status_code == 400
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert message in error["error"]["message"] and error["request_id"].startswith("req_")
    assert response.headers["request-id"] == error["request_id"]
    assert fake.requests == []


async def test_the_sdk_raises_its_typed_errors_for_the_refusals(fake: FakeAnthropic) -> None:
    """What the bot catches: ``BadRequestError`` (400) and ``NotFoundError`` (404, a model the API does
    not know, on /v1/messages as on /v1/models)."""
    fake.unknown_models.add("claude-retired-1")
    async with anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test", max_retries=0) as claude:
        with pytest.raises(anthropic.BadRequestError, match="output_format: Extra inputs"):
            await claude.messages.create(
                model=MODEL,
                max_tokens=100,
                messages=[{"role": "user", "content": "hi"}],
                extra_body={"output_format": {"type": "json_schema", "schema": VERDICT}},
            )
        with pytest.raises(anthropic.NotFoundError, match="model: claude-retired-1"):
            await claude.messages.create(
                model="claude-retired-1", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
            )
        # The SDK's own structured-outputs schema (constraints moved into descriptions) is taken.
        parsed = await claude.messages.parse(
            model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hi"}], output_format=Scored
        )
    assert parsed.parsed_output is not None and [r.kind for r in fake.requests] == ["classify"]


async def test_a_request_without_the_version_header_is_refused(fake: FakeAnthropic) -> None:
    response = await _post(fake, _body(), {k: v for k, v in HEADERS.items() if k != "anthropic-version"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "anthropic-version: header is required"
    assert (await _post(fake, _body())).status_code == 200
