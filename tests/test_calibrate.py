"""Threshold picking: hand-checkable synthetic cases, and cross-validation end to end on a small set."""

import numpy as np

from router.calibrate import calibrate_accept_threshold, pick_accept_threshold
from router.classifiers.confidence import CrossValidated
from router.datasets import LabelledText
from router.out_of_scope import (
    MIN_REAL_OUT_OF_SCOPE,
    calibrate_out_of_scope_threshold,
    pick_out_of_scope_threshold,
    threshold_from_folds,
)


def test_accept_threshold_lowest_keeping_precision() -> None:
    confidence = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6])
    correct = np.array([True, True, True, True, False, True])
    # Accepting the top 4 keeps 4/4; the 5th drops it to 4/5 = 0.8; all 6 give 5/6.
    assert pick_accept_threshold(confidence, correct, 0.98) == (0.8, 1.0, 4 / 6)
    assert pick_accept_threshold(confidence, correct, 0.8) == (0.6, 5 / 6, 1.0)
    # Never under the floor (the escalation threshold): the lowest qualifying confidence above it.
    assert pick_accept_threshold(confidence, correct, 0.8, minimum=0.75) == (0.8, 1.0, 4 / 6)
    assert pick_accept_threshold(confidence, correct, 0.8, minimum=0.96) == (0.99, 1.0, 1 / 6)
    assert pick_accept_threshold(confidence, correct, 0.98, minimum=1.0) == (None, 0.0, 0.0)


def test_accept_threshold_never_splits_ties() -> None:
    confidence = np.array([0.9, 0.9, 0.5])
    correct = np.array([True, False, True])
    threshold, precision, share = pick_accept_threshold(confidence, correct, 0.98)
    assert threshold is None and precision == 0.0 and share == 0.0


def test_out_of_scope_threshold_maximises_accuracy_with_out_of_scope_as_a_class() -> None:
    confidence = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.75])
    correct = np.array([True, True, True, False, False, False])
    out_of_scope = np.array([False, False, False, True, True, True])
    chosen = pick_out_of_scope_threshold(confidence, correct, out_of_scope)
    # At 0.7: all 3 in-scope kept and 2 of 3 out-of-scope rejected (5 right); 0.8 also gets 5 right
    # (2 kept, 3 rejected): the tie goes to the lower threshold, which escalates less.
    assert chosen.threshold == 0.7
    assert chosen.in_scope_accuracy == 1.0
    assert abs(chosen.out_of_scope_recall - 2 / 3) < 1e-9


SMALL = {
    "refund": [
        "I want my money back",
        "refund my order please",
        "please return my payment",
        "I was charged twice, refund it",
        "give me a refund for the subscription",
        "money back now",
    ],
    "login": [
        "I cannot log in",
        "my password does not work",
        "reset my password please",
        "locked out of my account",
        "the login page shows an error",
        "two factor code never arrives",
    ],
    "hours": [
        "when are you open",
        "what are your opening hours",
        "are you open on sunday",
        "what time do you close",
        "holiday opening times",
        "are you open late on friday",
    ],
}


def labelled() -> list[LabelledText]:
    return [LabelledText(t, label) for label, texts in SMALL.items() for t in texts]


def test_calibrate_accept_threshold_on_small_set() -> None:
    result = calibrate_accept_threshold(labelled(), target_precision=0.9, folds=3)
    assert result.examples == len(labelled())
    # Four well-separated categories: some threshold keeps 0.9, and what it accepts keeps it.
    assert result.threshold is not None
    assert result.precision >= 0.9
    assert 0.0 < result.skip_share <= 1.0


def test_calibrate_out_of_scope_threshold_on_small_set() -> None:
    examples = [*labelled(), LabelledText("what is the weather on mars", "out_of_scope")]
    result = calibrate_out_of_scope_threshold(examples)
    assert 0.0 <= result.threshold <= 1.0
    assert result.examples > len(examples)  # held-out categories are predicted as out-of-scope too


def test_out_of_scope_threshold_weighs_by_count() -> None:
    # Four out-of-scope messages at 0.6 outweigh one right answer at 0.5: the cut goes above 0.6.
    confidence = np.array([0.5, 0.6, 0.6, 0.6, 0.6, 0.9])
    correct = np.array([True, False, False, False, False, True])
    out_of_scope = np.array([False, True, True, True, True, False])
    chosen = pick_out_of_scope_threshold(confidence, correct, out_of_scope)
    assert chosen.threshold == 0.9
    assert chosen.out_of_scope_recall == 1.0
    assert chosen.in_scope_accuracy == 0.5


def test_out_of_scope_threshold_weighs_out_of_scope_to_a_prior() -> None:
    # The same rows as above, but out-of-scope messages make up 30 % of the weight, not 4 of 6 rows:
    # keeping the right answer at 0.5 (0.35) now outweighs rejecting the four at 0.6 (0.3).
    confidence = np.array([0.5, 0.6, 0.6, 0.6, 0.6, 0.9])
    correct = np.array([True, False, False, False, False, True])
    out_of_scope = np.array([False, True, True, True, True, False])
    chosen = pick_out_of_scope_threshold(confidence, correct, out_of_scope, prior=0.3)
    assert chosen.threshold == 0.5
    assert chosen.in_scope_accuracy == 1.0
    assert chosen.out_of_scope_recall == 0.0


def _folds(real: int) -> CrossValidated:
    # 10 right in-scope rows (8 at 0.8, 2 at 0.6); 10 held-out-category stand-ins at 0.7 (they look like
    # known ones); ``real`` real out-of-scope rows at 0.2.
    confidence = np.r_[np.full(8, 0.8), np.full(2, 0.6), np.full(10, 0.7), np.full(real, 0.2)]
    right = np.r_[np.ones(10, bool), np.zeros(10 + real, bool)]
    unknown = np.r_[np.zeros(10, bool), np.ones(10 + real, bool)]
    outside = np.r_[np.zeros(20, bool), np.ones(real, bool)]
    return CrossValidated(confidence, right, unknown, outside)


def test_out_of_scope_threshold_chosen_on_real_out_of_scope_examples_when_there_are_enough() -> None:
    folds = _folds(MIN_REAL_OUT_OF_SCOPE)
    # The stand-ins at 0.7 are left out: 0.6 keeps every in-scope row and rejects every real one.
    chosen = threshold_from_folds(folds, prior=None)
    assert chosen.basis == "real out-of-scope"
    assert chosen.threshold == 0.6
    assert chosen.in_scope_accuracy == 1.0 and chosen.out_of_scope_recall == 1.0
    assert chosen.examples == 10 + MIN_REAL_OUT_OF_SCOPE
    # Told not to, or with too few real ones, the stand-ins count: rejecting them costs the two at 0.6.
    for rule in (
        threshold_from_folds(folds, None, real_out_of_scope=False),
        threshold_from_folds(_folds(3), None),
    ):
        assert rule.basis == "held-out categories"
        assert rule.threshold == 0.8
        assert rule.in_scope_accuracy == 0.8 and rule.out_of_scope_recall == 1.0


def test_calibrate_out_of_scope_threshold_uses_real_out_of_scope_examples() -> None:
    gibberish = [f"zq{i} xv{i * 7} kw{i * 3}" for i in range(MIN_REAL_OUT_OF_SCOPE)]
    examples = [*labelled(), *(LabelledText(t, "out_of_scope") for t in gibberish)]
    result = calibrate_out_of_scope_threshold(examples)
    assert result.basis == "real out-of-scope"
    assert 0.0 <= result.threshold <= 1.0
    assert result.examples < len(examples)  # held-out categories are left out
