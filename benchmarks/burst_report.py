"""Figures, targets and verdicts for the burst benchmark, and the one table it prints."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation between closest ranks (numpy's default).

    Raises:
        ValueError: ``values`` is empty or ``q`` is outside 0–100.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, not {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Target:
    """A bound a figure must stay under (``below``) or above, ``or_equal`` to it allowed."""

    limit: float
    below: bool = True
    or_equal: bool = False

    def describe(self, unit: str) -> str:
        sign = ("≤" if self.or_equal else "<") if self.below else ("≥" if self.or_equal else ">")
        return f"{sign} {_number(self.limit)}{unit}"

    def met(self, value: float) -> bool:
        if value == self.limit:
            return self.or_equal
        return value < self.limit if self.below else value > self.limit

    def verdict(self, value: float) -> str:
        """``"met"``, or ``"missed by X"`` with X the distance to the limit and its ratio."""
        met = self.met(value)
        if met:
            return "met"
        gap = abs(value - self.limit)
        ratio = value / self.limit if self.limit else math.inf
        return f"missed by {_number(gap)} ({ratio:.2f}× the limit)"


@dataclass(frozen=True)
class Figure:
    """One row of the table: what was measured, its value, and its target if it has one."""

    section: str
    name: str
    value: float | None
    unit: str = ""
    target: Target | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "not available"
        return self.target.verdict(self.value) if self.target else ""

    def as_json(self) -> dict[str, Any]:
        row = asdict(self)
        row["target"] = self.target.describe(self.unit) if self.target else None
        row["verdict"] = self.verdict or None
        return row


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def shown(figure: Figure) -> str:
    return "—" if figure.value is None else f"{_number(figure.value)}{figure.unit}"


def table(figures: Sequence[Figure]) -> str:
    """The figures as one plain-text table, grouped by section."""
    rows = [("", "figure", "value", "target", "verdict")]
    for f in figures:
        target = f.target.describe(f.unit) if f.target else ""
        rows.append((f.section, f.name, shown(f), target, f.verdict + (f" — {f.note}" if f.note else "")))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    previous = None
    for index, row in enumerate(rows):
        section = row[0] if row[0] != previous else ""
        previous = row[0]
        cells = [section, *row[1:4]]
        line = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  " + row[4]
        lines.append(line.rstrip())
        if index == 0:
            lines.append("-" * min(160, len(line)))
    return "\n".join(lines)


def markdown_table(figures: Sequence[Figure]) -> str:
    """The same table in Markdown, for docs/performance.md."""
    lines = ["| | figure | value | target | verdict |", "|---|---|---|---|---|"]
    previous = None
    for f in figures:
        section = f.section if f.section != previous else ""
        previous = f.section
        target = f.target.describe(f.unit) if f.target else ""
        verdict = f.verdict + (f" ({f.note})" if f.note else "")
        lines.append(f"| {section} | {f.name} | {shown(f)} | {target} | {verdict} |")
    return "\n".join(lines)
