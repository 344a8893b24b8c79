"""The burst benchmark's pure helpers: percentiles, verdicts, tracing messages (no timing here)."""

import json

import pytest

from benchmarks import burst
from benchmarks.burst_load import customer_messages, reference_of
from benchmarks.burst_report import Figure, Target, markdown_table, percentile, table


def test_the_benchmark_modules_import() -> None:
    assert callable(burst.main)
    assert burst.parse_args([]).messages == 100


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([10.0, 0.0], 25) == pytest.approx(2.5)


@pytest.mark.parametrize("values, q", [([], 50), ([1.0], 101), ([1.0], -1)])
def test_percentile_refuses_what_it_cannot_compute(values: list[float], q: float) -> None:
    with pytest.raises(ValueError):
        percentile(values, q)


def test_verdicts_say_met_or_by_how_much_it_was_missed() -> None:
    assert Target(50.0).verdict(49.9) == "met"
    assert Target(50.0).verdict(75.0) == "missed by 25.0 (1.50× the limit)"
    assert Target(50.0).verdict(50.0).startswith("missed")
    assert Target(1.25, or_equal=True).verdict(1.25) == "met"
    assert Target(1.25, or_equal=True).describe("×") == "≤ 1.25×"
    assert Target(0.9, below=False).verdict(0.95) == "met"
    assert Target(0.9, below=False).verdict(0.45) == "missed by 0.45 (0.50× the limit)"


def test_a_figure_without_a_value_is_not_available() -> None:
    figure = Figure("5 stats", "report", None, " s", Target(5.0))
    assert figure.verdict == "not available"
    assert figure.as_json()["target"] == "< 5.00 s"


def test_the_table_shows_value_target_and_verdict_side_by_side() -> None:
    figures = [
        Figure("1 burst", "ack p99", 80.0, " ms", Target(50.0)),
        Figure("1 burst", "makespan", 3.9, " s"),
        Figure("4 cost", "cpu", 1.5, " ms", Target(2.0)),
    ]
    text = table(figures)
    assert "ack p99" in text and "80.0 ms" in text and "< 50.0 ms" in text and "missed by 30.0" in text
    assert text.count("1 burst") == 1
    assert "| 4 cost | cpu | 1.50 ms | < 2.00 ms | met |" in markdown_table(figures)
    json.dumps([f.as_json() for f in figures])


def test_every_message_carries_its_own_reference() -> None:
    texts = customer_messages(40)
    assert len(set(texts)) == 40
    assert [reference_of(t) for t in texts[:2]] == ["1000", "1001"]
    assert reference_of("I need a refund for my order #12345 (ref #1011)") == "1011"
