"""Rich rendering of evaluation reports and routing results for the terminal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from router.evaluate import EvaluationReport
from router.models import RoutingDecision

ESCALATED = "Escalated"


def final_category(decision: RoutingDecision) -> str:
    """Where the message ended up: its category, or "Escalated" when a person takes it."""
    return ESCALATED if decision.escalated else decision.category


def results_table(title: str, rows: Sequence[tuple[RoutingDecision, str | None]]) -> Table:
    """Query, actual, routed, confidence, final category, model and time for each decision."""
    table = Table(title=title, show_lines=False)
    for column in ("Query", "Actual", "Routed", "Confidence", "Final", "Model", "Time (ms)"):
        table.add_column(column, justify="right" if column in {"Confidence", "Time (ms)"} else "left")
    for decision, actual in rows:
        mark = "" if actual is None else (" ✓" if actual == decision.category else " ✗")
        table.add_row(
            decision.query,
            actual or "-",
            decision.category + mark,
            f"{decision.confidence:.2f}",
            final_category(decision)
            + (f" ({decision.escalation_reason})" if decision.escalation_reason else ""),
            decision.handler_model
            or ("offline reply" if decision.offline else decision.classifier_model or "-"),
            f"{decision.total_ms:.1f}",
        )
    return table


def report_tables(report: EvaluationReport) -> list[Table]:
    """The classification report, the confusion matrix and the calibration buckets."""
    scores = Table(title=f"Classification report: accuracy {report.accuracy:.3f} on {report.count} messages")
    for column in ("Class", "Precision", "Recall", "F1", "Support"):
        scores.add_column(column, justify="left" if column == "Class" else "right")
    for s in report.per_class:
        scores.add_row(s.label, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", str(s.support))
    for name, avg in (("macro avg", report.macro), ("weighted avg", report.weighted)):
        scores.add_row(name, f"{avg.precision:.3f}", f"{avg.recall:.3f}", f"{avg.f1:.3f}", str(avg.support))
    confusion = Table(title="Confusion matrix (rows: actual, columns: routed)")
    confusion.add_column("")
    for label in report.labels:
        confusion.add_column(label, justify="right")
    for label, row in zip(report.labels, report.confusion, strict=True):
        confusion.add_row(label, *map(str, row))
    calibration = Table(
        title=f"Calibration: expected calibration error {report.expected_calibration_error:.3f}, "
        f"escalation rate {report.escalation_rate:.1%}"
    )
    for column in ("Confidence", "Messages", "Accuracy", "Mean confidence"):
        calibration.add_column(column, justify="right")
    for b in report.calibration:
        if b.count:
            calibration.add_row(
                f"{b.low:.1f}–{b.high:.1f}", str(b.count), f"{b.accuracy:.3f}", f"{b.mean_confidence:.3f}"
            )
    return [scores, confusion, calibration]


def summary_table(title: str, decisions: Sequence[RoutingDecision]) -> Table:
    """Routing distribution, confidence, escalations and timings of ``decisions``."""
    n = len(decisions) or 1
    table = Table(title=title)
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    for category, count in Counter(final_category(d) for d in decisions).most_common():
        table.add_row(f"Routed to {category}", f"{count} ({count / n:.0%})")
    escalated = sum(d.escalated for d in decisions)
    table.add_row("Average confidence", f"{sum(d.confidence for d in decisions) / n:.3f}")
    table.add_row("Escalations", f"{escalated} ({escalated / n:.0%})")
    for label, field in (("routing", "routing_ms"), ("handling", "handling_ms"), ("total", "total_ms")):
        average = sum(getattr(d, field) for d in decisions) / n
        table.add_row(f"Average {label} time", f"{average:.1f} ms")
    table.add_row("Estimated cost", f"${sum(d.cost_usd for d in decisions):.4f}")
    return table


def print_all(console: Console, *renderables: object) -> None:
    for renderable in renderables:
        console.print(renderable)
        console.print()
