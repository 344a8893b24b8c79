"""Evaluation figures checked against values computed by hand."""

import pytest

from router.evaluate import Prediction, evaluate


def _p(gold: str, predicted: str, confidence: float, escalated: bool = False) -> Prediction:
    return Prediction(gold=gold, predicted=predicted, confidence=confidence, escalated=escalated)


def test_figures_match_hand_computation() -> None:
    preds = [
        _p("A", "A", 0.95),
        _p("A", "A", 0.85),
        _p("A", "B", 0.55, escalated=True),
        _p("B", "B", 0.91),
        _p("B", "A", 0.65, escalated=True),
        _p("C", "C", 0.75),
    ]
    report = evaluate(preds, ["A", "B", "C"])
    assert report.accuracy == pytest.approx(4 / 6)
    a, b, c = report.per_class
    # A: predicted A three times, two right; gold A three times, two found.
    assert (a.precision, a.recall, a.support) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 3)
    assert a.f1 == pytest.approx(2 / 3)
    # B: predicted B twice (one right); gold B twice (one found).
    assert (b.precision, b.recall, b.f1) == (0.5, 0.5, 0.5)
    assert (c.precision, c.recall, c.f1, c.support) == (1.0, 1.0, 1.0, 1)
    assert report.macro.f1 == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)
    assert report.weighted.f1 == pytest.approx((2 / 3 * 3 + 0.5 * 2 + 1.0) / 6)
    assert report.confusion == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]
    assert report.escalation_rate == pytest.approx(2 / 6)
    # Buckets: 0.5-0.6 {0.55 wrong}, 0.6-0.7 {0.65 wrong}, 0.7-0.8 {0.75 right}, 0.8-0.9 {0.85 right},
    # 0.9-1.0 {0.95 right, 0.91 right}.
    ece = (0.55 + 0.65 + 0.25 + 0.15 + (1 - 0.93) * 2) / 6
    assert report.expected_calibration_error == pytest.approx(ece)
    top = report.calibration[9]
    assert (top.count, top.accuracy, top.mean_confidence) == (2, 1.0, pytest.approx(0.93))


def test_unknown_gold_labels_are_kept_as_classes() -> None:
    report = evaluate([_p("out_of_scope", "A", 0.4), _p("A", "A", 0.9)], ["A"])
    assert report.labels == ["A", "out_of_scope"]
    assert report.per_class[1].recall == 0.0 and report.per_class[1].support == 1
    assert report.accuracy == 0.5


def test_empty_input_is_zero_not_an_error() -> None:
    report = evaluate([], ["A"])
    assert report.count == 0 and report.accuracy == 0.0


def test_a_category_the_file_neither_holds_nor_predicts_is_shown_but_not_averaged() -> None:
    predictions = [
        _p("Refund Request", "Refund Request", 0.9),
        _p("Technical Support", "Technical Support", 0.8),
    ]
    report = evaluate(predictions, labels=["General Question", "Refund Request", "Technical Support"])
    assert report.labels[0] == "General Question" and report.per_class[0].support == 0
    assert (report.accuracy, report.macro.precision, report.macro.recall, report.macro.f1) == (
        1.0,
        1.0,
        1.0,
        1.0,
    )
    # Predicted but never the answer: it counts, as a class the classifier gets wrong.
    wrong = evaluate([*predictions, _p("Refund Request", "General Question", 0.6)], labels=report.labels)
    assert wrong.macro.precision == pytest.approx((0 + 1 + 1) / 3)
