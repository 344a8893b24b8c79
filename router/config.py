"""The routes file's pydantic models: categories, handlers, the classifier, escalation and prices.

The models refuse what a person editing the file would get wrong (a misspelt key, a field that no longer
exists, fields swallowed by a text indented too deep) with a message saying the fix. Reading the file and
reporting its problems is :mod:`router.routes_file`.
"""

from __future__ import annotations

import importlib.util
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from router.models import Usage

NonEmpty = Annotated[str, Field(min_length=1)]
_FIELD_NAMES = (
    "escalation|handler|examples|offline_reply|description|rule|threshold|model|system_prompt|max_tokens"
    "|temperature"
)
# Two routes-file fields in a row inside a text: fields indented as deep as the text's lines above them
# (a block scalar's), read as more of it.
_SWALLOWED = re.compile(rf"\b({_FIELD_NAMES}):\s+(?:[\w.-]+\s+)?({_FIELD_NAMES}):")


def _whole(text: str) -> str:
    """``text``, unless routes-file fields ended up inside it (see :data:`_SWALLOWED`): the customer would
    read them, and the fields would be lost (a category's threshold falling back to the classifier's);
    nor blank: the Messages API refuses a system prompt or a turn of whitespace alone (HTTP 400), so a
    blank ``system_prompt`` would fail every answer of its category."""
    if not text.strip():
        raise ValueError("is blank: write the text, or leave the field out where it has a default")
    if found := _SWALLOWED.search(text):
        raise ValueError(
            f"holds '{found[1]}: {found[2]}:', routes-file fields read as part of this text: a block "
            "indented too deep joined it; indent those fields like this one"
        )
    return text


# A text the bot shows or sends (a reply, a prompt): non-empty, and holding none of the file's fields.
Prose = Annotated[str, Field(min_length=1), AfterValidator(_whole)]


def _refuse_field(data: object, name: str, why: str) -> object:
    """``data`` unchanged, unless it sets ``name``: a field that once existed or looks right, refused with
    ``why`` and the fix (a plain unknown-field error would not say why)."""
    if isinstance(data, dict) and name in data:
        raise ValueError(f"{name} {why}; remove it")
    return data


class _Strict(BaseModel):
    # A misspelt key is an error, never a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


class EscalationRule(StrEnum):
    """When a category's messages go to a person."""

    NEVER = "never"
    ALWAYS = "always"
    THRESHOLD = "threshold"


class HandlerConfig(_Strict):
    model: NonEmpty
    system_prompt: Prose
    max_tokens: int = Field(default=1024, ge=1, le=64000)

    @model_validator(mode="before")
    @classmethod
    def _no_temperature(cls, data: object) -> object:
        # Current Claude models reject `temperature` (HTTP 400) and the SDK no longer sends it.
        return _refuse_field(
            data, "temperature", "is not accepted by current Claude models (the API answers 400)"
        )


class CategoryEscalation(_Strict):
    rule: EscalationRule = EscalationRule.THRESHOLD
    # Overrides the classifier's confidence threshold for this category only.
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """``escalation: always`` (a rule alone) or ``escalation: 0.8`` (a threshold alone), as one would
        write it after reading the rules' names."""
        if isinstance(data, str):
            return {"rule": data}
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"rule": EscalationRule.THRESHOLD, "threshold": data}
        return data


# A category's name is a label agents pick from a menu (Slack shows 75 characters of an option) and
# Claude's answer names: a longer one was cut there, two alike in their first 75 looked the same.
CATEGORY_NAME_MAX_CHARS = 75


class Category(_Strict):
    name: NonEmpty
    description: Prose
    examples: list[NonEmpty] = Field(min_length=1)
    handler: HandlerConfig
    offline_reply: Prose
    escalation: CategoryEscalation = CategoryEscalation()

    @field_validator("name")
    @classmethod
    def _short_name(cls, name: str) -> str:
        if len(name) > CATEGORY_NAME_MAX_CHARS:
            raise ValueError(
                f"{len(name)} characters, at most {CATEGORY_NAME_MAX_CHARS}: agents pick a category from a "
                f"Slack menu that shows {CATEGORY_NAME_MAX_CHARS}; shorten the name and put the detail in "
                "its description"
            )
        return name


def shipped_embeddings() -> set[tuple[str, int]]:
    """The (configuration, width) pairs whose wordllama weights are installed; empty if it is not."""
    spec = importlib.util.find_spec("wordllama")  # found without importing it (that costs ~0.3 s)
    if spec is None or not spec.submodule_search_locations:
        return set()
    weights = Path(next(iter(spec.submodule_search_locations))) / "weights"
    pairs = set()
    for path in weights.glob("*_*.safetensors"):
        name, _, dim = path.stem.rpartition("_")
        if dim.isdigit():
            pairs.add((name, int(dim)))
    return pairs


class LocalModelConfig(_Strict):
    """The offline embedding classifier."""

    # wordllama configuration name and embedding width: only weights inside its wheel can be used, since
    # nothing is downloaded (l2_supercat at 256 is the one it ships).
    embedding: NonEmpty = "l2_supercat"
    dim: int = Field(default=256, ge=64, le=1024)
    # Used as a first stage: a local answer at or above this confidence skips the Claude call.
    # None disables the first stage (every message goes to Claude when a key is set).
    accept_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    # The linear head: SVM regularisation (C) and the weight of the embedding beside the TF-IDF n-grams.
    # Defaults chosen by cross-validation on the benchmark sets' training splits (benchmarks/quality.py).
    regularisation: float = Field(default=1.0, gt=0.0, le=100.0)
    embedding_weight: float = Field(default=1.5, ge=0.0, le=10.0)
    # Confidence is the probability that the answer is right, from a logistic model over the linear scores
    # and the similarity to the nearest example of the predicted category. It is fitted on out-of-fold
    # predictions in which whole categories are held out, standing in for messages that fit none.
    calibration_folds: int = Field(default=3, ge=2, le=10)
    # The share of the confidence fit's weight on the stand-ins for out-of-scope messages (the rest is on
    # the in-scope ones).
    unknown_weight: float = Field(default=0.5, gt=0.0, lt=1.0)
    # At most this many examples take part in that cross-validation (it runs at every refit).
    calibration_sample: int = Field(default=20_000, ge=30)
    # Examples learned from history, per category; the newest are kept (seed examples always stay).
    max_learned_per_category: int = Field(default=500, ge=0, le=100_000)

    @model_validator(mode="before")
    @classmethod
    def _no_k(cls, data: object) -> object:
        # Early routes files carried `k` from the nearest-neighbour vote that the linear head replaced.
        return _refuse_field(
            data,
            "k",
            "is no longer used (the local classifier is a linear model over every example, not a "
            "nearest-neighbour vote)",
        )

    @model_validator(mode="after")
    def _weights_ship(self) -> LocalModelConfig:
        shipped = shipped_embeddings()
        if shipped and (self.embedding, self.dim) not in shipped:
            offered = ", ".join(f"embedding {name} with dim {dim}" for name, dim in sorted(shipped))
            raise ValueError(
                f"wordllama has no weights for embedding {self.embedding} with dim {self.dim} on this "
                f"machine and none are downloaded; use {offered}"
            )
        return self


class ClassifierConfig(_Strict):
    model: NonEmpty
    confidence_threshold: float = Field(default=0.7, ge=0.0, le=1.0)
    max_tokens: int = Field(default=400, ge=64, le=4096)
    local: LocalModelConfig = LocalModelConfig()


# How agents are described to customers, unless the routes file says otherwise.
DEFAULT_AGENT_DESCRIPTION = "a member of our support team"


class EscalationConfig(_Strict):
    customer_message: Prose
    # In a direct message agents cannot join the conversation: they contact the customer instead.
    customer_message_dm: Prose = (
        "Thanks for your patience. I've passed your message to our support team, and a person will get in "
        "touch with you directly."
    )
    # How the customer is told who re-routed their message: "Re-routed to Technical Support by …".
    agent_description: Prose = DEFAULT_AGENT_DESCRIPTION


class ModelPrice(_Strict):
    """USD per million tokens."""

    input: float = Field(ge=0.0)
    output: float = Field(ge=0.0)
    cache_read: float | None = Field(default=None, ge=0.0)
    cache_write: float | None = Field(default=None, ge=0.0)

    def cost(self, usage: Usage) -> float:
        """Estimated cost in USD of ``usage`` at this price."""
        cache_read = self.input * 0.1 if self.cache_read is None else self.cache_read
        cache_write = self.input * 1.25 if self.cache_write is None else self.cache_write
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_read_tokens * cache_read
            + usage.cache_creation_tokens * cache_write
        ) / 1_000_000


class RoutesConfig(_Strict):
    classifier: ClassifierConfig
    escalation: EscalationConfig
    categories: list[Category] = Field(min_length=1)
    prices: dict[str, ModelPrice] = {}
    # The bot's reply to a customer who only thanks it or says goodbye after an answer.
    acknowledgement_reply: Prose = "You're welcome! If anything else comes up, just write here."
    # Put before a reply that comes late (the bot was away, Claude down for a while): see the bot's
    # LATE_REPLY_MINUTES setting.
    late_reply_note: Prose = "Sorry for the slow reply."
    # Filled in by load_routes: a short hash of the file's bytes, recorded with every decision.
    version: str = "unversioned"

    @field_validator("categories")
    @classmethod
    def _unique_names(cls, categories: list[Category]) -> list[Category]:
        seen: set[str] = set()
        for category in categories:
            key = category.name.casefold()
            if key in seen:
                raise ValueError(f"category name {category.name!r} appears twice; names must be unique")
            seen.add(key)
        return categories

    @model_validator(mode="after")
    def _models_priced(self) -> RoutesConfig:
        if not self.prices:
            return self  # accepted, costs read $0: serve warns of it (see unpriced_models)
        models = self.models
        missing = self.unpriced_models
        if missing:
            used = "; ".join(f"{model} in {', '.join(models[model])}" for model in missing)
            raise ValueError(
                f"prices has no entry for model(s) {', '.join(missing)} ({used}); add one per model used, "
                "or correct the model id there"
            )
        return self

    @property
    def models(self) -> dict[str, list[str]]:
        """Each Claude model the file names, with the fields naming it (``categories[1].handler.model``)."""
        used: dict[str, list[str]] = {self.classifier.model: ["classifier.model"]}
        for i, category in enumerate(self.categories):
            used.setdefault(category.handler.model, []).append(f"categories[{i}].handler.model")
        return used

    @property
    def unpriced_models(self) -> list[str]:
        """The models the file names without a price, sorted: every one when there is no ``prices`` block
        (a partial block is refused), whose costs the decisions then record as $0."""
        return sorted(set(self.models) - set(self.prices))

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.categories]

    def category(self, name: str) -> Category:
        """The category called ``name`` (exact match); KeyError otherwise."""
        for category in self.categories:
            if category.name == name:
                return category
        raise KeyError(name)

    def cost(self, model: str | None, usage: Usage) -> float:
        """Estimated USD cost of ``usage`` on ``model`` (0 when the model has no price)."""
        price = self.prices.get(model or "")
        return price.cost(usage) if price else 0.0
