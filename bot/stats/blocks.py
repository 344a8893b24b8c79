"""The routing report as Block Kit, for an ephemeral Slack message (pure; within Slack's block limits, its
sections laid out by :mod:`bot.stats.sections`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.mrkdwn_inline import escape
from bot.stats.compare import comparison
from bot.stats.formats import (
    bar,
    cut_label,
    dollars,
    duration,
    message_cost,
    noun,
    plural,
    rate,
    when,
    whole_percents,
)
from bot.stats.notes import (
    FALLBACKS,
    REASON_NAMES,
    SOURCE_NAMES,
    TIME_SCOPE,
    TIMING_ROWS,
    conversations_note,
    escalated_notes,
    escalated_summary,
    first_day_note,
    not_classified_note,
    passed_on_note,
    per_message_note,
    period_end,
    period_title,
    pickups_text,
    purge_note,
    stopped_note,
    thanks_note,
    time_notes,
    undecided_lines,
    unmeasured_kinds,
    upcoming_note,
    waiting_now_text,
    withdrawn_note,
)
from bot.stats.report import CategoryFeedback, Share, StatsReport
from bot.stats.sections import bar_lines, bars, code_block, columns, section, sections

# Slack: at most 50 blocks in a message.
MAX_BLOCKS = 50
# Sections that "By category" and "Agent feedback" may each spread over: with the report's other blocks
# (at most 21, every line and footnote shown), two lists of this many stay within MAX_BLOCKS; past it,
# the blocks cut at MAX_BLOCKS lost the footnotes (a purge, a first day read whole).
LIST_SECTIONS = 14
_SLACK_CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,}", re.ASCII)


def _timings(report: StatsReport) -> str:
    rows = [("", "average", "p50", "p95")]
    for name in TIMING_ROWS:
        timing = getattr(report, name)
        rows.append((name, duration(timing.average_ms), duration(timing.p50_ms), duration(timing.p95_shown)))
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
    counts = [n for _, n in found]
    lines = columns(labels, [n / total for n in counts], counts, whole_percents(counts))
    return "```" + "\n".join(lines) + "```" if lines else "_none_"


def _feedback(rows: Sequence[CategoryFeedback], overall: CategoryFeedback) -> list[dict[str, Any]]:
    heading = "*Agent feedback*\n"
    if overall.reviewed == 0:
        return [
            section(
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
    return sections(heading, lines, code=False, limit=LIST_SECTIONS, what="categories")


def _channel_name(name: str) -> str:
    return f"<#{name}>" if _SLACK_CHANNEL.fullmatch(name) else escape(name)


def _channels(shares: Sequence[Share]) -> str:
    if not shares:
        return "_none_"
    return "\n".join(f"{_channel_name(s.name)}  `{escape(bar(s.share))}`  {s.count:,}" for s in shares)


def report_blocks(report: StatsReport) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and the blocks of the report."""
    title = f"Routing stats: {period_title(report)}"
    blocks = _heading_blocks(report, title)
    if report.upcoming:
        blocks += [section(f"_{upcoming_note(report)}_"), *_waiting_now(report)]
        return f"{title}: this period has not happened yet", blocks
    if report.undecided:
        lines = undecided_lines(report, _channel_name)
        blocks.append(section("*Not answered by the bot*\n" + "\n".join(f"• {line}" for line in lines)))
    if report.messages == 0 and report.reroutes_answered == 0:
        blocks.append(section("_No messages were routed in this period._"))
        if report.withdrawn_unrouted:
            blocks.append(section(withdrawn_note(report)))
        return f"{title}: no messages routed", [*blocks, *_waiting_now(report)]
    blocks += [{"type": "divider"}, *_figure_blocks(report)]
    blocks += [{"type": "context", "elements": [{"type": "mrkdwn", "text": note}]} for note in _notes(report)]
    return f"{title}: {plural(report.messages, 'message')} routed", blocks[:MAX_BLOCKS]


def _heading_blocks(report: StatsReport, title: str) -> list[dict[str, Any]]:
    """The title, the period, the totals and how they compare with the period before."""
    summary = (
        f"*{report.messages:,}* {noun(report.messages, 'message')} routed{conversations_note(report, '*')} · "
        f"{escalated_summary(report)} · *{report.handoffs:,}* "
        f"{noun(report.handoffs, 'thread')} taken over by agents"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _span(report)}]},
        section(summary),
    ]
    if (against := comparison(report)) is not None:
        blocks.append(section(against))
    return blocks


def _figure_blocks(report: StatsReport) -> list[dict[str, Any]]:
    """The report's figures, from the categories to the busiest channels, for a period with some."""
    return [
        *bars(
            "*By category*\n",
            report.categories,
            notes=escalated_notes(report),
            limit=LIST_SECTIONS,
            what="categories",
        ),
        *([section(thanks_note(report))] if report.acknowledgements else []),
        *([section(stopped_note(report))] if report.stopped else []),
        *bars("*Escalations by reason*\n", report.escalation_reasons, REASON_NAMES, what="reasons"),
        *([section(passed_on_note(report))] if report.passed_on else []),
        *([section(withdrawn_note(report))] if report.withdrawn_messages else []),
        *([section(pickups_text(report))] if report.escalations_to_pick_up else []),
        *_waiting_now(report),
        section(f"*Confidence* · average {_confidence_average(report)}\n" + _confidence(report)),
        section(
            f"*Time* ({TIME_SCOPE})\n"
            + _timings(report)
            + "".join(f"\n_{note}_" for note in time_notes(report))
        ),
        section(
            "*Classified by*\n"
            + code_block(bar_lines(report.sources, SOURCE_NAMES))
            + (f"\n{not_classified_note(report)}" if report.not_classified else "")
            + f"\nErrors: *{report.errors:,}* · {FALLBACKS}: *{report.fallbacks:,}*"
        ),
        section(_cost(report)),
        *_feedback(report.feedback, report.feedback_total),
        section("*Busiest channels*\n" + _channels(report.channels)),
    ]


def _waiting_now(report: StatsReport) -> list[dict[str, Any]]:
    """The customers waiting on the agent holding their thread, when any is: a figure of the moment, not
    of the period, so shown whatever the period holds (none routed, or yet to come)."""
    return [section(waiting_now_text(report))] if report.customers_waiting else []


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
    """When the period runs; and, for a channel known by its id alone (a private channel Slack sent
    without its name, a bare id), the channel as Slack names it: the header, plain text, shows the id."""
    start = when(report.start) if report.start else "the first decision"
    span = f"From {start} to {period_end(report)}"
    if report.channel and _SLACK_CHANNEL.fullmatch(report.channel):
        span += f", in <#{report.channel}>"
    return span


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
        text += f"\nPer message: {tokens_per_message:,.0f} tokens · {message_cost(per_message)}"
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
    return [section(text)]
