"""The load: customer messages, the fakes with realistic latency, and what the fakes saw of each message.

Every message carries its own reference ("#1042"), so the fake Anthropic's first-token times and the fake
Slack's calls can be traced back to the message they belong to.
"""

from __future__ import annotations

import contextvars
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes import FakeAnthropic, FakeSlack
from tests.fakes.anthropic_content import customer_text
from tests.fakes.anthropic_sse import Reply

SEED = Path(__file__).resolve().parents[2] / "shared" / "data" / "seed"
# The scripted latency: classification 400 ms; an answer's first token after 600 ms, then 60
# tokens a second for 150 tokens.
CLASSIFY_LATENCY = 0.4
FIRST_TOKEN_LATENCY = 0.6
TOKENS_PER_SECOND = 60.0
ANSWER_TOKENS = 150
CHANNEL = "C0SUPPORT"
REFERENCE = re.compile(r"#(\d{4,})")
# Used when shared/data/seed is not there: the seed system's queries, as it shipped them.
FALLBACK_QUERIES = (
    "What are your business hours?",
    "I need a refund for my order",
    "My app keeps crashing when I try to save photos",
    "I received the wrong item in my shipment",
    "How do I change my shipping address?",
    "The website won't load on my phone",
    "Can I pay with PayPal?",
)


def base_queries() -> list[str]:
    """The seed system's queries (labelled ones and test ones)."""
    texts: list[str] = []
    labelled = SEED / "labelled.jsonl"
    if labelled.exists():
        texts += [json.loads(line)["text"] for line in labelled.read_text().splitlines() if line.strip()]
    queries = SEED / "test_queries.txt"
    if queries.exists():
        texts += [line.strip() for line in queries.read_text().splitlines() if line.strip()]
    return texts or list(FALLBACK_QUERIES)


def customer_messages(count: int, start: int = 1000) -> list[str]:
    """``count`` distinct customer messages: the seed queries in turn, each with its own reference."""
    bases = base_queries()
    return [f"{bases[i % len(bases)].rstrip('.?! ')} (ref #{start + i})" for i in range(count)]


def reference_of(text: str) -> str | None:
    found = REFERENCE.findall(text)
    return found[-1] if found else None


_answering: contextvars.ContextVar[str | None] = contextvars.ContextVar("answering", default=None)


class TimedAnthropic(FakeAnthropic):
    """The fake Anthropic API, noting when the first token of each answer leaves it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.first_token_at: dict[str, float] = {}
        self.classified: set[str] = set()

    def _answer(self, body: dict[str, Any], fault: str | None) -> Reply:
        _answering.set(reference_of(customer_text(body)))
        return super()._answer(body, fault)

    def _classify(self, body: dict[str, Any], request: Any, fault: str | None) -> Reply:
        _answering.set(None)
        ref = reference_of(customer_text(body))
        if ref:
            self.classified.add(ref)
        return super()._classify(body, request, fault)

    async def sleep(self, seconds: float | None) -> None:
        await super().sleep(seconds)
        # The wait before an answer's first delta; the delta is written right after it returns.
        ref = _answering.get()
        if ref is not None and seconds == self.first_token_latency:
            self.first_token_at.setdefault(ref, time.monotonic())
            _answering.set(None)


def realistic_anthropic() -> TimedAnthropic:
    return TimedAnthropic(
        classify_latency=CLASSIFY_LATENCY,
        first_token_latency=FIRST_TOKEN_LATENCY,
        tokens_per_second=TOKENS_PER_SECOND,
        answer_tokens=ANSWER_TOKENS,
    )


@dataclass(frozen=True)
class Delivery:
    """What the customer saw of one message, in ``time.monotonic()`` seconds (system-wide clock)."""

    reference: str
    first_words: float | None  # the first startStream or postMessage carrying text
    complete: float | None  # stopStream, or the one postMessage
    streamed: bool


def deliveries(slack: FakeSlack, refs_by_ts: dict[str, str]) -> dict[str, Delivery]:
    """Each message's first words and completion, from the fake Slack's records (thread ts → ref)."""
    first: dict[str, float] = {}
    done: dict[str, float] = {}
    streamed: set[str] = set()
    stream_owner: dict[str, str] = {}
    for call in slack.calls:
        if not call.ok:
            continue
        params = call.params
        if call.method in ("chat.startStream", "chat.postMessage"):
            ref = refs_by_ts.get(str(params.get("thread_ts")))
            if ref is None:
                continue
            has_text = bool(params.get("markdown_text") or params.get("text") or params.get("chunks"))
            if has_text:
                first.setdefault(ref, call.time)
            if call.method == "chat.startStream":
                stream_owner[str(call.response.get("ts"))] = ref
                streamed.add(ref)
            else:
                done.setdefault(ref, call.time)
        elif call.method == "chat.stopStream":
            ref = stream_owner.get(str(params.get("ts")))
            if ref is not None:
                done[ref] = call.time
    return {ref: Delivery(ref, first.get(ref), done.get(ref), ref in streamed) for ref in refs_by_ts.values()}


def answered(slack: FakeSlack, refs_by_ts: dict[str, str]) -> int:
    return sum(1 for d in deliveries(slack, refs_by_ts).values() if d.complete is not None)


def seconds_since(moments: Sequence[float | None], origin: float) -> list[float]:
    return [m - origin for m in moments if m is not None]
