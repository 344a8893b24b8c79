"""The routing report as Block Kit, for an ephemeral Slack message (pure; within Slack's block limits)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bot.formatting import REASON_TEXT
from bot.mrkdwn import escape
from bot.stats.compare import comparison
from bot.stats.queries import PICKUP_NAMES
from bot.stats.report import GAVE_UP_REASON, NO_REASON, CategoryFeedback, Share, StatsReport
from router.models import Source

BAR_WIDTH = 10
# Slack: at most 50 blocks in a message and 3000 characters in a section's text.
MAX_BLOCKS = 50
SECTION_LIMIT = 3000
LABEL_WIDTH = 40
# Sections that "By category" and "Agent feedback" may each spread over: with the report's other blocks
# (at most 18), two lists of this many stay within MAX_BLOCKS.
LIST_SECTIONS = 16
_SLACK_CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,}", re.ASCII)
# Escalation reasons in words, as the agents read them in the escalation message.
REASON_NAMES = {reason.value: text for reason, text in REASON_TEXT.items()}
REASON_NAMES[NO_REASON] = "no reason recorded"
REASON_NAMES[GAVE_UP_REASON] = "given up after retries"
# Every fallback is escalated as a classifier error: counted in both, which the label says.
FALLBACKS = "fallbacks to the local model (also counted as errors)"
# Said after the pick-up shares when an escalation too recent to have missed a time is left out of it.
PICKUP_NOTE = "(of those picked up within each time or escalated longer ago)"
# Classifier sources in words where the bare value would puzzle a manager.
SOURCE_NAMES = {Source.NONE.value: "nothing to classify (a file alone)"}


def bar(share: float, width: int = BAR_WIDTH, *, aligned: bool = False) -> str:
    """A text bar and a percentage, e.g. ``█████░░░░░ 52%``; ``aligned`` pads the percentage to 4."""
    share = min(max(share, 0.0), 1.0)
    filled = round(share * width)
    percent = f"{share:.0%}"
    return f"{'█' * filled}{'░' * (width - filled)} {percent.rjust(4) if aligned else percent}"


def cut_label(name: str, width: int = LABEL_WIDTH) -> str:
    """``name`` in at most ``width`` characters, cut in the middle: "Billing & Payments /…stomers - region
    07". Names that share a long start (a team's prefix) differ at their end: cut there, they read alike.
    Cut before escaping, so never inside an entity."""
    if len(name) <= width:
        return name
    tail = (width - 1) // 2
    return f"{name[: width - 1 - tail].rstrip()}…{name[len(name) - tail :].lstrip()}"


def noun(count: int, word: str) -> str:
    """``word`` for one, ``word`` + "s" for any other count."""
    return word if count == 1 else f"{word}s"


def plural(count: int, word: str) -> str:
    """E.g. "1 message", "0 messages", "1,234 messages"."""
    return f"{count:,} {noun(count, word)}"


def when(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM``, the year always in four digits (strftime gives "1" for the year 1)."""
    return f"{moment.year:04d}-{moment:%m-%d %H:%M}"


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


# What the timings cover, said beside them: a manager must not read "total" as the customer's wait.
TIME_SCOPE = (
    "routing: classifying; handling: writing the answer; total: both, without posting to Slack or retries; "
    "reply: the customer's wait, from their message to the bot's reply or escalation, all included"
)
TIMING_ROWS = ("routing", "handling", "total", "reply")


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
                    f"{cut_label(row.category)}: accuracy {_rate(row.accuracy)} "
                    f"of {row.reviewed:,} reviewed · re-routed {_rate(row.reroute_rate)} "
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
    summary = (
        f"*{report.messages:,}* {noun(report.messages, 'message')} routed{conversations_note(report, '*')} · "
        f"*{report.escalations:,}* escalated ({_rate(report.escalation_rate)}) · *{report.handoffs:,}* "
        f"{noun(report.handoffs, 'thread')} taken over by agents"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _span(report)}]},
        _section(summary),
    ]
    if (against := comparison(report)) is not None:
        blocks.append(_section(against))
    if report.upcoming:
        blocks.append(_section(f"_{upcoming_note(report)}_"))
        return f"{title}: this period has not happened yet", blocks
    if report.undecided:
        lines = undecided_lines(report, _channel_name)
        blocks.append(_section("*Not answered by the bot*\n" + "\n".join(f"• {line}" for line in lines)))
    if report.messages == 0 and report.reroutes_answered == 0:
        blocks.append(_section("_No messages were routed in this period._"))
        return f"{title}: no messages routed", blocks
    blocks += [
        {"type": "divider"},
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
    notes = [purge_note(report)] if report.purged_messages else []
    if report.first_day_whole:
        notes.append(first_day_note(report))
    if not report.percentiles_exact:
        notes.append("p50 and p95 are read from daily histograms (two significant digits).")
    blocks += [{"type": "context", "elements": [{"type": "mrkdwn", "text": note}]} for note in notes]
    return f"{title}: {plural(report.messages, 'message')} routed", blocks[:MAX_BLOCKS]


def pickups_text(report: StatsReport, bold: Callable[[str], str] = lambda text: f"*{text}*") -> str:
    """How soon agents picked up the period's escalations (within 15 min, 1 h, 4 h), each time's share of
    those that tell (:attr:`StatsReport.pickup_bases`; said when not all do), and how many still wait,
    since when the longest has."""
    whole = report.escalations_to_pick_up
    parts = [f"{report.picked_up:,} of {whole:,} escalations"]
    bases = [report.pickup_bases.get(name, whole) for name in PICKUP_NAMES]
    for name, base in zip(PICKUP_NAMES, bases, strict=True):
        parts.append(f"within {name} {_rate(report.picked_up_within.get(name, 0) / base if base else None)}")
    if any(base < whole for base in bases):
        parts[-1] += f" {PICKUP_NOTE}"
    if report.awaiting_agents:
        since = f", the longest since {when(report.awaiting_since)} UTC" if report.awaiting_since else ""
        parts.append(f"{bold(f'{report.awaiting_agents:,} still waiting')}{since}")
    return f"{bold('Picked up by agents')}: " + " · ".join(parts)


def thanks_note(report: StatsReport, bold: Callable[[str], str] = lambda text: f"*{text}*") -> str:
    """The thank-yous after an answer, which the categories and the handling time leave out."""
    return (
        f"Closed with thanks: {bold(f'{report.acknowledgements:,}')} (a thank-you or goodbye after an "
        "answer, given the short acknowledgement; in no category and not in the handling time)"
    )


def passed_on_note(report: StatsReport, bold: Callable[[str], str] = lambda text: f"*{text}*") -> str:
    """The messages passed on to the person in charge, which the escalations leave out."""
    return (
        f"Passed on to the person in charge: {bold(f'{report.passed_on:,}')} (what customers added under "
        "a DM already escalated; not counted as escalations)"
    )


def undecided_lines(report: StatsReport, channel: Callable[[str], str] = escape) -> list[str]:
    """The messages without a decision in words, the lost ones first; ``channel`` renders a channel."""
    lines = []
    if report.undelivered:
        where = ", ".join(channel(s.name) for s in report.undelivered_channels)
        if report.undelivered_more_channels:
            where += f" and {plural(report.undelivered_more_channels, 'more channel')}"
        lines.append(
            f"{plural(report.undelivered, 'message')} could not be posted, not even as an escalation "
            f'(in {where}): nobody was told; the bot\'s log says why ("could not escalate")'
        )
    if report.left_to_agents:
        lines.append(
            f"{plural(report.left_to_agents, 'message')} left to the agents: the thread was escalated or "
            "taken over while it waited its turn"
        )
    if report.pending:
        lines.append(f"{plural(report.pending, 'message')} being answered or waiting for a retry")
    return lines


def conversations_note(report: StatsReport, bold: str = "") -> str:
    """E.g. " (9 new conversations, 3 follow-ups)": follow-ups are messages in a thread where the bot had
    already replied, the others each start a conversation. Empty without messages."""
    if not report.messages:
        return ""
    new = f"{bold}{report.conversations:,}{bold} new {noun(report.conversations, 'conversation')}"
    return f" ({new}, {bold}{report.follow_ups:,}{bold} {noun(report.follow_ups, 'follow-up')})"


def untimed_note(report: StatsReport) -> str:
    """The classified messages the router's times leave out: their reply was found after a restart."""
    return (
        f"No router times on record for {plural(report.recovered, 'message')} whose reply was found already "
        "posted after a restart: left out of routing, handling and total (not of reply)."
    )


def unmeasured_kinds(report: StatsReport) -> str:
    """Why messages have no tokens on record, e.g. "1 found answered after a restart, 2 given up…"."""
    kinds = [
        f"{report.recovered:,} found answered after a restart" if report.recovered else "",
        f"{report.gave_up_unmeasured:,} given up after retries" if report.gave_up_unmeasured else "",
    ]
    return ", ".join(filter(None, kinds))


def per_message_note(report: StatsReport) -> str:
    """What the per-message tokens and cost divide by, when some messages have no tokens on record."""
    if not report.unmeasured:
        return ""
    return (
        f" (over {plural(report.measured_messages, 'message')}: {report.unmeasured:,} without tokens on "
        f"record, {unmeasured_kinds(report)}, are left out, and the total lacks their cost)"
    )


def not_classified_note(report: StatsReport) -> str:
    """The messages no classifier decided, e.g. "Not classified: 3 (2 files with no text, 1 given up…)"."""
    kinds = [
        plural(report.no_text, "file") + " with no text" if report.no_text else "",
        f"{report.gave_up:,} given up after retries" if report.gave_up else "",
    ]
    return (
        f"Not classified: {report.not_classified:,} ({', '.join(filter(None, kinds))}; escalated, "
        "and left out of categories, confidence and times but the reply time)"
    )


def upcoming_note(report: StatsReport) -> str:
    """For a period entirely in the future."""
    starts = f": it starts on {when(report.start)} UTC" if report.start else ""
    return f"This period has not happened yet{starts}."


def purge_note(report: StatsReport) -> str:
    """What ``db purge`` took from the period, and what the report can still say about it."""
    before = f"made before {when(report.kept_since)} UTC " if report.kept_since else ""
    return (
        f"The decisions of {plural(report.purged_messages, 'message')} of this period {before}were deleted "
        f"(db purge). Counts, times and cost still include them; agent feedback and hand-offs cover only "
        f"the {plural(report.kept_messages or 0, 'message')} kept."
    )


def first_day_note(report: StatsReport) -> str:
    """Why the period starts at midnight (see :attr:`StatsReport.first_day_whole`)."""
    return (
        "The period is counted from 00:00 UTC of its first day: db purge deleted decisions of that day, "
        "and the daily totals kept for it cannot be split by the hour."
    )


def period_end(report: StatsReport) -> str:
    """When the period ends, e.g. "2026-11-30 00:00 UTC"; a date range cut at now says so, lest its
    days to come be read as days without messages."""
    if report.range_end is not None:
        return f"now, {when(report.end)} UTC (the rest of the range is yet to come)"
    return f"{when(report.end)} UTC"


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
        f"*${report.cost_usd:,.2f}* estimated"
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
