"""Evaluation figures, pure: accuracy, per-class precision/recall/F1, confusion matrix, calibration."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field


class Prediction(BaseModel):
    """One evaluated message: the gold label, the routed category, its confidence, and escalation."""

    gold: str
    predicted: str
    confidence: float = Field(ge=0.0, le=1.0)
    escalated: bool = False


class ClassScore(BaseModel):
    label: str
    precision: float
    recall: float
    f1: float
    support: int


class Average(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int


class CalibrationBucket(BaseModel):
    low: float
    high: float
    count: int
    accuracy: float | None
    mean_confidence: float | None


class EvaluationReport(BaseModel):
    count: int
    accuracy: float
    labels: list[str]
    per_class: list[ClassScore]
    macro: Average
    weighted: Average
    # confusion[gold][predicted] = count, over ``labels`` in order.
    confusion: list[list[int]]
    escalation_rate: float
    expected_calibration_error: float
    calibration: list[CalibrationBucket]


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _class_scores(predictions: Sequence[Prediction], labels: Sequence[str]) -> list[ClassScore]:
    gold = Counter(p.gold for p in predictions)
    predicted = Counter(p.predicted for p in predictions)
    correct = Counter(p.gold for p in predictions if p.gold == p.predicted)
    scores = []
    for label in labels:
        precision = _ratio(correct[label], predicted[label])
        recall = _ratio(correct[label], gold[label])
        f1 = _ratio(2 * precision * recall, precision + recall)
        scores.append(ClassScore(label=label, precision=precision, recall=recall, f1=f1, support=gold[label]))
    return scores


def _averages(scores: Sequence[ClassScore]) -> tuple[Average, Average]:
    """Macro and weighted averages of ``scores``: pass only the classes the data has (in its labels or
    its predictions), as scikit-learn does; a class with no gold support that was predicted counts."""
    n = len(scores)
    total = sum(s.support for s in scores)
    macro = Average(
        precision=_ratio(sum(s.precision for s in scores), n),
        recall=_ratio(sum(s.recall for s in scores), n),
        f1=_ratio(sum(s.f1 for s in scores), n),
        support=total,
    )
    weighted = Average(
        precision=_ratio(sum(s.precision * s.support for s in scores), total),
        recall=_ratio(sum(s.recall * s.support for s in scores), total),
        f1=_ratio(sum(s.f1 * s.support for s in scores), total),
        support=total,
    )
    return macro, weighted


def calibration(predictions: Sequence[Prediction], bins: int = 10) -> tuple[float, list[CalibrationBucket]]:
    """Expected calibration error and accuracy by equal-width confidence bucket."""
    buckets: list[list[Prediction]] = [[] for _ in range(bins)]
    for p in predictions:
        buckets[min(int(p.confidence * bins), bins - 1)].append(p)
    ece = 0.0
    report = []
    for i, bucket in enumerate(buckets):
        accuracy = confidence = None
        if bucket:
            accuracy = sum(p.gold == p.predicted for p in bucket) / len(bucket)
            confidence = sum(p.confidence for p in bucket) / len(bucket)
            ece += len(bucket) / len(predictions) * abs(accuracy - confidence)
        report.append(
            CalibrationBucket(
                low=i / bins,
                high=(i + 1) / bins,
                count=len(bucket),
                accuracy=accuracy,
                mean_confidence=confidence,
            )
        )
    return ece, report


def evaluate(predictions: Sequence[Prediction], labels: Sequence[str] = ()) -> EvaluationReport:
    """All figures for ``predictions``; ``labels`` fixes the class order (others are appended, sorted)."""
    seen = {p.gold for p in predictions} | {p.predicted for p in predictions}
    ordered = list(dict.fromkeys(labels)) + sorted(seen - set(labels))
    index = {label: i for i, label in enumerate(ordered)}
    confusion = [[0] * len(ordered) for _ in ordered]
    for p in predictions:
        confusion[index[p.gold]][index[p.predicted]] += 1
    scores = _class_scores(predictions, ordered)
    # A category of the routes file that the data neither holds nor predicts is shown, not averaged.
    macro, weighted = _averages([s for s in scores if s.label in seen])
    ece, buckets = calibration(predictions)
    count = len(predictions)
    return EvaluationReport(
        count=count,
        accuracy=_ratio(sum(p.gold == p.predicted for p in predictions), count),
        labels=ordered,
        per_class=scores,
        macro=macro,
        weighted=weighted,
        confusion=confusion,
        escalation_rate=_ratio(sum(p.escalated for p in predictions), count),
        expected_calibration_error=ece,
        calibration=buckets,
    )
