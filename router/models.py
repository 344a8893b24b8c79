"""Domain types shared by classifiers, handlers, the policy and the router."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Source(StrEnum):
    """Which classifier produced a classification."""

    CLAUDE = "claude"
    LOCAL = "local"
    # The local model standing in because Claude failed: always escalated.
    FALLBACK = "fallback"
    # An agent chose the category (a re-route from the agent controls).
    AGENT = "agent"
    # No classifier ran: the message had no words to classify (a file alone); always escalated.
    NONE = "none"


class EscalationReason(StrEnum):
    """Why a message was handed to a person."""

    LOW_CONFIDENCE = "low_confidence"
    ASKED_FOR_HUMAN = "asked_for_human"
    CATEGORY_RULE = "category_rule"
    CLASSIFIER_ERROR = "classifier_error"
    HANDLER_ERROR = "handler_error"
    # Nothing to read: a file or an image with no words, which the bot cannot open.
    NO_TEXT = "no_text"
    # The conversation is in a person's hands already: what the customer adds goes to them (a DM, whose
    # escalations agents read in their own channel, not in the conversation).
    WITH_A_PERSON = "with_a_person"
    # The bot is offline and the customer wrote again after its offline reply, which promised a person.
    OFFLINE_FOLLOW_UP = "offline_follow_up"
    # An agent wrote in the thread while the bot was still writing its answer (not yet shown): the
    # answer is not posted under theirs; the message is theirs.
    AGENT_FIRST = "agent_first"


class Usage(BaseModel):
    """Tokens spent on one or more Claude calls."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cache_read_tokens: int = Field(default=0, ge=0)
    cache_creation_tokens: int = Field(default=0, ge=0)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_creation_tokens=self.cache_creation_tokens + other.cache_creation_tokens,
        )


class Classification(BaseModel):
    """A classifier's verdict on one message."""

    model_config = ConfigDict(frozen=True)

    category: str
    confidence: float = Field(ge=0.0, le=1.0)
    reasoning: str
    wants_human: bool = False
    source: Source
    model: str | None = None
    usage: Usage = Usage()
    # The model ``usage`` was spent on when it is not ``model``: the Claude call that failed before this
    # stand-in (a fallback) took its place, which Claude bills all the same.
    usage_model: str | None = None
    # Set when this classification stands in for one that failed (source is FALLBACK).
    error: str | None = None


Role = Literal["customer", "assistant", "rerouted", "agent", "other"]


class Turn(BaseModel):
    """One earlier message of a conversation (a thread), oldest first."""

    model_config = ConfigDict(frozen=True)

    # customer: the person being answered; assistant: the bot; agent: a support agent; other: anyone else
    # in the thread (a colleague who posted the problem, another app's ticket); rerouted: a reply of the
    # bot's that an agent replaced by re-routing the message it answered (the wrong kind of answer).
    role: Role
    text: str


class Answer(BaseModel):
    """A handler's finished answer."""

    text: str
    model: str | None
    offline: bool = False
    usage: Usage = Usage()


class RoutingDecision(BaseModel):
    """Everything about how one message was routed and answered; what the store records."""

    query: str
    category: str
    confidence: float = Field(ge=0.0, le=1.0)
    reasoning: str
    escalated: bool
    escalation_reason: EscalationReason | None = None
    source: Source
    classifier_model: str | None = None
    handler_model: str | None = None
    answer: str | None = None
    offline: bool = False
    routing_ms: float = Field(ge=0.0)
    handling_ms: float = Field(ge=0.0)
    total_ms: float = Field(ge=0.0)
    usage: Usage = Usage()
    cost_usd: float = Field(default=0.0, ge=0.0)
    error: str | None = None
    routes_version: str
    # False when the times and usage above are not known (stand-ins of 0): a reply found already posted
    # after a restart, whose attempt's figures were lost, or a message given up on after every retry.
    # Averages and percentiles of times and cost leave such decisions out.
    measured: bool = True
    # A message that only thanked or said goodbye after an answer, given the routes' acknowledgement_reply:
    # no handler wrote it, so its handling time of 0 is no answer's, and its category is whatever the
    # classifier made of "thanks". Reports count it apart, out of handling times and category shares.
    acknowledgement: bool = False
    # The customer stopped the streamed answer in Slack (or deleted the message: ``withdrawn``): ``answer`` is
    # what Claude had written by then (its request was closed there), and ``usage`` the tokens reported
    # until then (the output's, at its start).
    stopped_by_customer: bool = False
    # The customer deleted the message before its reply was posted: nothing was posted, and the decision is
    # kept for what it cost (see bot.withdrawals).
    withdrawn: bool = False
