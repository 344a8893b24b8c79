"""Claude as a classifier: one request whose output is schema-enforced (structured outputs).

The schema's ``category`` is an enum of the configured names, so Claude cannot answer with anything
else; every failure (API error, timeout, refusal, cut-off or invalid output) becomes
:class:`ClassifierUnavailable`, which the hybrid classifier turns into a local fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import anthropic
import httpx2
import pydantic
from pydantic import BaseModel, Field, create_model

from router.config import RoutesConfig
from router.errors import ClassifierUnavailable
from router.models import Classification, Source, Turn, Usage
from router.prompts import classifier_system_prompt, classifier_user_prompt

logger = logging.getLogger(__name__)


def verdict_model(names: Sequence[str]) -> type[BaseModel]:
    """A pydantic model of Claude's verdict whose ``category`` admits only ``names``."""
    category_type: Any = Literal[tuple(names)]
    model: type[BaseModel] = create_model(
        "RoutingVerdict",
        category=(category_type, Field(description="The one category this message belongs to.")),
        confidence=(float, Field(ge=0.0, le=1.0, description="Probability that the category is right.")),
        reasoning=(str, Field(description="One short sentence explaining the choice.")),
        wants_human=(bool, Field(description="True only if the customer asks for a person.")),
    )
    return model


def usage_fields(usage: Any) -> dict[str, int]:
    """The token counts an SDK usage object (or its JSON) carries, under our names; absent ones left out.

    A stream's message_start carries the input counts and its message_delta the totals, so a streamed
    answer merges the two.
    """

    def read(name: str) -> Any:
        return usage.get(name) if isinstance(usage, Mapping) else getattr(usage, name, None)

    fields = {
        "input_tokens": read("input_tokens"),
        "output_tokens": read("output_tokens"),
        "cache_read_tokens": read("cache_read_input_tokens"),
        "cache_creation_tokens": read("cache_creation_input_tokens"),
    }
    return {name: value for name, value in fields.items() if value is not None}


def usage_of(response: Any) -> Usage:
    """Token usage of a Messages API response (absent fields count as zero)."""
    return Usage(**usage_fields(getattr(response, "usage", None)))


def describe_api_error(error: Exception) -> str:
    """A short, token-free description of an SDK or transport error for the decision log."""
    if isinstance(error, anthropic.APIStatusError):
        return f"anthropic {error.status_code} {type(error).__name__}"
    return f"anthropic {type(error).__name__}"


class ClaudeClassifier:
    """Classifies with one structured-output Messages API call."""

    def __init__(self, client: anthropic.AsyncAnthropic, routes: RoutesConfig) -> None:
        self._client = client
        self._routes = routes
        self._verdict = verdict_model(routes.names)
        # Structured outputs, validated here rather than by the SDK's messages.parse: that raises on an
        # unreadable verdict and drops the response, whose tokens are billed all the same.
        self._format: Any = {"type": "json_schema", "schema": anthropic.transform_schema(self._verdict)}
        # The system prompt is the same for every message: mark it cacheable.
        self._system: list[Any] = [
            {
                "type": "text",
                "text": classifier_system_prompt(routes),
                "cache_control": {"type": "ephemeral"},
            }
        ]

    @property
    def model(self) -> str:
        return self._routes.classifier.model

    async def classify(self, text: str, history: Sequence[Turn] = ()) -> Classification:
        """Classify ``text`` with Claude.

        Raises:
            ClassifierUnavailable: the API failed after the SDK's retries, or the output was unusable.
        """
        try:
            response = await self._client.messages.create(
                model=self.model,
                max_tokens=self._routes.classifier.max_tokens,
                system=self._system,
                messages=[{"role": "user", "content": classifier_user_prompt(text, history)}],
                output_config={"format": self._format},
            )
        except (anthropic.APIError, httpx2.HTTPError) as e:
            raise ClassifierUnavailable(describe_api_error(e)) from e
        usage = usage_of(response)

        def failed(reason: str) -> ClassifierUnavailable:
            # A refused, cut-off or unreadable verdict is billed: the fallback's decision records it.
            return ClassifierUnavailable(reason, usage=usage, model=self.model)

        if response.stop_reason == "refusal":
            raise failed("classifier refused the message")
        if response.stop_reason == "max_tokens":
            raise failed("classifier output was cut off (max_tokens)")
        output = "".join(block.text for block in response.content if block.type == "text")
        if not output.strip():
            raise failed("classifier returned no structured output")
        try:
            verdict = self._verdict.model_validate_json(output)
        except pydantic.ValidationError as e:
            raise failed(f"invalid classifier output: {type(e).__name__}") from e
        data = verdict.model_dump()
        return Classification(
            category=data["category"],
            confidence=data["confidence"],
            reasoning=" ".join(str(data["reasoning"]).split())[:500] or "(no reasoning given)",
            wants_human=bool(data["wants_human"]),
            source=Source.CLAUDE,
            model=self.model,
            usage=usage,
        )
