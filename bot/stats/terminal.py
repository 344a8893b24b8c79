"""The routing report for a terminal (``support-router stats``), with rich."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.stats.compare import comparison
from bot.stats.formats import (
    bar,
    cut_label,
    dollars,
    duration,
    message_cost,
    noun,
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
from bot.stats.period import LOCAL_CHANNELS
from bot.stats.report import Share, StatsReport

LOCAL_LEFT_OUT = (
    "Decisions recorded by support-router demo and chat are left out: "
    + " or ".join(f"--channel {name}" for name in LOCAL_CHANNELS)
    + " shows them."
)


def _bold(text: str) -> str:
    """``text`` in bold, in rich's markup (the notes take how to make a word stand out)."""
    return f"[bold]{text}[/bold]"


def _shares(
    title: str, shares: Sequence[Share], names: dict[str, str] | None = None, notes: Sequence[str] = ()
) -> Table | Text:
    if not shares:
        # An empty table printed its title folded over a headerless row, as if cut off; Slack says none.
        return Text(f"{title}: none")
    table = Table(title=title, title_justify="left", show_edge=False)
    # Folded, not cut with "…": rich cut a long word at its end, where names that start alike differ.
    table.add_column("", overflow="fold")
    table.add_column("share")
    table.add_column("count", justify="right")
    if notes:
        table.add_column("")
    for i, share in enumerate(shares):
        name = escape(cut_label((names or {}).get(share.name, share.name)))  # a category's name is not markup
        row = [name, bar(share.share, aligned=True, percent=share.percent), f"{share.count:,}"]
        table.add_row(*row, *([notes[i]] if notes else []))
    return table


Renderable = Table | Panel | Text


def report_renderables(report: StatsReport) -> list[Renderable]:
    """The report as rich renderables, in the order the Slack report shows them."""
    parts: list[Renderable] = [_summary(report)]
    if report.upcoming:
        return [*parts, Text(upcoming_note(report)), *_waiting_now(report)]
    parts += _notes(report)
    if report.undecided:
        lines = escape("\n".join(f"• {line}" for line in undecided_lines(report, str)))
        parts.append(Panel(lines, title="Not answered by the bot", title_align="left", style="yellow"))
    if report.messages == 0 and report.reroutes_answered == 0:
        return [*parts, *_withdrawn(report), *_waiting_now(report)]
    parts += _routes(report)
    parts += [_confidence(report), _timing(report), _shares("Classified by", report.sources, SOURCE_NAMES)]
    if report.not_classified:
        parts.append(Text(not_classified_note(report)))
    parts += [_costs(report), _feedback(report), _shares("Busiest channels", report.channels)]
    return parts


def _summary(report: StatsReport) -> Panel:
    """The headline: messages, escalations and take-overs in the period, against the one before."""
    span = f"{when(report.start)} → " if report.start else "since the first decision → "
    summary = (
        f"[bold]{report.messages:,}[/bold] {noun(report.messages, 'message')} routed"
        f"{conversations_note(report)} · "
        f"{escalated_summary(report, _bold)} · "
        f"[bold]{report.handoffs:,}[/bold] {noun(report.handoffs, 'thread')} taken over by agents\n"
        f"{span}{period_end(report)}"
    )
    if (against := comparison(report, _bold)) is not None:
        summary += f"\n{against}"
    return Panel(summary, title=escape(f"Routing stats: {period_title(report)}"))


def _routes(report: StatsReport) -> list[Renderable]:
    """Where the messages went: the categories, the escalations' reasons and how agents picked them up."""
    parts: list[Renderable] = [_shares("By category", report.categories, notes=escalated_notes(report))]
    if report.acknowledgements:
        parts.append(Text.from_markup(thanks_note(report, _bold)))
    if report.stopped:
        parts.append(Text.from_markup(stopped_note(report, _bold)))
    parts.append(_shares("Escalations by reason", report.escalation_reasons, REASON_NAMES))
    if report.passed_on:
        parts.append(Text.from_markup(passed_on_note(report, _bold)))
    parts += _withdrawn(report)
    if report.escalations_to_pick_up:
        parts.append(Text.from_markup(pickups_text(report, _bold)))
    return [*parts, *_waiting_now(report)]


def _waiting_now(report: StatsReport) -> list[Renderable]:
    """The customers waiting now on the agent holding their thread, when any is, whatever the period holds
    (a figure of the moment, not of the period)."""
    return [Text.from_markup(waiting_now_text(report, _bold))] if report.customers_waiting else []


def _withdrawn(report: StatsReport) -> list[Renderable]:
    """The messages their authors deleted before the bot replied, when there are any."""
    return [Text.from_markup(withdrawn_note(report, _bold))] if report.withdrawn_messages else []


def _confidence(report: StatsReport) -> Table:
    """The classifications' confidence, a bar for each tenth."""
    average = "–" if report.confidence_average is None else f"{report.confidence_average:.2f}"
    confidence = Table(
        title=f"Confidence (average {average})",
        title_justify="left",
        show_edge=False,
    )
    for column in ("range", "share", "count"):
        confidence.add_column(column, justify="right" if column == "count" else "left")
    whole = sum(report.confidence_buckets) or 1
    percents = whole_percents(report.confidence_buckets)
    for i, (n, percent) in enumerate(zip(report.confidence_buckets, percents, strict=True)):
        shown = bar(n / whole, aligned=True, percent=percent)
        confidence.add_row(f"{i / 10:.1f}–{(i + 1) / 10:.1f}", shown, f"{n:,}")
    return confidence


def _timing(report: StatsReport) -> Table:
    """Each time's count, average, p50 and p95."""
    note = "" if report.percentiles_exact else " (p50/p95 from daily histograms)"
    timing = Table(
        title=f"Time{note}",
        caption="\n".join([TIME_SCOPE, *time_notes(report)]),
        caption_justify="left",
        title_justify="left",
        show_edge=False,
    )
    for column in ("", "count", "average", "p50", "p95"):
        timing.add_column(column, justify="right" if column else "left")
    for name in TIMING_ROWS:
        t = getattr(report, name)
        timing.add_row(
            name, f"{t.count:,}", duration(t.average_ms), duration(t.p50_ms), duration(t.p95_shown)
        )
    return timing


def _costs(report: StatsReport) -> Table:
    """The errors, Claude's tokens and their estimated cost."""
    costs = Table(title="Errors, tokens and cost", title_justify="left", show_edge=False, show_header=False)
    costs.add_column("")
    costs.add_column("", justify="right")
    costs.add_row("errors", f"{report.errors:,}")
    costs.add_row(FALLBACKS, f"{report.fallbacks:,}")
    costs.add_row(
        "tokens (in / out / cache)",
        f"{report.input_tokens:,} / {report.output_tokens:,} / "
        f"{report.cache_read_tokens + report.cache_creation_tokens:,}",
    )
    costs.add_row("estimated cost", dollars(report.cost_usd))
    if report.tokens_per_message is not None and report.cost_per_message is not None:
        # Only with messages: re-routes alone are paid for, but there is nothing to divide them by.
        per_message = f"{report.tokens_per_message:,.0f} tokens · {message_cost(report.cost_per_message)}"
        costs.add_row("per message", per_message)
    if report.unmeasured:
        costs.add_row(
            "messages without tokens on record (left out)",
            f"{report.unmeasured:,} ({unmeasured_kinds(report)})",
        )
    costs.add_row("answers re-given after a re-route", f"{report.reroutes_answered:,}")
    return costs


def _feedback(report: StatsReport) -> Table:
    """The agents' verdicts per category: how many reviewed, accuracy and re-routes."""
    feedback = Table(title="Agent feedback", title_justify="left", show_edge=False)
    feedback.add_column("category", overflow="fold")
    for column in ("routed", "reviewed", "accuracy", "re-routed", "re-route rate"):
        feedback.add_column(column, justify="right")
    for row in [*report.feedback, report.feedback_total]:
        feedback.add_row(
            escape(cut_label(row.category)),
            f"{row.routed:,}",
            f"{row.reviewed:,}",
            rate(row.accuracy),
            f"{row.rerouted:,}",
            rate(row.reroute_rate),
        )
    return feedback


def _notes(report: StatsReport) -> list[Renderable]:
    notes = [purge_note(report)] if report.purged_messages else []
    if report.first_day_whole:
        notes.append(first_day_note(report))
    if report.channel is None:
        notes.append(LOCAL_LEFT_OUT)
    return [Text(note, style="dim") for note in notes]


def print_report(report: StatsReport, console: Console) -> None:
    """Print the report."""
    console.print(Group(*report_renderables(report)))
