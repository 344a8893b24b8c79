"""``calibrate``: pick the local-accept threshold from labelled messages by cross-validation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from rich.console import Console

from bot.clients import routes_from
from bot.settings import Settings
from router.calibrate import AcceptThreshold, calibrate_accept_threshold
from router.datasets import OUT_OF_SCOPE, LabelMapping, describe_labels_outside, labels_outside, load_mapped
from router.policy import threshold_for

FOLDS = 5


async def calibrate_file(
    settings: Settings,
    path: Path,
    labels: LabelMapping | None,
    target_precision: float,
    as_json: bool,
    console: Console,
    text_field: str | None = None,
    label_field: str | None = None,
) -> AcceptThreshold:
    """Cross-validate the local classifier on ``path`` and print the accept threshold it supports.

    The threshold is the lowest confidence at which the locally routed messages keep ``target_precision``
    across the folds; the report also gives the share of messages that would skip the Claude call.

    Args:
        settings: the bot's settings (the routes file gives the local model's configuration).
        path: labelled messages (JSONL, CSV or a benchmark set's native file), labelled with categories.
        labels: optional mapping of the file's labels onto the routes' categories; the columns it names
            are read unless ``text_field`` / ``label_field`` say otherwise.
        target_precision: the precision the locally accepted messages must keep, in (0, 1].
        as_json: print JSON instead of text.
        console: where to print.
        text_field: the text column / key, when not the file's default.
        label_field: the label column / key, when not the file's default.
    """
    routes = routes_from(settings)
    loaded = load_mapped(path, labels, text_field, label_field)
    items = [item for item in loaded if item.label != OUT_OF_SCOPE]
    unknown = labels_outside(items, routes.names)
    # A message the local stage accepts still meets the escalation policy: under a category's escalation
    # threshold it goes to a person, without Claude having been asked. So the threshold starts there.
    escalation_floor = max(threshold_for(routes, name) for name in routes.names)
    # Cross-validation fits several models: keep the event loop free while it runs.
    result = await asyncio.to_thread(
        calibrate_accept_threshold,
        items,
        target_precision,
        FOLDS,
        routes.classifier.local,
        minimum=escalation_floor,
    )
    if as_json:
        payload = result.__dict__ | {
            "folds": FOLDS,
            "labels_not_in_routes": unknown,
            "below_escalation_threshold": _below_escalation(result, escalation_floor),
        }
        console.print_json(json.dumps(payload))
        return result
    _print_threshold(result, unknown, escalation_floor, console)
    return result


def _print_threshold(
    result: AcceptThreshold, unknown: list[str], escalation_floor: float, console: Console
) -> None:
    """The calibration as text: the threshold and what it does, or why there is none."""
    below_escalation = _below_escalation(result, escalation_floor)
    console.print(f"examples:          {result.examples} ({FOLDS}-fold cross-validation)")
    console.print(f"target precision:  {result.target_precision:.3f}")
    if unknown:
        console.print(f"note: {describe_labels_outside(unknown)}", markup=False)
    if result.threshold is None:
        console.print(
            f"No threshold of {escalation_floor:.2f} or more (the escalation threshold) keeps that precision "
            "across the folds: leave classifier.local.accept_threshold null (every message goes to Claude), "
            "or add examples and calibrate again."
        )
        if below_escalation:
            console.print(_unfloored_note(result, escalation_floor))
        return
    console.print(f"accept threshold:  {result.threshold:.3f}")
    console.print(
        f"precision:         {result.precision:.3f} (of the locally accepted messages, out of fold)"
    )
    console.print(f"skips Claude:      {result.skip_share:.1%} of messages")
    if below_escalation:
        console.print(_unfloored_note(result, escalation_floor))
    console.print(
        f"Set classifier.local.accept_threshold: {result.threshold:.3f} in the routes file to use it."
    )


def _below_escalation(result: AcceptThreshold, escalation_floor: float) -> bool:
    """Whether a threshold under the escalation threshold would have kept the precision too."""
    return result.unfloored is not None and result.unfloored < escalation_floor


def _unfloored_note(result: AcceptThreshold, escalation_floor: float) -> str:
    return (
        f"note: {result.unfloored:.3f} keeps the precision too, but under the escalation threshold "
        f"({escalation_floor:.2f} for some category) a message the local model accepts is escalated to a "
        "person without Claude being asked; the threshold starts at the escalation threshold so that "
        "Claude tries those first."
    )
