"""The routing report's words, shared by its two renderings: the Slack blocks (:mod:`bot.stats.blocks`) and
the terminal (:mod:`bot.stats.terminal`). The values they are written with are :mod:`bot.stats.formats`."""

from __future__ import annotations

from collections.abc import Callable

from bot.escalation_messages import REASON_TEXT, waited_words
from bot.mrkdwn_inline import escape
from bot.stats.formats import noun, plural, rate, when
from bot.stats.queries import PICKUP_NAMES
from bot.stats.report import GAVE_UP_REASON, NO_REASON, P95_MIN_TIMES, StatsReport
from router.models import Source

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


def period_title(report: StatsReport) -> str:
    """E.g. "last 7 days", "all time", "2024-01-01..2024-01-31"; with the channel when there is one."""
    names = {"24h": "last 24 hours", "7d": "last 7 days", "30d": "last 30 days", "all": "all time"}
    title = names.get(report.period, report.period)
    return f"{title} in {report.channel}" if report.channel else title


def escalated_notes(report: StatsReport) -> list[str]:
    """For each of the report's categories, e.g. "2 escalated (28.6%)": which routes need people most
    ("–" for a category whose messages were all passed on to the person in charge); when customers
    stopped any answer, how many of the category's answers they stopped, e.g. "· 1 stopped (12.5%)":
    whose answers miss."""
    notes = [f"{n:,} escalated ({rate(share)})" for n, share in report.category_escalations_rated()]
    if not report.stopped:
        return notes
    stops = report.category_stops_rated()
    return [f"{note} · {n:,} stopped ({rate(share)})" for note, (n, share) in zip(notes, stops, strict=True)]


def escalated_summary(report: StatsReport, bold: Callable[[str], str] = lambda text: f"*{text}*") -> str:
    """The headline's escalations and their rate, e.g. "3 escalated (30%)"; when messages it counts are
    out of the rate (:func:`~bot.stats.headline.rate_of_escalation`), what it is of: "3 escalated (30%
    of the 10 not passed on)" beside "12 messages routed" read as a sum gone wrong."""
    left_out = [word for word, n in (("passed on", report.passed_on), ("withdrawn", report.withdrawn)) if n]
    of = ""
    if left_out and report.escalation_rate is not None:
        whole = report.messages - report.passed_on - report.withdrawn
        kinds = f"neither {left_out[0]} nor {left_out[1]}" if len(left_out) == 2 else f"not {left_out[0]}"
        of = f" of the {whole:,} {kinds}"
    return f"{bold(f'{report.escalations:,}')} escalated ({rate(report.escalation_rate)}{of})"


def stopped_note(report: StatsReport, bold: Callable[[str], str] = lambda text: f"*{text}*") -> str:
    """The answers customers stopped before their end, of all the answers posted."""
    return (
        f"Answers stopped by customers: {bold(f'{report.stopped:,}')} of {plural(report.answers, 'answer')} "
        f"({rate(report.stop_rate)}; the customer pressed Stop while it was written: an answer they did "
        "not want to read to the end)"
    )


def withdrawn_note(report: StatsReport, bold: Callable[[str], str] = lambda text: f"*{text}*") -> str:
    """The messages their authors deleted before the bot replied: what became of them and of their cost."""
    routed = (
        f"; {report.withdrawn:,} of them routed first: among the messages and in the cost, but not in the "
        "categories, escalations, their rates or the reply time"
        if report.withdrawn
        else ""
    )
    return (
        f"Withdrawn by their authors: {bold(f'{report.withdrawn_messages:,}')} (deleted before the bot "
        f"replied: nothing was posted to the customer or the agents{routed})"
    )


# What the timings cover, said beside them: a manager must not read "total" as the customer's wait.
TIME_SCOPE = (
    "routing: classifying; handling: writing the answer; total: both, without posting to Slack or retries; "
    "reply: the customer's wait, from their message to the bot's reply or escalation, all included"
)


TIMING_ROWS = ("routing", "handling", "total", "reply")


def pickups_text(report: StatsReport, bold: Callable[[str], str] = lambda text: f"*{text}*") -> str:
    """How soon agents picked up the period's escalations (within 15 min, 1 h, 4 h), each time's share of
    those that tell (:attr:`StatsReport.pickup_bases`; said when not all do), and how many still wait,
    since when the longest has."""
    whole = report.escalations_to_pick_up
    parts = [f"{report.picked_up:,} of {whole:,} escalations"]
    bases = [report.pickup_bases.get(name, whole) for name in PICKUP_NAMES]
    for name, base in zip(PICKUP_NAMES, bases, strict=True):
        parts.append(f"within {name} {rate(report.picked_up_within.get(name, 0) / base if base else None)}")
    if any(base < whole for base in bases):
        parts[-1] += f" {PICKUP_NOTE}"
    if report.awaiting_agents:
        since = f", the longest since {when(report.awaiting_since)} UTC" if report.awaiting_since else ""
        parts.append(f"{bold(f'{report.awaiting_agents:,} of them still waiting')}{since}")
    return f"{bold('Picked up by agents')}: " + " · ".join(parts)


def waiting_now_text(report: StatsReport, bold: Callable[[str], str] = lambda text: f"*{text}*") -> str:
    """The customers waiting right now on the agent who holds their thread, and for how long the longest
    has, e.g. "Now: 2 customers waiting on the agent holding their thread, the longest for 43 minutes
    (…)": the report's one figure of the moment it was read, not of its period, which it says lest a
    manager read a wait begun last week as none in a ``24h`` report."""
    n = report.customers_waiting
    longest = report.customers_waiting_longest
    waited = "" if longest is None else f", {'for' if n == 1 else 'the longest for'} {waited_words(longest)}"
    who = f"{plural(n, 'customer')} waiting on the agent holding their thread"
    return (
        f"{bold('Now')}: {bold(who)}{waited} "
        "(they wrote again and no agent has replied since; counted as of now, whenever they wrote, not "
        "only in this period)"
    )


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


def cut_short_note(report: StatsReport) -> str:
    """The answers the times leave out because a stop ended them, not the bot: counted, they read faster."""
    return (
        f"{plural(report.cut_short, 'answer')} stopped before {'its' if report.cut_short == 1 else 'their'} "
        "end (by the customer, or by deleting the message) left out of handling and total: the stop, not "
        "the bot, ended them."
    )


def time_notes(report: StatsReport) -> list[str]:
    """What the times leave out, said under them: messages with no times on record, answers cut short, a
    p95 from too few times."""
    notes = [untimed_note(report)] if report.recovered else []
    notes += [cut_short_note(report)] if report.cut_short else []
    if any(getattr(report, name).p95_withheld for name in TIMING_ROWS):
        few = "from fewer, it is little more than the slowest one"
        notes.append(f"p95 shows from {P95_MIN_TIMES} times up (–): {few}.")
    return notes


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
