"""``classify``, ``eval`` and ``demo``: the router from a terminal, no Slack involved."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from bot.clients import open_router
from bot.demo import SEED_LABELLED, SEED_TEST_QUERIES
from bot.settings import Settings
from bot.terminal import print_all, report_tables, results_table, summary_table
from router.datasets import LabelledText, load_labelled
from router.evaluate import Prediction, evaluate
from router.models import RoutingDecision
from router.policy import escalation_reason
from router.router import Router

PROGRESS_FROM = 50
EVAL_CONCURRENCY = 8


def mode_line(settings: Settings) -> str:
    if settings.offline:
        return "Offline mode: no ANTHROPIC_API_KEY, so the local model classifies and offline replies answer."
    return "Online mode: Claude classifies and answers."


async def classify_text(settings: Settings, text: str, as_json: bool, console: Console) -> None:
    async with open_router(settings) as router:
        classification = await router.classify(text)
    reason = escalation_reason(classification, router.routes, text)
    if as_json:
        payload = classification.model_dump(mode="json") | {"escalate": reason}
        console.print_json(json.dumps(payload))
        return
    console.print(f"category:   {classification.category}")
    console.print(f"confidence: {classification.confidence:.2f}")
    console.print(f"reasoning:  {classification.reasoning}")
    console.print(
        f"source:     {classification.source}"
        + (f" ({classification.model})" if classification.model else "")
    )
    console.print(f"escalate:   {reason or 'no'}")


async def _predict(router: Router, items: Sequence[LabelledText], console: Console) -> list[Prediction]:
    semaphore = asyncio.Semaphore(EVAL_CONCURRENCY)
    predictions: list[Prediction | None] = [None] * len(items)
    with Progress(console=console, transient=True, disable=len(items) < PROGRESS_FROM) as progress:
        task = progress.add_task("Classifying", total=len(items))

        async def one(i: int, item: LabelledText) -> None:
            async with semaphore:
                c = await router.classify(item.text)
            escalated = escalation_reason(c, router.routes, item.text) is not None
            predictions[i] = Prediction(
                gold=item.label, predicted=c.category, confidence=c.confidence, escalated=escalated
            )
            progress.advance(task)

        await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
    return [p for p in predictions if p is not None]


async def evaluate_file(
    settings: Settings, path: Path, label_map: dict[str, str] | None, as_json: bool, console: Console
) -> None:
    items = load_labelled(path, label_map)
    async with open_router(settings) as router:
        predictions = await _predict(router, items, console)
    report = evaluate(predictions, router.routes.names)
    if as_json:
        console.print_json(report.model_dump_json())
        return
    console.print(mode_line(settings))
    print_all(console, *report_tables(report))


async def run_demo(settings: Settings, console: Console) -> list[RoutingDecision]:
    """Route the seed queries through the whole pipeline, record them, and print the seed's tables."""
    from bot.commands.serving import open_store

    console.print(mode_line(settings))
    async with open_router(settings) as router:
        labelled = [(await router.route(text), label) for text, label in SEED_LABELLED]
        tests = [await router.route(text) for text in SEED_TEST_QUERIES]
    store = await open_store(settings)
    try:
        for decision in [d for d, _ in labelled] + tests:
            await store.record(decision, channel_id="demo")
    finally:
        await store.close()
    decisions = [d for d, _ in labelled]
    predictions = [
        Prediction(gold=label, predicted=d.category, confidence=d.confidence, escalated=d.escalated)
        for d, label in labelled
    ]
    report = evaluate(predictions, router.routes.names)
    print_all(
        console,
        results_table("Labelled queries", labelled),
        *report_tables(report)[:2],
        summary_table("Labelled queries: routing metrics", decisions),
        results_table("Test queries (confidence-based routing)", [(d, None) for d in tests]),
        summary_table("Test queries: routing metrics", tests),
    )
    console.print(f"Recorded {len(labelled) + len(tests)} decisions in {settings.database_url}.")
    return decisions + tests
