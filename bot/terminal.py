"""Rich rendering of evaluation reports and routing results for the terminal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markup import escape
from rich.table import Table

from bot.escalation_messages import REASON_TEXT
from bot.stats.formats import whole_percents
from router.evaluate import EvaluationReport
from router.models import RoutingDecision

ESCALATED = "Escalated"
CLOSED_WITH_THANKS = "Closed with thanks"
# The widest the compact table's last column grows ("→ answered: claude-sonnet-5-5" fits on one line).
FINAL_WIDTH = 30


def final_category(decision: RoutingDecision) -> str:
    """Where the message ended up: its category, "Escalated" when a person takes it, or "Closed with thanks"
    for a thank-you given the acknowledgement reply (no category's handler answered it, and /routing-stats
    counts it in none)."""
    if decision.escalated:
        return ESCALATED
    return CLOSED_WITH_THANKS if decision.acknowledgement else decision.category


class ResultsTable:
    """Query, actual, routed, confidence, final category, model and time for each decision.

    One column each where the terminal is wide enough for the categories and models unbroken; in a
    narrower one (80 columns, a pipe), three columns of two lines each, so that nothing is cut.
    """

    def __init__(self, title: str, rows: Sequence[tuple[RoutingDecision, str | None]]) -> None:
        self.title = title
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = self.wide()
        yield wide if _unbroken_width(wide) <= options.max_width else self.compact()

    def wide(self) -> Table:
        table = Table(title=self.title, expand=True)
        table.add_column("Query", ratio=1, min_width=20)
        for column in ("Actual", "Routed", "Confidence", "Final", "Model", "Time (ms)"):
            right = column in {"Confidence", "Time (ms)"}
            table.add_column(column, justify="right" if right else "left", no_wrap=True)
        for decision, actual in self.rows:
            final = final_category(decision)
            if decision.escalation_reason:
                final += f" ({escalation_words(decision)})"
            table.add_row(
                escape(decision.query),  # a customer's words, labels and names: never rich markup
                escape(actual or "-"),
                escape(decision.category + _mark(decision, actual)),
                f"{decision.confidence:.2f}",
                escape(final),
                escape(_model(decision)),
                f"{decision.total_ms:.1f}",
            )
        return table

    def compact(self) -> Table:
        table = Table(title=self.title, expand=True)
        table.add_column("Query", ratio=1, min_width=16)
        table.add_column("Actual → routed", no_wrap=True)
        # Wrapped at a word, not cut: the reasons are the agents' words ("the customer asked for a person"),
        # which would leave the query no room on one line.
        table.add_column("Confidence, time → final", max_width=FINAL_WIDTH)
        for decision, actual in self.rows:
            final = (
                f"escalated: {escalation_words(decision)}"
                if decision.escalated
                else f"answered: {_model(decision)}"
            )
            table.add_row(
                escape(decision.query),
                escape(f"{actual or '-'}\n→ {decision.category}{_mark(decision, actual)}"),
                escape(f"{decision.confidence:.2f} · {decision.total_ms:.1f} ms\n→ {final}"),
            )
        return table


def _unbroken_width(table: Table) -> int:
    """The width ``table`` needs with every no-wrap column whole and the others at their minimum: each
    column's widest cell plus its padding, and the dividers and edges between and around them."""
    columns = table.columns
    widths = [
        max(cell_len(str(cell)) for cell in [column.header, *column.cells])
        if column.no_wrap
        else (column.min_width or 1)
        for column in columns
    ]
    return sum(widths) + 2 * len(columns) + len(columns) + 1


def results_table(title: str, rows: Sequence[tuple[RoutingDecision, str | None]]) -> ResultsTable:
    """The demo's results table for ``rows`` (decision, expected category or None)."""
    return ResultsTable(title, rows)


def _mark(decision: RoutingDecision, actual: str | None) -> str:
    return "" if actual is None else (" ✓" if actual == decision.category else " ✗")


def escalation_words(decision: RoutingDecision) -> str:
    """Why ``decision`` was escalated, in the words the agents read in the escalation and managers in
    /routing-stats ("the customer asked for a person"), not the code name the log keeps."""
    reason = decision.escalation_reason
    return REASON_TEXT.get(reason, str(reason)) if reason else "needs a person"


def _model(decision: RoutingDecision) -> str:
    offline = "offline reply" if decision.offline else None
    return decision.handler_model or offline or decision.classifier_model or "-"


def report_tables(report: EvaluationReport) -> list[Table]:
    """The classification report, the confusion matrix and the calibration buckets."""
    scores = Table(title=f"Classification report: accuracy {report.accuracy:.3f} on {report.count} messages")
    for column in ("Class", "Precision", "Recall", "F1", "Support"):
        scores.add_column(column, justify="left" if column == "Class" else "right")
    for s in report.per_class:
        scores.add_row(
            escape(s.label), f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", str(s.support)
        )
    for name, avg in (("macro avg", report.macro), ("weighted avg", report.weighted)):
        scores.add_row(name, f"{avg.precision:.3f}", f"{avg.recall:.3f}", f"{avg.f1:.3f}", str(avg.support))
    confusion = Table(title="Confusion matrix (rows: actual, columns: routed)")
    confusion.add_column("")
    for label in report.labels:
        confusion.add_column(escape(label), justify="right")
    for label, row in zip(report.labels, report.confusion, strict=True):
        confusion.add_row(escape(label), *map(str, row))
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
    # By the category routed to, escalated or not, as /routing-stats counts them: "Routed to Escalated"
    # read as a category, beside an escalations row that said it again. Percents add up to 100.
    routed = Counter(
        CLOSED_WITH_THANKS if d.acknowledgement and not d.escalated else d.category for d in decisions
    ).most_common()
    for (name, count), percent in zip(routed, whole_percents([c for _, c in routed]), strict=True):
        label = name if name == CLOSED_WITH_THANKS else f"Routed to {name}"
        table.add_row(escape(label), f"{count} ({percent}%)")
    escalated = sum(d.escalated for d in decisions)
    table.add_row("Average confidence", f"{sum(d.confidence for d in decisions) / n:.3f}")
    table.add_row("Escalations", f"{escalated} ({escalated / n:.0%})")
    # Handling over the answers alone, as /routing-stats has it: an escalation or a thank-you had no
    # handler, and its stand-in of 0 ms pulled the average down the more the demo escalated.
    answered = [d for d in decisions if not d.escalated and not d.acknowledgement]
    for label, field, over in (
        ("routing", "routing_ms", decisions),
        ("handling", "handling_ms", answered),
        ("total", "total_ms", decisions),
    ):
        average = f"{sum(getattr(d, field) for d in over) / len(over):.1f} ms" if over else "–"
        note = f" ({len(over)} answered)" if over is answered else ""
        table.add_row(f"Average {label} time{note}", average)
    table.add_row("Estimated cost", f"${sum(d.cost_usd for d in decisions):.4f}")
    return table


def print_all(console: Console, *renderables: object) -> None:
    for renderable in renderables:
        console.print(renderable)
        console.print()
