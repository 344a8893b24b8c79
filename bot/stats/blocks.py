"""The routing report as Block Kit, for an ephemeral Slack message (pure; within Slack's block limits)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.formatting import escape
from bot.stats.report import CategoryFeedback, Share, StatsReport

BAR_WIDTH = 10
# Slack: at most 50 blocks in a message and 3000 characters in a section's text.
MAX_BLOCKS = 50
SECTION_LIMIT = 3000
_SLACK_CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,}", re.ASCII)


def bar(share: float, width: int = BAR_WIDTH) -> str:
    """A text bar and a percentage, e.g. ``█████░░░░░ 52%``."""
    share = min(max(share, 0.0), 1.0)
    filled = round(share * width)
    return f"{'█' * filled}{'░' * (width - filled)} {share:.0%}"


def period_title(report: StatsReport) -> str:
    """E.g. "last 7 days", "all time", "2024-01-01..2024-01-31"; with the channel when there is one."""
    names = {"24h": "last 24 hours", "7d": "last 7 days", "30d": "last 30 days", "all": "all time"}
    title = names.get(report.period, report.period)
    return f"{title} in {report.channel}" if report.channel else title


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _section(text: str) -> dict[str, Any]:
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 4] + "\n…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _bars(shares: Sequence[Share], names: dict[str, str] | None = None) -> str:
    """Rows of a code block: name, bar, count; names padded so the bars line up."""
    labels = [(names or {}).get(s.name, s.name)[:28] for s in shares]
    width = max((len(label) for label in labels), default=0)
    lines = [
        f"{label.ljust(width)}  {bar(s.share)}  {s.count:,}" for label, s in zip(labels, shares, strict=True)
    ]
    return "```" + escape("\n".join(lines)) + "```" if lines else "_none_"


def _timings(report: StatsReport) -> str:
    rows = [("", "average", "p50", "p95")]
    for name, timing in (("routing", report.routing), ("handling", report.handling), ("total", report.total)):
        rows.append((name, _ms(timing.average_ms), _ms(timing.p50_ms), _ms(timing.p95_ms)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    return "```" + "\n".join(lines) + "```"


def _confidence(report: StatsReport) -> str:
    total = sum(report.confidence_buckets) or 1
    lines = [
        f"{i / 10:.1f}–{(i + 1) / 10:.1f}  {bar(n / total)}  {n:,}"
        for i, n in enumerate(report.confidence_buckets)
        if n
    ]
    return "```" + "\n".join(lines) + "```" if lines else "_none_"


def _feedback(rows: Sequence[CategoryFeedback], overall: CategoryFeedback) -> str:
    if overall.reviewed == 0:
        return "_No agent feedback yet: agents mark routes correct or re-route them under each answer._"
    lines = []
    for row in [*rows, overall]:
        if row.routed or row.reviewed:
            lines.append(
                f"{row.category[:28]}: accuracy {_rate(row.accuracy)} of {row.reviewed:,} reviewed · "
                f"re-routed {_rate(row.reroute_rate)} ({row.rerouted:,} of {row.routed:,})"
            )
    return escape("\n".join(lines))


def _channel_name(name: str) -> str:
    return f"<#{name}>" if _SLACK_CHANNEL.fullmatch(name) else escape(name)


def _channels(shares: Sequence[Share]) -> str:
    if not shares:
        return "_none_"
    return "\n".join(f"{_channel_name(s.name)}  `{bar(s.share)}`  {s.count:,}" for s in shares)


def report_blocks(report: StatsReport) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and the blocks of the report."""
    title = f"Routing stats: {period_title(report)}"
    summary = (
        f"*{report.messages:,}* messages routed · *{report.escalations:,}* escalated "
        f"({report.escalation_rate:.0%}) · *{report.handoffs:,}* taken over by agents"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _span(report)}]},
        _section(summary),
    ]
    if report.messages == 0 and report.reroutes_answered == 0:
        blocks.append(_section("_No messages were routed in this period._"))
        return f"{title}: no messages routed", blocks
    blocks += [
        {"type": "divider"},
        _section("*By category*\n" + _bars(report.categories)),
        _section("*Escalations by reason*\n" + _bars(report.escalation_reasons)),
        _section(f"*Confidence* · average {_confidence_average(report)}\n" + _confidence(report)),
        _section("*Time*\n" + _timings(report)),
        _section(
            "*Classified by*\n"
            + _bars(report.sources)
            + f"\nErrors: *{report.errors:,}* · fallbacks to the local model: *{report.fallbacks:,}*"
        ),
        _section(_cost(report)),
        _section("*Agent feedback*\n" + _feedback(report.feedback, report.feedback_total)),
        _section("*Busiest channels*\n" + _channels(report.channels)),
    ]
    if not report.percentiles_exact:
        note = "p50 and p95 are read from daily histograms (two significant digits)."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    return f"{title}: {report.messages:,} messages routed", blocks[:MAX_BLOCKS]


def _span(report: StatsReport) -> str:
    end = report.end.strftime("%Y-%m-%d %H:%M")
    start = report.start.strftime("%Y-%m-%d %H:%M") if report.start else "the first decision"
    return f"From {start} to {end} UTC"


def _confidence_average(report: StatsReport) -> str:
    return "–" if report.confidence_average is None else f"{report.confidence_average:.2f}"


def _cost(report: StatsReport) -> str:
    per_message = report.cost_per_message
    tokens_per_message = report.tokens_per_message
    text = (
        f"*Tokens and cost*\n{report.tokens:,} tokens ({report.input_tokens:,} in, "
        f"{report.output_tokens:,} out, {report.cache_read_tokens + report.cache_creation_tokens:,} cache) · "
        f"*${report.cost_usd:,.2f}* estimated"
    )
    if per_message is not None and tokens_per_message is not None:
        text += f"\nPer message: {tokens_per_message:,.0f} tokens · ${per_message:,.4f}"
    if report.reroutes_answered:
        text += f"\nIncludes {report.reroutes_answered:,} answers given again after an agent's re-route."
    return text


def usage_blocks(text: str) -> list[dict[str, Any]]:
    """A usage message (or refusal) as one section."""
    return [_section(text)]
