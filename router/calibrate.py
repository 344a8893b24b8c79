"""The local-accept threshold of the local classifier, chosen by cross-validation on training examples
only: at or above which confidence may a local answer skip the Claude call? The lowest threshold whose
accepted messages keep a target precision across the folds.

The cross-validation itself (:func:`cross_validate`) is here too; the out-of-scope (escalation) threshold
is :mod:`router.out_of_scope`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from router.classifiers.local import LocalClassifier, fold_ids
from router.config import LocalModelConfig
from router.datasets import OUT_OF_SCOPE, LabelledText
from router.errors import DatasetError

# The accept threshold needs at least this many examples of every category in every fold's held-out part
# (10 per category at the command's 5 folds): with fewer, some folds predict a category from two or three
# examples, or never test it, and the threshold rests on a handful of lucky out-of-fold answers (10
# examples in all once gave 0.008).
MIN_PER_CATEGORY_PER_FOLD = 2


@dataclass(frozen=True)
class OutOfFold:
    """Cross-validated predictions: each example predicted by a model that never saw it."""

    gold: list[str]
    predicted: list[str]
    confidence: np.ndarray
    # True where the gold label was unknown to that fold's model (a held-out category or out of scope).
    out_of_scope: np.ndarray


@dataclass(frozen=True)
class AcceptThreshold:
    """The local-accept threshold and what it buys, measured across the folds."""

    threshold: float | None  # None: no threshold reaches the target precision
    precision: float  # of the messages at or above the threshold
    skip_share: float  # share of messages that would skip Claude
    target_precision: float
    examples: int
    # The lowest threshold reaching the target with no floor, when a floor (``minimum``) raised it.
    unfloored: float | None = None


def group_by_label(examples: Sequence[LabelledText], keep: np.ndarray) -> dict[str, list[str]]:
    """The texts of ``examples`` where ``keep`` is true, by label: a local classifier's training set."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for index in np.flatnonzero(keep).tolist():
        grouped[examples[index].label].append(examples[index].text)
    return grouped


def cross_validate(
    examples: Sequence[LabelledText],
    config: LocalModelConfig,
    folds: int = 5,
    hold_out_categories: bool = False,
    seed: int = 0,
) -> OutOfFold:
    """Predict every example with a model trained on the other folds.

    With ``hold_out_categories``, each fold also hides a share of the categories entirely: their examples
    are predicted as out-of-scope stand-ins. Examples labelled ``OUT_OF_SCOPE`` are never trained on; each
    is predicted once, as out of scope.
    """
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    rng = np.random.default_rng(seed)
    labels = [e.label for e in examples]
    oos = np.array([label == OUT_OF_SCOPE for label in labels])
    fold = fold_ids(labels, folds, rng)
    categories = sorted({label for label in labels if label != OUT_OF_SCOPE})
    hidden_fold = dict(zip(rng.permutation(categories), np.arange(len(categories)) % folds, strict=True))
    gold, predicted, confidence, unknown = [], [], [], []
    for k in range(folds):
        hidden = np.array([hold_out_categories and hidden_fold.get(lab) == k for lab in labels])
        grouped = group_by_label(examples, (fold != k) & ~oos & ~hidden)
        indices: list[int] = np.flatnonzero((fold == k) | hidden).tolist()
        if len(grouped) < 2 or len(indices) == 0:
            continue
        results = LocalClassifier(grouped, config).predict_many([examples[i].text for i in indices])
        gold += [labels[i] for i in indices]
        predicted += [r.category for r in results]
        confidence += [r.confidence for r in results]
        unknown += [bool(oos[i] or hidden[i]) for i in indices]
    return OutOfFold(gold, predicted, np.array(confidence), np.array(unknown, dtype=bool))


def pick_accept_threshold(
    confidence: np.ndarray, correct: np.ndarray, target_precision: float, minimum: float = 0.0
) -> tuple[float | None, float, float]:
    """The lowest threshold, ``minimum`` or more, whose accepted set (confidence ≥ it) keeps precision ≥
    target.

    Returns:
        (threshold or None, precision of the accepted set, share accepted).
    """
    order = np.argsort(-confidence, kind="stable")
    sorted_conf, sorted_ok = confidence[order], correct[order].astype(float)
    precision = np.cumsum(sorted_ok) / np.arange(1, len(order) + 1)
    # Only cut between distinct confidences: a threshold accepts every tie.
    last_of_tie = np.r_[sorted_conf[1:] != sorted_conf[:-1], True]
    good = np.flatnonzero((precision >= target_precision) & last_of_tie & (sorted_conf >= minimum))
    if len(good) == 0:
        return None, 0.0, 0.0
    cut = int(good[-1])
    return float(sorted_conf[cut]), float(precision[cut]), (cut + 1) / len(order)


def calibrate_accept_threshold(
    examples: Sequence[LabelledText],
    target_precision: float = 0.98,
    folds: int = 5,
    config: LocalModelConfig | None = None,
    seed: int = 0,
    minimum: float = 0.0,
) -> AcceptThreshold:
    """Pick the local-accept threshold keeping cross-validated precision of accepted messages ≥ target.

    Args:
        examples: labelled messages (e.g. from :func:`router.datasets.load_labelled`); gold labels are
            the categories.
        target_precision: the precision the locally routed messages must keep.
        folds: cross-validation folds.
        config: the local model's settings (defaults when None).
        seed: the shuffle's seed, for reproducible folds.
        minimum: the lowest threshold to consider: the routes' escalation threshold, under which a
            message the local stage accepts goes to a person without Claude being asked.
    """
    if not 0.0 < target_precision <= 1.0:
        raise ValueError("target_precision must be in (0, 1]")
    in_scope = [e for e in examples if e.label != OUT_OF_SCOPE]
    check_enough_examples(in_scope, folds)
    result = cross_validate(in_scope, config or LocalModelConfig(), folds=folds, seed=seed)
    correct = np.array([p == g for p, g in zip(result.predicted, result.gold, strict=True)])
    threshold, precision, share = pick_accept_threshold(result.confidence, correct, target_precision, minimum)
    lowest, _, _ = pick_accept_threshold(result.confidence, correct, target_precision)
    unfloored = lowest if lowest is not None and lowest != threshold else None
    return AcceptThreshold(threshold, precision, share, target_precision, len(correct), unfloored)


def check_enough_examples(examples: Sequence[LabelledText], folds: int) -> None:
    """Refuse a set too small to cross-validate an accept threshold on.

    Raises:
        DatasetError: fewer than two categories, or a category with fewer than
            :data:`MIN_PER_CATEGORY_PER_FOLD` × ``folds`` examples; the message names the file(s), the
            categories short of examples and the minimum.
    """
    counts: dict[str, int] = defaultdict(int)
    for example in examples:
        counts[example.label] += 1
    minimum = MIN_PER_CATEGORY_PER_FOLD * folds
    short = {label: n for label, n in sorted(counts.items()) if n < minimum}
    if len(counts) >= 2 and not short:
        return
    sources = sorted({e.source for e in examples if e.source}) or ["the examples"]
    where = ", ".join(sources)
    if len(counts) < 2:
        problem = f"only {len(counts)} categor{'y' if len(counts) == 1 else 'ies'} (at least 2 are needed)"
    else:
        problem = "too few examples of " + ", ".join(f"{label!r} ({n})" for label, n in short.items())
    raise DatasetError(
        f"{where}: cannot calibrate: {problem}; {folds}-fold cross-validation needs at least {minimum} "
        f"examples of every category ({MIN_PER_CATEGORY_PER_FOLD} per fold). Add labelled examples, or "
        "leave classifier.local.accept_threshold null (every message goes to Claude)."
    )
