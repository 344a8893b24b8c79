"""The report's headline figures against the period just before it, in words (Slack and terminal alike)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta

from bot.stats.report import StatsReport

DAY = timedelta(days=1)


def previous_label(report: StatsReport) -> str:
    """The whole UTC days the report is compared with: "2026-11-23" or "2026-11-12 – 2026-11-18"; the
    stretch of them a date range cut at now is compared with: "2026-11-16 00:00 – 2026-11-18 09:14"."""
    if report.previous is None:
        return ""
    start, end = report.previous.start, report.previous.end
    if end.time() != time.min:
        return f"{start.date()} {start:%H:%M} – {end.date()} {end:%H:%M}"
    first, last = start.date(), (end - DAY).date()
    return f"{first}" if first == last else f"{first} – {last}"


def _change(before: int, now: int) -> str:
    if before == 0:
        return ""
    return f" ({now / before - 1:+.0%})"


def _pair(name: str, before: float | None, now: float | None, shown: Callable[[float], str]) -> str | None:
    if before is None or now is None:
        return None
    return f"{name} {shown(before)} → {shown(now)}"


def comparison(report: StatsReport, bold: Callable[[str], str] = lambda text: f"*{text}*") -> str | None:
    """E.g. "Against 2026-11-12 – 2026-11-18 (UTC): messages 1,100 → 1,234 (+12%) · escalated 19% → 17% ·
    …", each figure of the days before and of the report's period; None when there are no days before
    (``all``). A figure either period lacks (no reviews, no messages) is left out."""
    before = report.previous
    if before is None:
        return None
    heading = bold(f"Against {previous_label(report)} (UTC)")
    if before.messages == 0:
        return f"{heading}: no messages were routed then."
    parts = [
        f"messages {before.messages:,} → {report.messages:,}{_change(before.messages, report.messages)}",
        _pair("escalated", before.escalation_rate, report.escalation_rate, lambda v: f"{v:.0%}"),
        _pair("accuracy", before.accuracy, report.feedback_total.accuracy, lambda v: f"{v:.0%}"),
        _pair(
            "average confidence", before.confidence_average, report.confidence_average, lambda v: f"{v:.2f}"
        ),
        _pair("cost per message", before.cost_per_message, report.cost_per_message, lambda v: f"${v:,.4f}"),
        _pair("average wait for a reply", before.reply_average_ms, report.reply.average_ms, _seconds),
    ]
    return f"{heading}: " + " · ".join(part for part in parts if part)


def _seconds(ms: float) -> str:
    return f"{ms / 1000:,.1f} s"
