"""The router's own CPU per message, alone in a process: no Slack, no Bolt, no database.

    python -m benchmarks.router_cpu BASE_URL COUNT      (started by benchmarks.burst)

Routes COUNT burst messages one after another through the router as the bot builds it (the local
stage, Claude's classification through the SDK when the local stage is unsure, the category's streamed
answer of 150 tokens), against the fake Anthropic API at BASE_URL, and prints its process CPU time as
JSON. One message at a time, so every CPU second is this message's, and network waits cost none.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from benchmarks.burst_load import customer_messages
from bot.clients import open_router
from bot.settings import Settings
from router.models import Source


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
    return {
        "messages": count,
        "cpu_ms_per_message": total * 1000 / count,
        "local_predict_cpu_ms": local_cpu * 1000 / count,
        "classified_by_claude": sum(1 for s in sources if s is Source.CLAUDE),
    }


def main() -> None:
    base_url, count = sys.argv[1], int(sys.argv[2])
    json.dump(asyncio.run(measure(base_url, count)), sys.stdout)


if __name__ == "__main__":
    main()
