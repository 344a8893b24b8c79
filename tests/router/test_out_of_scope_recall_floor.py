"""The out-of-scope threshold at a recall floor: the lowest cut whose recall holds with 95 % confidence."""

import numpy as np
import pytest

from router.classifiers.confidence import CrossValidated
from router.out_of_scope import (
    MIN_REAL_OUT_OF_SCOPE,
    pick_threshold_at_recall,
    recall_lower_bound,
    threshold_from_folds,
)


def test_wilson_lower_bound_sits_under_the_measured_recall_and_tightens_with_more_examples() -> None:
    # 59 of 100 gives a lower bound just over 0.5; 60 of 100 measured on 10 examples falls far short.
    assert recall_lower_bound(np.array([0.59]), 100)[0] == pytest.approx(0.508, abs=1e-3)
    assert recall_lower_bound(np.array([0.6]), 10)[0] < 0.4
    assert recall_lower_bound(np.array([1.0]), 100)[0] < 1.0


def test_lowest_threshold_whose_recall_bound_reaches_the_floor() -> None:
    # 100 real out-of-scope rows at confidences 0.01 .. 1.00; 10 right in-scope rows at 0.5 .. 0.95.
    outside = np.arange(1, 101) / 100
    inside = np.linspace(0.5, 0.95, 10)
    confidence = np.r_[inside, outside]
    correct = np.r_[np.ones(10, bool), np.zeros(100, bool)]
    out_of_scope = np.r_[np.zeros(10, bool), np.ones(100, bool)]
    chosen = pick_threshold_at_recall(confidence, correct, out_of_scope, floor=0.5)
    # 59 rows under 0.60 give a bound of 0.508 >= 0.5; 58 under 0.59 give 0.498 < 0.5.
    assert chosen.threshold == pytest.approx(0.60)
    assert chosen.out_of_scope_recall == pytest.approx(0.59)
    assert chosen.in_scope_accuracy == pytest.approx(0.8)  # the rows at 0.5 and 0.55 fall under it
    # A higher floor costs in-scope answers; an unreachable one rejects everything.
    assert pick_threshold_at_recall(confidence, correct, out_of_scope, floor=0.8).threshold > 0.8
    assert pick_threshold_at_recall(confidence, correct, out_of_scope, floor=0.99).threshold == 1.0


def _folds(real: int) -> CrossValidated:
    # 20 right in-scope rows at 0.3; 10 held-out-category stand-ins at 0.9; ``real`` real ones at 0.1.
    confidence = np.r_[np.full(20, 0.3), np.full(10, 0.9), np.full(real, 0.1)]
    right = np.r_[np.ones(20, bool), np.zeros(10 + real, bool)]
    unknown = np.r_[np.zeros(20, bool), np.ones(10 + real, bool)]
    outside = np.r_[np.zeros(30, bool), np.ones(real, bool)]
    return CrossValidated(confidence, right, unknown, outside)


def test_the_floor_applies_to_real_out_of_scope_rows_only() -> None:
    chosen = threshold_from_folds(_folds(MIN_REAL_OUT_OF_SCOPE), recall_floor=0.5)
    assert chosen.basis == "real out-of-scope, recall floor 0.5"
    # Every real row sits at 0.1: the cut just above it (0.3) keeps every in-scope answer.
    assert chosen.threshold == pytest.approx(0.3)
    assert chosen.in_scope_accuracy == 1.0 and chosen.out_of_scope_recall == 1.0
    # Too few real rows: the floor is ignored and the stand-ins decide at the prior, as before.
    fallback = threshold_from_folds(_folds(3), recall_floor=0.5)
    assert fallback.basis == "held-out categories"
