"""The seed system's way: per query, a blocking classification call, then a blocking answer call, one
query after another, with the synchronous ``anthropic.Anthropic`` client against the same fake API and
latency as the bot.

Runs in its own process (``python -m benchmarks.burst_seed --messages 100 --out FILE``) with its own fake
Anthropic server on a background thread, so it can run beside the bot's measurements without touching
them: it spends its time waiting, not computing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import anthropic

from benchmarks.burst_load import customer_messages, realistic_anthropic
from router.classifiers.claude import verdict_model
from router.prompts import classifier_system_prompt, classifier_user_prompt
from router.routes_file import load_routes


class _FakeOnThread:
    """The fake Anthropic API served by an event loop on a daemon thread."""

    def __init__(self) -> None:
        self.fake = realistic_anthropic()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self._loop).result(timeout=30)
        return self.fake.base_url

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def seed_loop(base_url: str, texts: list[str]) -> list[float]:
    """Route ``texts`` one after another; returns each query's seconds (classification plus answer)."""
    routes = load_routes(None)
    verdict = verdict_model(routes.names)
    system = classifier_system_prompt(routes)
    client = anthropic.Anthropic(api_key="bench-key", base_url=base_url, timeout=60.0, max_retries=0)
    durations = []
    try:
        for text in texts:
            started = time.monotonic()
            response = client.messages.parse(
                model=routes.classifier.model,
                max_tokens=routes.classifier.max_tokens,
                system=system,
                messages=[{"role": "user", "content": classifier_user_prompt(text, [])}],
                output_format=verdict,
            )
            assert response.parsed_output is not None, "the fake API answered without a verdict"
            # The verdict model is built at run time from the routes: its fields are read as the bot does.
            category = routes.category(response.parsed_output.model_dump()["category"])
            client.messages.create(
                model=category.handler.model,
                max_tokens=category.handler.max_tokens,
                system=category.handler.system_prompt,
                messages=[{"role": "user", "content": text}],
            )
            durations.append(time.monotonic() - started)
    finally:
        client.close()
    return durations


def run(count: int) -> dict[str, Any]:
    """The seed loop over the first ``count`` of the burst's messages."""
    texts = customer_messages(count)
    with _FakeOnThread() as base_url:
        started = time.monotonic()
        durations = seed_loop(base_url, texts)
        makespan = time.monotonic() - started
    return {"messages": count, "makespan_s": makespan, "per_query_s": durations}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.write_text(json.dumps(run(args.messages)))


if __name__ == "__main__":
    main()
