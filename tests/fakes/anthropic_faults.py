"""Scripted faults for the fake Anthropic API: which request gets which failure, and the error bodies."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# HTTP-level faults apply to any request; the others only where they make sense.
HTTP_FAULTS = ("429", "529", "500", "timeout")
CLASSIFY_ONLY = ("malformed", "schema_violation")
STREAM_ONLY = ("stream_break", "stream_drop")
FAULT_KINDS = (*HTTP_FAULTS, *CLASSIFY_ONLY, "refusal", "max_tokens", *STREAM_ONLY)

_ERRORS: dict[str, tuple[int, str, str]] = {
    "429": (
        429,
        "rate_limit_error",
        "This request would exceed your organization's rate limit of 20,000,000 prompt bytes per hour "
        "(model: claude-sonnet-4-5-20250929). "
        "For details, refer to: https://docs.claude.com/en/api/rate-limits. "
        "You can see the response headers for current usage. Please reduce the prompt length or the maximum "
        "tokens requested, or try again later.",
    ),
    "529": (529, "overloaded_error", "Overloaded"),
    "500": (500, "api_error", "Internal server error"),
}


def applies(kind: str, request_kind: str, streamed: bool) -> bool:
    """Whether a fault ``kind`` can be served to this request at all."""
    if kind in CLASSIFY_ONLY:
        return request_kind == "classify"
    if kind in STREAM_ONLY:
        return streamed
    return True


@dataclass
class _Pending:
    kind: str
    remaining: int
    only: str | None


class FaultPlan:
    """A queue of one-shot faults plus an optional random fault rate."""

    def __init__(self) -> None:
        self._queue: list[_Pending] = []
        self._rate = 0.0
        self._kinds: tuple[str, ...] = ()
        self._rate_only: str | None = None
        self._rng = random.Random(0)

    def add(self, kind: str, count: int, only: str | None) -> None:
        """Queues ``count`` faults of ``kind`` for the next matching requests."""
        _check(kind)
        if only not in (None, "classify", "answer"):
            raise ValueError(f"only must be 'classify', 'answer' or None, not {only!r}")
        self._queue.append(_Pending(kind, count, only))

    def set_rate(self, rate: float, kinds: Iterable[str], seed: int | None, only: str | None) -> None:
        """Fails a fraction ``rate`` of requests with a kind drawn from ``kinds`` (seeded, reproducible)."""
        self._kinds = tuple(kinds)
        for kind in self._kinds:
            _check(kind)
        self._rate, self._rate_only, self._rng = rate, only, random.Random(seed)

    def clear(self) -> None:
        """Drops every queued fault and the random rate."""
        self._queue.clear()
        self._rate = 0.0

    def take(self, request_kind: str, streamed: bool) -> str | None:
        """The fault to serve to this request, if any (consuming it)."""
        for pending in self._queue:
            if pending.only not in (None, request_kind) or not applies(pending.kind, request_kind, streamed):
                continue
            pending.remaining -= 1
            if pending.remaining <= 0:
                self._queue.remove(pending)
            return pending.kind
        if self._rate and self._rate_only in (None, request_kind) and self._rng.random() < self._rate:
            usable = [k for k in self._kinds if applies(k, request_kind, streamed)]
            return self._rng.choice(usable) if usable else None
        return None

    @property
    def pending(self) -> int:
        """How many one-shot faults are still queued."""
        return sum(p.remaining for p in self._queue)


def _check(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")


def error_response(
    kind: str, request_id: str, retry_after: float
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """``(status, body, headers)`` of an HTTP error fault (``429``, ``529`` or ``500``)."""
    status, error_type, text = _ERRORS[kind]
    body = {"type": "error", "error": {"type": error_type, "message": text}, "request_id": request_id}
    headers = {"request-id": request_id, "x-should-retry": "true"}
    if kind == "429":
        # retry-after-ms wins in the SDK and allows sub-second waits; retry-after is the standard header.
        headers["retry-after"] = str(int(retry_after + 0.999))
        headers["retry-after-ms"] = str(max(1, int(retry_after * 1000)))
    return status, body, headers


def stream_error_event() -> dict[str, Any]:
    """The SSE ``error`` event the API sends when a stream fails part-way."""
    return {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
