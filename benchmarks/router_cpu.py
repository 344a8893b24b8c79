"""The router's own CPU per message, alone in a process: no Slack, no Bolt, no database.

    python -m benchmarks.router_cpu BASE_URL COUNT      (started by benchmarks.burst)

Routes COUNT burst messages one after another through the router as the bot builds it (the local
stage, Claude's classification through the SDK when the local stage is unsure, the category's streamed
answer of 150 tokens), against the fake Anthropic API at BASE_URL, and prints its process CPU time as
JSON. One message at a time, so every CPU second is this message's, and network waits cost none. It
runs on the loop the bot serves on (uvloop where installed), with the bot's logging.

It then routes the same messages with Claude's verdicts and answers handed over in memory (no SDK, no
HTTP): what is left is the router's own work (local model, policy, prompts, the decision record), so the
two figures split the router's CPU from the Anthropic SDK's.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from benchmarks.burst_load import ANSWER_TOKENS, customer_messages
from bot.cli import configure_logging, run_event_loop
from bot.clients import open_router
from bot.settings import Settings
from router.classifiers.hybrid import HybridClassifier
from router.config import Category
from router.models import Answer, Classification, Source, Turn
from router.router import Router


async def measure(base_url: str, count: int) -> dict[str, Any]:
    settings = Settings(_env_file=None, anthropic_api_key="bench-key", anthropic_base_url=base_url)
    texts = customer_messages(count + 1, start=30000)
    async with open_router(settings) as router:
        await router.route(texts[0])  # the local model's fit and the connection's set-up, not timed
        local_cpu = 0.0
        sources = []
        started = time.process_time()
        for text in texts[1:]:
            decision = await router.route(text)
            sources.append(decision.source)
        total = time.process_time() - started
        assert router.local is not None
        local_started = time.process_time()
        for text in texts[1:]:
            router.local.current.predict(text)
        local_cpu = time.process_time() - local_started
        in_memory = await _in_memory_cpu(router, texts)
    return {
        "messages": count,
        "cpu_ms_per_message": total * 1000 / count,
        "local_predict_cpu_ms": local_cpu * 1000 / count,
        "classified_by_claude": sum(1 for s in sources if s is Source.CLAUDE),
        "own_cpu_ms_per_message": in_memory * 1000 / count,
    }


class _Verdicts:
    """Claude's classification, handed over in memory: what the SDK would have parsed."""

    model = "in-memory"

    async def classify(self, text: str, history: Sequence[Turn] = ()) -> Classification:
        return Classification(
            category="Technical Support", confidence=0.93, reasoning="in memory", source=Source.CLAUDE
        )


class _Answer:
    def __init__(self, category: Category) -> None:
        self._model = category.handler.model

    @property
    def answer(self) -> Answer:
        return Answer(text="word " * ANSWER_TOKENS, model=self._model)

    async def stop(self) -> Answer:
        return self.answer  # never stopped here: no customer presses Stop in the benchmark

    async def __aiter__(self) -> AsyncIterator[str]:
        for _ in range(ANSWER_TOKENS):
            yield "word "


class _Answers:
    """The category's streamed answer, handed over in memory, token by token."""

    offline = False

    def stream(self, category: Category, query: str, history: Sequence[Turn]) -> _Answer:
        return _Answer(category)


async def _in_memory_cpu(built: Router, texts: list[str]) -> float:
    """CPU seconds to route ``texts[1:]`` with the same local stage and routes, Claude in memory."""
    assert built.local is not None
    routes = built.routes
    classifier = HybridClassifier(built.local, _Verdicts(), routes.classifier.local.accept_threshold)
    router = Router(routes, classifier, _Answers(), local=built.local)

    async def sink(text: str) -> None:
        return None

    started = time.process_time()
    for text in texts[1:]:
        await router.route(text, on_text=sink)
    return time.process_time() - started


def main() -> None:
    base_url, count = sys.argv[1], int(sys.argv[2])
    configure_logging("WARNING")  # as the bot runs: libraries' INFO lines (a line per request) off
    json.dump(run_event_loop(measure(base_url, count)), sys.stdout)


if __name__ == "__main__":
    main()
