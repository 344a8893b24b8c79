"""Sample values for the store tests."""

from __future__ import annotations

from typing import Any

from bot.store import InboundMessage
from router.models import EscalationReason, RoutingDecision, Source, Usage


def message(ts: str = "1712345678.000100", **overrides: Any) -> InboundMessage:
    fields: dict[str, Any] = {
        "team_id": "T0001",
        "channel_id": "C0001",
        "ts": ts,
        "user_id": "U0001",
        "text": "I was charged twice for my order",
        "channel_type": "channel",
    }
    return InboundMessage(**(fields | overrides))


def decision(**overrides: Any) -> RoutingDecision:
    fields: dict[str, Any] = {
        "query": "I was charged twice for my order",
        "category": "Refund Request",
        "confidence": 0.91,
        "reasoning": "Mentions a double charge.",
        "escalated": True,
        "escalation_reason": EscalationReason.CATEGORY_RULE,
        "source": Source.CLAUDE,
        "classifier_model": "claude-haiku-4-5",
        "handler_model": "claude-sonnet-4-5",
        "answer": "Sorry about that; a person will follow up.",
        "offline": False,
        "routing_ms": 412.5,
        "handling_ms": 1830.25,
        "total_ms": 2242.75,
        "usage": Usage(input_tokens=1200, output_tokens=150, cache_read_tokens=900, cache_creation_tokens=30),
        "cost_usd": 0.0042,
        "error": None,
        "routes_version": "sha256:abc123",
    }
    return RoutingDecision(**(fields | overrides))
