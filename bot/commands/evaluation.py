"""``classify``, ``eval`` and ``demo``: the router from a terminal, no Slack involved."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from bot.clients import open_router, routes_from
from bot.commands.claude_check import check_claude_at_start
from bot.demo import SEED_LABELLED, SEED_TEST_QUERIES
from bot.escalation_messages import REASON_TEXT
from bot.settings import Settings
from bot.terminal import print_all, report_tables, results_table, summary_table
from router.datasets import (
    OUT_OF_SCOPE,
    LabelledText,
    LabelMapping,
    describe_labels_outside,
    labels_outside,
    load_mapped,
)
from router.errors import DatasetError
from router.evaluate import Prediction, evaluate
from router.models import RoutingDecision
from router.policy import asks_for_person, escalation_reason
from router.router import Router

PROGRESS_FROM = 50
EVAL_CONCURRENCY = 8


def mode_line(settings: Settings) -> str:
    if settings.offline:
        return "Offline mode: no ANTHROPIC_API_KEY, so the local model classifies and offline replies answer."
    return "Online mode: Claude classifies and answers."


async def classify_text(settings: Settings, text: str, as_json: bool, console: Console) -> None:
    routes = routes_from(settings)
    await check_claude_at_start(settings, routes)
    async with open_router(settings, routes) as router:
        classification = await router.classify(text)
    reason = escalation_reason(classification, router.routes, text)
    if as_json:
        payload = classification.model_dump(mode="json")
        payload |= {
            # What the policy saw: Claude's flag, or the customer's own words (the local model has no flag).
            "wants_human": classification.wants_human or asks_for_person(text),
            "escalated": reason is not None,
            "escalation_reason": reason,
        }
        console.print_json(json.dumps(payload))
        return
    source = classification.source + (f" ({classification.model})" if classification.model else "")
    lines = [
        f"category:   {classification.category}",
        f"confidence: {classification.confidence:.2f}",
        f"reasoning:  {classification.reasoning}",  # Claude's words: a "[/INST]" in them is no markup
        f"source:     {source}",
        # In the words of the demo, the escalation and /routing-stats; --json keeps the code name.
        f"escalated:  {f'yes ({REASON_TEXT[reason]})' if reason else 'no'}",
    ]
    console.print("\n".join(lines), markup=False)


async def _predict(router: Router, items: Sequence[LabelledText], console: Console) -> list[Prediction]:
    """Classify every item. When the file holds out-of-scope rows, an escalated message counts as
    answered "out of scope" (handed to a person, HINT3's metric): right for those rows, wrong for the
    others; otherwise a prediction is the category routed, and escalations are a rate of their own."""
    out_of_scope = any(item.label == OUT_OF_SCOPE for item in items)
    semaphore = asyncio.Semaphore(EVAL_CONCURRENCY)
    predictions: list[Prediction | None] = [None] * len(items)
    with Progress(console=console, transient=True, disable=len(items) < PROGRESS_FROM) as progress:
        task = progress.add_task("Classifying", total=len(items))

        async def one(i: int, item: LabelledText) -> None:
            async with semaphore:
                c = await router.classify(item.text)
            escalated = escalation_reason(c, router.routes, item.text) is not None
            predicted = OUT_OF_SCOPE if escalated and out_of_scope else c.category
            predictions[i] = Prediction(
                gold=item.label, predicted=predicted, confidence=c.confidence, escalated=escalated
            )
            progress.advance(task)

        await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
    return [p for p in predictions if p is not None]


async def evaluate_file(
    settings: Settings,
    path: Path,
    labels: LabelMapping | None,
    as_json: bool,
    console: Console,
    text_field: str | None = None,
    label_field: str | None = None,
) -> None:
    """Route every message of a labelled file and print the evaluation figures.

    Args:
        settings: the bot's settings (the routes file, the Anthropic key or offline mode).
        path: labelled messages (JSONL, CSV or a benchmark set's native file).
        labels: optional mapping of the file's labels onto the routes' categories; the columns it names
            are read unless ``text_field`` / ``label_field`` name others.
        as_json: print JSON instead of tables.
        console: where to print.
        text_field: the text column / key, when not the file's default.
        label_field: the label column / key, when not the file's default.

    Raises:
        DatasetError: the file cannot be read, or none of its labels is a category of the routes file
            (every answer would count as wrong): refused before any message is classified.
    """
    items = load_mapped(path, labels, text_field, label_field)
    routes = routes_from(settings)
    unknown = labels_outside(items, routes.names)
    if unknown and not {item.label for item in items} & set(routes.names):
        raise DatasetError(
            f"{path}: {describe_labels_outside(unknown)}, and none of its labels is one "
            f"({', '.join(routes.names)}), so every answer would count as wrong. Map the labels onto the "
            "categories with --label-map, or set ROUTES_FILE to a routes file whose categories they are"
        )
    await check_claude_at_start(settings, routes)
    async with open_router(settings, routes) as router:
        predictions = await _predict(router, items, console)
    report = evaluate(predictions, router.routes.names)
    if as_json:
        payload = report.model_dump(mode="json") | {"labels_not_in_routes": unknown}
        console.print_json(json.dumps(payload))
        return
    console.print(mode_line(settings))
    if unknown:
        console.print(f"note: {describe_labels_outside(unknown)}", markup=False)
    if OUT_OF_SCOPE in report.labels:
        rows = sum(item.label == OUT_OF_SCOPE for item in items)
        console.print(
            f"note: {rows} row(s) are out of scope; an escalated message counts as answered "
            f"{OUT_OF_SCOPE!r} (handed to a person), right for those rows only",
            markup=False,
        )
    print_all(console, *report_tables(report))


async def run_demo(settings: Settings, console: Console) -> list[RoutingDecision]:
    """Route the seed queries through the whole pipeline, record them, and print the seed's tables."""
    from bot.commands.serving import open_store
    from bot.store.migrate import WhenBehind

    routes = routes_from(settings)
    await check_claude_at_start(settings, routes)  # before "Online mode": a refused key is one line
    console.print(mode_line(settings))
    async with open_router(settings, routes) as router:
        labelled = [(await router.route(text), label) for text, label in SEED_LABELLED]
        tests = [await router.route(text) for text in SEED_TEST_QUERIES]
    store = await open_store(settings, behind=WhenBehind.WARN, command="demo")
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
    from bot.store.engine import shown_database_url  # the store is loaded already: it recorded them

    where = shown_database_url(settings.database_url)
    console.print(f"Recorded {len(labelled) + len(tests)} decisions in {where}.", markup=False)
    return decisions + tests
