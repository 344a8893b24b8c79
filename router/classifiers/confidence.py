"""The local classifier's confidence: the probability that its answer is right.

A logistic model over the linear head's top score, margin, nearest-example similarities and the share of
the message's words the examples contain (:data:`~router.classifiers.linear.FEATURES`), fitted on
out-of-fold predictions in which whole categories are hidden: their examples stand in for messages that
fit no category, so a message far from every example (a greeting, gibberish, another topic) gets a low
confidence whatever its scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from router.classifiers.features import Vectoriser, restrict
from router.classifiers.linear import fit_head
from router.config import LocalModelConfig

# Used only when there are too few examples or categories to cross-validate: the weights fitted on the
# HINT3 bots' training splits (benchmarks/quality.py), bias last; word coverage carries no weight there.
DEFAULT_CONFIDENCE = np.array([1.0, 1.0, 2.0, 2.0, 0.0, -2.0])


@dataclass(frozen=True)
class CrossValidated:
    """The out-of-fold predictions the confidence was fitted on (held-out categories count as unknown)."""

    confidence: np.ndarray
    right: np.ndarray  # the predicted category is the gold one
    unknown: np.ndarray  # the gold category was hidden from that fold's model, or out of scope
    outside: np.ndarray  # a real out-of-scope example (a subset of ``unknown``)


def fold_ids(labels: Sequence[object], folds: int, rng: np.random.Generator) -> np.ndarray:
    """Stratified fold numbers: each label's examples dealt round-robin after a shuffle."""
    ids = np.zeros(len(labels), dtype=int)
    by_label: dict[object, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    offset = 0
    for indices in by_label.values():
        shuffled = rng.permutation(indices)
        ids[shuffled] = (np.arange(len(shuffled)) + offset) % folds
        offset += len(shuffled)
    return ids


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))


def fit_confidence(
    features: np.ndarray, right: np.ndarray, weight: np.ndarray, l2: float = 1e-3
) -> np.ndarray:
    """Logistic regression (Newton's method, L2-penalised) of ``right`` on ``features``; bias last."""
    x = np.c_[features, np.ones(len(features))]
    w = np.zeros(x.shape[1])
    penalty = l2 * np.r_[np.ones(features.shape[1]), 0.0]
    weight = weight / weight.sum()
    for _ in range(30):
        p = sigmoid(x @ w)
        gradient = x.T @ (weight * (p - right)) + penalty * w
        hessian = (x * (weight * p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


def confidence_of(weights: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The fitted confidence of rows of features."""
    return sigmoid(features @ weights[:-1] + weights[-1])


def fit_from_folds(
    vectoriser: Vectoriser,
    grams: sparse.csr_matrix,
    labels: np.ndarray,
    vectors: np.ndarray,
    config: LocalModelConfig,
) -> tuple[np.ndarray, CrossValidated | None]:
    """Confidence weights fitted on out-of-fold predictions, and those predictions (None: too few to fold).

    Label -1 marks out-of-scope examples: never trained on, predicted once. Unknown rows (held-out
    categories and out of scope) weigh ``config.unknown_weight`` in all against 1 for the rest: how often
    messages fit no category is unknown, and held-out categories look more like the known ones than real
    out-of-scope messages do.
    """
    records = out_of_fold(vectoriser, grams, labels, vectors, config)
    if records is None:
        return DEFAULT_CONFIDENCE, None
    features, right, unknown, outside = records
    if right.all() or not right.any():
        return DEFAULT_CONFIDENCE, None
    share = config.unknown_weight
    weight = np.where(unknown, share / max(unknown.sum(), 1), (1 - share) / max((~unknown).sum(), 1))
    weights = fit_confidence(features, right.astype(float), weight)
    return weights, CrossValidated(confidence_of(weights, features), right, unknown, outside)


def out_of_fold(
    vectoriser: Vectoriser,
    grams: sparse.csr_matrix,
    labels: np.ndarray,
    vectors: np.ndarray,
    config: LocalModelConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Confidence features, rightness, unknown-ness and out-of-scope-ness of examples from fold models.

    Each fold also hides some categories entirely; their examples stand in for messages that fit none.
    The n-grams were counted over every example once; each fold's model sees its held-out messages without
    the n-grams its training examples lack, as it would see new messages.
    """
    rng = np.random.default_rng(0)
    pool = rng.permutation(len(labels))[: config.calibration_sample]
    folds = config.calibration_folds
    fold = np.full(len(labels), -1)
    fold[pool] = fold_ids(labels[pool].tolist(), folds, rng)
    categories = np.unique(labels[labels >= 0])
    hidden_in = dict(
        zip(rng.permutation(categories).tolist(), np.arange(len(categories)) % folds, strict=True)
    )
    hidden_fold = np.array([hidden_in.get(int(label), -1) for label in labels])
    parts = []
    for k in range(folds):
        hidden = (hidden_fold == k) & (fold >= 0)
        train = np.flatnonzero((fold >= 0) & (fold != k) & ~hidden & (labels >= 0))
        held = np.flatnonzero((fold == k) | hidden)
        if len(train) == 0 or len(held) == 0:
            continue
        known_classes, train_labels = np.unique(labels[train], return_inverse=True)
        train_grams = grams[train]
        known = np.zeros(grams.shape[1], bool)
        known[train_grams.indices] = True
        head = fit_head(vectoriser, train_grams, train_labels, vectors[train], config)
        coverage = vectoriser.coverage_of_rows(grams[held], known)
        scores, features, _ = head.signals_of_rows(restrict(grams[held], known), vectors[held], coverage)
        predicted = known_classes[np.argmax(scores, axis=1).clip(max=len(known_classes) - 1)]
        unknown = hidden[held] | (labels[held] < 0)
        parts.append((features, (predicted == labels[held]) & ~unknown, unknown, labels[held] < 0))
    if not parts:
        return None
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))  # type: ignore[return-value]
