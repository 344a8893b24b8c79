"""Learning curve: the local classifier learning from history on Bitext mapped to the default categories.

Bitext's gold labels stand in for Claude's decisions. The classifier starts from the default routes
file's examples; history (0 → 2,000 messages) is fed through ``add_examples``; at each step the accept
threshold is recalibrated by cross-validation on what the classifier knows (never on the held-out part),
and the held-out messages measure accuracy and the share that would skip Claude.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from router.benchmark_sets import load_bitext_three_categories
from router.calibrate import calibrate_accept_threshold
from router.classifiers.local import LocalClassifier
from router.config import RoutesConfig
from router.datasets import LabelledText
from router.routes_file import load_routes

STEPS = (0, 100, 250, 500, 1000, 1500, 2000)
HELD_OUT = 1500
TARGET_PRECISION = 0.98


def _known_examples(classifier: LocalClassifier) -> list[LabelledText]:
    return [
        LabelledText(text, label) for label in classifier.categories for text in classifier.examples(label)
    ]


def _step(classifier: LocalClassifier, held_out: list[LabelledText], fed: int) -> dict[str, Any]:
    accept = calibrate_accept_threshold(_known_examples(classifier), TARGET_PRECISION)
    results = classifier.predict_many([e.text for e in held_out])
    correct = np.array([r.category == e.label for r, e in zip(results, held_out, strict=True)])
    confidence = np.array([r.confidence for r in results])
    skipped = confidence >= accept.threshold if accept.threshold is not None else np.zeros(len(results), bool)
    return {
        "history": fed,
        "examples_known": sum(len(classifier.examples(c)) for c in classifier.categories),
        "accuracy": float(correct.mean()),
        "accept_threshold": accept.threshold,
        "cv_precision": accept.precision,
        "skip_share": float(skipped.mean()),
        "skipped_precision": float(correct[skipped].mean()) if skipped.any() else None,
    }


def learning_curve(data: Path, routes: RoutesConfig | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """Accuracy and skip share on held-out Bitext as history grows (see the module docstring)."""
    routes = routes or load_routes()
    messages = load_bitext_three_categories(data)
    order = np.random.default_rng(seed).permutation(len(messages))
    held_out = [messages[i] for i in order[:HELD_OUT]]
    stream = [messages[i] for i in order[HELD_OUT:]]
    classifier = LocalClassifier.from_routes(routes)
    curve, fed = [], 0
    for step in STEPS:
        batch: dict[str, list[str]] = defaultdict(list)
        for example in stream[fed:step]:
            batch[example.label].append(example.text)
        for label, texts in batch.items():
            classifier.add_examples(label, texts)
        fed = step
        curve.append(_step(classifier, held_out, fed))
    return curve


def print_learning_curve(curve: list[dict[str, Any]]) -> None:
    """The curve as a table."""
    print(
        f"\nLearning curve: Bitext → three default categories ({HELD_OUT} held out; "
        f"accept threshold by CV for precision ≥ {TARGET_PRECISION})"
    )
    print(
        f"  {'history':>7} {'known':>6} {'accuracy':>8} {'accept≥':>8} {'skips Claude':>12} {'precision':>9}"
    )
    for row in curve:
        threshold = "none" if row["accept_threshold"] is None else f"{row['accept_threshold']:.3f}"
        precision = "—" if row["skipped_precision"] is None else f"{row['skipped_precision']:.3f}"
        print(
            f"  {row['history']:>7} {row['examples_known']:>6} {row['accuracy']:>8.3f} {threshold:>8} "
            f"{row['skip_share']:>12.1%} {precision:>9}"
        )
