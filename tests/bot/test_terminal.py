"""The demo's results tables read whole in any terminal: one column per field where it is wide enough,
two lines per message where it is not (80 columns, or a pipe), and nothing cut short either way."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from bot.terminal import report_tables, results_table, summary_table
from router.evaluate import Prediction, evaluate
from router.models import EscalationReason
from tests.store.samples import decision

ROWS = [
    (
        decision(
            query="My app keeps crashing whenever I try to upload photos from the gallery",
            category="Technical Support",
            escalated=False,
            escalation_reason=None,
            handler_model="claude-sonnet-5-5",
            total_ms=1234.5,
        ),
        "Technical Support",
    ),
    (
        decision(
            query="I received the wrong item in my shipment",
            category="Refund Request",
            confidence=0.31,
            escalation_reason=EscalationReason.LOW_CONFIDENCE,
        ),
        "General Question",
    ),
    (
        decision(
            query="Can I talk to a human about my refund",
            category="Refund Request",
            confidence=0.77,
            escalation_reason=EscalationReason.ASKED_FOR_HUMAN,
        ),
        "Refund Request",
    ),
]


def render(width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(results_table("Labelled queries", ROWS))
    return console.export_text()


def by_column(text: str) -> str:
    """The table's words read down each column in turn: a cell wrapped over lines reads whole."""
    rows = [line.split("│")[1:-1] for line in text.splitlines() if line.startswith("│")]
    return " ".join(" ".join(" ".join(column).split()) for column in zip(*rows, strict=True))


@pytest.mark.parametrize("width", [80, 100, 160, 200])
def test_every_field_is_shown_whole_at_any_width(width: int) -> None:
    text = render(width)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    flat = by_column(text)
    for field in (
        "Technical Support ✓",
        "Refund Request ✗",
        "General Question",
        "0.31",
        "claude-sonnet-5-5",
        "1234.5",
        "low confidence",
        "the customer asked for a person",  # the reason in the agents' and /routing-stats' words
    ):
        assert field in flat, (width, field)
    assert "shipment" in flat and "gallery" in flat  # the queries wrap, whole
    assert "asked for human" not in flat and "asked_for_human" not in flat


def test_a_wide_terminal_gets_a_column_per_field_and_a_narrow_one_two_lines_per_message() -> None:
    wide, narrow = render(200), render(80)
    header = [w for w in next(line for line in wide.splitlines() if "Query" in line).split() if w != "┃"]
    assert header == ["Query", "Actual", "Routed", "Confidence", "Final", "Model", "Time", "(ms)"]
    assert "Actual → routed" in narrow and "→ escalated: low confidence" in narrow


def test_labels_that_look_like_markup_are_printed_as_they_are() -> None:
    labels = ["x[/]", "[billing] Refund"]
    report = evaluate([Prediction(gold=label, predicted=label, confidence=0.9) for label in labels])
    printed = io.StringIO()
    console = Console(file=printed, width=200)
    for table in report_tables(report):
        console.print(table)  # "x[/]" raised MarkupError; "[billing]" vanished as a style
    out = printed.getvalue()
    assert "x[/]" in out and "[billing] Refund" in out


def test_the_routing_metrics_count_categories_as_routing_stats_does_and_add_up_to_100_percent() -> None:
    """ "Routed to Escalated" read as a fourth category, the escalations row below said it again, and
    three messages, one in each, read 33% + 33% + 33%."""
    answered = {"escalated": False, "escalation_reason": None}
    decisions = [
        decision(category="Refund Request"),  # escalated: still routed to its category
        decision(category="General Question", **answered),
        decision(category="Technical Support", **answered),
        decision(category="Refund Request", acknowledgement=True, **answered),
    ]
    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(summary_table("Test queries: routing metrics", decisions))
    rows = [
        " ".join(line.strip("│ ").replace("│", " ").split()) for line in console.export_text().splitlines()
    ]
    assert "Routed to Escalated" not in str(rows)
    assert [row for row in rows if row.startswith(("Routed to", "Closed", "Escalations"))] == [
        "Routed to Refund Request 1 (25%)",
        "Routed to General Question 1 (25%)",
        "Routed to Technical Support 1 (25%)",
        "Closed with thanks 1 (25%)",
        "Escalations 1 (25%)",
    ]
    three = Console(width=120, record=True, color_system=None, file=io.StringIO())
    three.print(summary_table("Labelled", decisions[:3]))
    shown = [int(p) for p in re.findall(r"\((\d+)%\)", three.export_text().partition("Average")[0])]
    assert sorted(shown) == [33, 33, 34]


def test_the_average_handling_time_is_of_the_answers_alone() -> None:
    # An escalation's handling time is a stand-in of 0 ms: averaged in, two escalations beside one
    # 900 ms answer read as 300 ms of handling.
    decisions = [
        decision(escalated=False, escalation_reason=None, handling_ms=900.0, total_ms=1000.0),
        decision(handling_ms=0.0, total_ms=100.0),
        decision(handling_ms=0.0, total_ms=200.0),
    ]
    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(summary_table("Test queries: routing metrics", decisions))
    rows = [
        " ".join(line.strip("│ ").replace("│", " ").split()) for line in console.export_text().splitlines()
    ]
    assert "Average handling time (1 answered) 900.0 ms" in rows
    assert "Average total time 433.3 ms" in rows
