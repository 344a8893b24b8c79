"""The report's headline figures against the period just before it, in words (Slack and terminal alike)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta

from bot.stats.formats import duration, message_cost, percent_change, plural, points_change, rate
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


def previous_days(report: StatsReport) -> str:
    """What the report is compared with, in words: "the day before", "the 7 days before", and for a
    date range cut at now "the same stretch of the 7 days before"."""
    if report.previous is None:
        return ""
    days = report.previous.days
    whole = "the day before" if days == 1 else f"the {days:,} days before"
    return f"the same stretch of {whole}" if report.range_end is not None else whole


def _figure(
    name: str,
    before: float | None,
    now: float | None,
    shown: Callable[[float], str],
    change: Callable[[float | None, float | None], str],
) -> str | None:
    """E.g. "escalated 9.5% (−2.1 pts)": the period's figure and how it moved ("–": nothing to compare
    it with); None when the period has none."""
    if now is None:
        return None
    return f"{name} {shown(now)} ({change(before, now)})"


def comparison(report: StatsReport, bold: Callable[[str], str] = lambda text: f"*{text}*") -> str | None:
    """E.g. "Against the 7 days before (2026-11-12 – 2026-11-18 UTC): 412 messages (+18%) · escalated
    9.5% (−2.1 pts) · answers stopped 4.2% (+1.5 pts) · accuracy 91% of 120 reviewed (+3 pts) · median
    wait for a reply 3.8 s (−8%) · cost per message $0.0042 (−18%)": the figures managers steer by, each
    with how it moved since the days before; None when there are none (``all``, a period to come). A
    figure the period lacks (no reviews) is left out, one the days before lack shows "–"; the stops are
    shown when customers stopped any answer, then or now (of the answers posted: are they stopping the
    bot's answers more often?)."""
    before = report.previous
    if before is None:
        return None

    def reviewed(accuracy: float) -> str:
        # How many verdicts it rests on: a swing of 40 points on five verdicts is no trend to act on.
        return f"{rate(accuracy)} of {report.feedback_total.reviewed:,} reviewed"

    heading = f"{bold(f'Against {previous_days(report)}')} ({previous_label(report)} UTC)"
    if before.messages == 0:
        return f"{heading}: no messages were routed then."
    parts = [
        f"{plural(report.messages, 'message')} ({percent_change(before.messages, report.messages)})",
        _figure("escalated", before.escalation_rate, report.escalation_rate, rate, points_change),
        # Only when customers stopped any answer in either: "answers stopped 0% (±0 pts)" is clutter.
        _figure("answers stopped", before.stop_rate, report.stop_rate, rate, points_change)
        if report.stopped or before.stopped
        else None,
        _figure("accuracy", before.accuracy, report.feedback_total.accuracy, reviewed, points_change),
        _figure(
            "median wait for a reply", before.reply_p50_ms, report.reply.p50_ms, duration, percent_change
        ),
        _figure(
            "cost per message", before.cost_per_message, report.cost_per_message, message_cost, percent_change
        ),
    ]
    return f"{heading}: " + " · ".join(part for part in parts if part)
