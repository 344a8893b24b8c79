"""The routing report as Block Kit, for an ephemeral Slack message (pure; within Slack's block limits)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.mrkdwn_inline import escape
from bot.stats.compare import comparison
from bot.stats.notes import (
    FALLBACKS,
    REASON_NAMES,
    SOURCE_NAMES,
    TIME_SCOPE,
    TIMING_ROWS,
    bar,
    conversations_note,
    cut_label,
    dollars,
    first_day_note,
    not_classified_note,
    noun,
    passed_on_note,
    per_message_note,
    period_end,
    period_title,
    pickups_text,
    plural,
    purge_note,
    rate,
    thanks_note,
    undecided_lines,
    unmeasured_kinds,
    untimed_note,
    upcoming_note,
    when,
)
from bot.stats.report import CategoryFeedback, Share, StatsReport

# Slack: at most 50 blocks in a message and 3000 characters in a section's text.
MAX_BLOCKS = 50
SECTION_LIMIT = 3000
# Sections that "By category" and "Agent feedback" may each spread over: with the report's other blocks
# (at most 18), two lists of this many stay within MAX_BLOCKS.
LIST_SECTIONS = 16
_SLACK_CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,}", re.ASCII)


def _ms(value: float | None) -> str:
    """A time in the unit it reads best in: the router's in ms, a customer's wait after an outage in
    minutes or hours ("2.0 h", not "7,200,000 ms")."""
    if value is None:
        return "–"
    if value < 10:
        return f"{value:.1f} ms"
    if value < 10_000:
        return f"{value:,.0f} ms"
    if value < 600_000:
        return f"{value / 1000:.1f} s"
    if value < 7_200_000:
        return f"{value / 60_000:.0f} min"
    return f"{value / 3_600_000:,.1f} h"


def _section(text: str) -> dict[str, Any]:
    if len(text) > SECTION_LIMIT:
        # Cut at a line's end, never inside an escaped entity (&amp;) or a link.
        cut = text.rfind("\n", 0, SECTION_LIMIT - 8)
        text = text[: cut if cut > 0 else SECTION_LIMIT - 8] + "\n…"
        if text.count("```") % 2:  # cut inside a code block: close it, or the rest shows raw
            text += "```"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _sections(
    heading: str, lines: Sequence[str], *, code: bool, limit: int, what: str
) -> list[dict[str, Any]]:
    """``lines`` (escaped already) under ``heading``, in as many sections as Slack's 3000 characters
    need, up to ``limit`` of them; any lines left over are counted in a last line ("…and 3 more
    categories"), so nothing goes missing unsaid. A line is never cut."""
    fence = "```" if code else ""
    chunks: list[list[str]] = [[]]
    for i, line in enumerate(lines):
        chunk = chunks[-1]
        size = len(heading if len(chunks) == 1 else "") + 2 * len(fence) + sum(len(x) + 1 for x in chunk)
        if chunk and size + len(line) > SECTION_LIMIT:
            if len(chunks) == limit:
                return _with_more(heading, chunks, fence, len(lines) - i, what)
            chunks.append(chunk := [])
        chunk.append(line)
    return [_section(_chunk_text(heading, chunks, n, fence)) for n in range(len(chunks))]


def _with_more(
    heading: str, chunks: list[list[str]], fence: str, left: int, what: str
) -> list[dict[str, Any]]:
    def more() -> str:
        return f"\n_…and {left:,} more {what} (support-router stats shows all)_"

    last = len(chunks) - 1
    while chunks[last] and len(_chunk_text(heading, chunks, last, fence) + more()) > SECTION_LIMIT:
        chunks[last].pop()
        left += 1
    texts = [_chunk_text(heading, chunks, n, fence) for n in range(len(chunks))]
    texts[-1] += more()
    return [_section(text) for text in texts]


def _chunk_text(heading: str, chunks: list[list[str]], n: int, fence: str) -> str:
    return (heading if n == 0 else "") + fence + "\n".join(chunks[n]) + fence


def _bar_lines(
    shares: Sequence[Share], names: dict[str, str] | None = None, notes: Sequence[str] = ()
) -> list[str]:
    """Rows of a code block: name, bar, percentage, count (and a note); every column lined up; escaped."""
    labels = [cut_label((names or {}).get(s.name, s.name)) for s in shares]
    lines = _columns(labels, [s.share for s in shares], [s.count for s in shares])
    if notes:
        lines = [f"{line}  · {note}" for line, note in zip(lines, notes, strict=True)]
    return [escape(line) for line in lines]


def _bars(
    heading: str,
    shares: Sequence[Share],
    names: dict[str, str] | None = None,
    notes: Sequence[str] = (),
    *,
    limit: int = 1,
    what: str = "rows",
) -> list[dict[str, Any]]:
    lines = _bar_lines(shares, names, notes)
    if not lines:
        return [_section(heading + "_none_")]
    return _sections(heading, lines, code=True, limit=limit, what=what)


def _columns(labels: Sequence[str], parts: Sequence[float], counts: Sequence[int]) -> list[str]:
    width = max((len(label) for label in labels), default=0)
    numbers = [f"{n:,}" for n in counts]
    count_width = max((len(n) for n in numbers), default=0)
    return [
        f"{label.ljust(width)}  {bar(part, aligned=True)}  {n.rjust(count_width)}"
        for label, part, n in zip(labels, parts, numbers, strict=True)
    ]


def _code(lines: Sequence[str]) -> str:
    return "```" + "\n".join(lines) + "```" if lines else "_none_"


def _timings(report: StatsReport) -> str:
    rows = [("", "average", "p50", "p95")]
    for name in TIMING_ROWS:
        timing = getattr(report, name)
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
    found = [(i, n) for i, n in enumerate(report.confidence_buckets) if n]
    labels = [f"{i / 10:.1f}–{(i + 1) / 10:.1f}" for i, _ in found]
    lines = _columns(labels, [n / total for _, n in found], [n for _, n in found])
    return "```" + "\n".join(lines) + "```" if lines else "_none_"


def _feedback(rows: Sequence[CategoryFeedback], overall: CategoryFeedback) -> list[dict[str, Any]]:
    heading = "*Agent feedback*\n"
    if overall.reviewed == 0:
        return [
            _section(
                heading
                + "_No agent feedback yet: agents mark routes correct or re-route them under each answer._"
            )
        ]
    lines = []
    # The overall line first: with many categories, it is the one a manager must not miss.
    for row in [overall, *rows]:
        if row.routed or row.reviewed:
            lines.append(
                escape(
                    f"{cut_label(row.category)}: accuracy {rate(row.accuracy)} "
                    f"of {row.reviewed:,} reviewed · re-routed {rate(row.reroute_rate)} "
                    f"({row.rerouted:,} of {row.routed:,})"
                )
            )
    return _sections(heading, lines, code=False, limit=LIST_SECTIONS, what="categories")


def _channel_name(name: str) -> str:
    return f"<#{name}>" if _SLACK_CHANNEL.fullmatch(name) else escape(name)


def _channels(shares: Sequence[Share]) -> str:
    if not shares:
        return "_none_"
    return "\n".join(f"{_channel_name(s.name)}  `{bar(s.share)}`  {s.count:,}" for s in shares)


def report_blocks(report: StatsReport) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and the blocks of the report."""
    title = f"Routing stats: {period_title(report)}"
    blocks = _heading_blocks(report, title)
    if report.upcoming:
        blocks.append(_section(f"_{upcoming_note(report)}_"))
        return f"{title}: this period has not happened yet", blocks
    if report.undecided:
        lines = undecided_lines(report, _channel_name)
        blocks.append(_section("*Not answered by the bot*\n" + "\n".join(f"• {line}" for line in lines)))
    if report.messages == 0 and report.reroutes_answered == 0:
        blocks.append(_section("_No messages were routed in this period._"))
        return f"{title}: no messages routed", blocks
    blocks += [{"type": "divider"}, *_figure_blocks(report)]
    blocks += [{"type": "context", "elements": [{"type": "mrkdwn", "text": note}]} for note in _notes(report)]
    return f"{title}: {plural(report.messages, 'message')} routed", blocks[:MAX_BLOCKS]


def _heading_blocks(report: StatsReport, title: str) -> list[dict[str, Any]]:
    """The title, the period, the totals and how they compare with the period before."""
    summary = (
        f"*{report.messages:,}* {noun(report.messages, 'message')} routed{conversations_note(report, '*')} · "
        f"*{report.escalations:,}* escalated ({rate(report.escalation_rate)}) · *{report.handoffs:,}* "
        f"{noun(report.handoffs, 'thread')} taken over by agents"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _span(report)}]},
        _section(summary),
    ]
    if (against := comparison(report)) is not None:
        blocks.append(_section(against))
    return blocks


def _figure_blocks(report: StatsReport) -> list[dict[str, Any]]:
    """The report's figures, from the categories to the busiest channels, for a period with some."""
    return [
        *_bars(
            "*By category*\n",
            report.categories,
            notes=report.escalated_notes(),
            limit=LIST_SECTIONS,
            what="categories",
        ),
        *([_section(thanks_note(report))] if report.acknowledgements else []),
        *_bars("*Escalations by reason*\n", report.escalation_reasons, REASON_NAMES, what="reasons"),
        *([_section(passed_on_note(report))] if report.passed_on else []),
        *([_section(pickups_text(report))] if report.escalations_to_pick_up else []),
        _section(f"*Confidence* · average {_confidence_average(report)}\n" + _confidence(report)),
        _section(
            f"*Time* ({TIME_SCOPE})\n"
            + _timings(report)
            + (f"\n_{untimed_note(report)}_" if report.recovered else "")
        ),
        _section(
            "*Classified by*\n"
            + _code(_bar_lines(report.sources, SOURCE_NAMES))
            + (f"\n{not_classified_note(report)}" if report.not_classified else "")
            + f"\nErrors: *{report.errors:,}* · {FALLBACKS}: *{report.fallbacks:,}*"
        ),
        _section(_cost(report)),
        *_feedback(report.feedback, report.feedback_total),
        _section("*Busiest channels*\n" + _channels(report.channels)),
    ]


def _notes(report: StatsReport) -> list[str]:
    """The footnotes on what the figures could not count as the rest: purged decisions, a first day read
    whole from its daily totals, percentiles read from histograms."""
    notes = [purge_note(report)] if report.purged_messages else []
    if report.first_day_whole:
        notes.append(first_day_note(report))
    if not report.percentiles_exact:
        notes.append("p50 and p95 are read from daily histograms (two significant digits).")
    return notes


def _span(report: StatsReport) -> str:
    start = when(report.start) if report.start else "the first decision"
    return f"From {start} to {period_end(report)}"


def _confidence_average(report: StatsReport) -> str:
    return "–" if report.confidence_average is None else f"{report.confidence_average:.2f}"


def _cost(report: StatsReport) -> str:
    per_message = report.cost_per_message
    tokens_per_message = report.tokens_per_message
    text = (
        f"*Tokens and cost*\n{report.tokens:,} tokens ({report.input_tokens:,} in, "
        f"{report.output_tokens:,} out, {report.cache_read_tokens + report.cache_creation_tokens:,} cache) · "
        f"*{dollars(report.cost_usd)}* estimated"
    )
    if per_message is not None and tokens_per_message is not None:
        text += f"\nPer message: {tokens_per_message:,.0f} tokens · ${per_message:,.4f}"
        text += per_message_note(report)
    elif report.unmeasured:
        unknown = f"{plural(report.unmeasured, 'message')} without tokens on record"
        text += f"\n{unknown} ({unmeasured_kinds(report)}): the total lacks their cost"
    if report.reroutes_answered:
        answers = plural(report.reroutes_answered, "answer")
        text += f"\nIncludes {answers} given again after an agent's re-route."
    return text


def usage_blocks(text: str) -> list[dict[str, Any]]:
    """A usage message (or refusal) as one section."""
    return [_section(text)]
