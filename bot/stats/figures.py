"""Adding up the routing report's figures from the rows of ``bot.stats.queries``' aggregates: the grouped
decisions' counts, shares, sums and times, the agents' feedback per category, and the messages without a
decision. Pure: :mod:`bot.stats.build` reads the rows and hands them here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from bot.stats.queries import AGENT, CONF, WITHDRAWN_STATE
from bot.stats.report import GAVE_UP_REASON, NO_REASON, CategoryFeedback
from bot.stats.shares import Share, group_direct_messages, shares
from bot.store.records import not_classified
from router.models import EscalationReason, Source

BUSIEST_CHANNELS = 5
NO_CHANNEL = "(none)"
# What a customer adds under a DM already escalated goes on to the person in charge (``bot.conversation``):
# not another escalation, counted apart.
PASSED_ON = EscalationReason.WITH_A_PERSON.value
ERROR_REASONS = {
    EscalationReason.CLASSIFIER_ERROR.value,
    EscalationReason.HANDLER_ERROR.value,
    GAVE_UP_REASON,
}

Averages = dict[str, tuple[int, float]]


def fold_groups(groups: Sequence[Row[Any]]) -> tuple[dict[str, Any], Averages]:
    """Add up the grouped rows into the report's counts, shares and sums, and each time's (count, sum).

    Every customer's message counts in messages, escalations, channels and the reply time; only
    classifications in categories, sources, confidence and the router's times (see
    ``bot.store.records.not_classified``). A message passed on to the person in charge (``PASSED_ON``) is
    escalated but is no new escalation: counted apart, out of the escalations and their reasons. A
    thank-you after an answer (``acknowledgements``) is counted apart too, out of the categories and the
    handling time: no handler wrote its reply, and "thanks" is no customer's need. A message its author
    deleted before the bot replied (``withdrawn``) is a message, paid for, but nothing was posted: out of
    the categories, the escalations (and every rate's denominator) and the answers, and it has no reply
    time. Answers the customer stopped (``stopped``) are counted per category; those cut short by a stop
    (``cut_short``, a deletion mid-stream's among them) are left out of the handling and total times.
    """
    customers = [g for g in groups if g.source != AGENT]
    classified = [g for g in customers if not not_classified(g.source, g.escalation_reason)]
    messages = sum(int(g.decisions) for g in customers)
    figures = {
        "messages": messages,
        "follow_ups": int(_total(customers, "follow_ups")),
        "withdrawn": int(_total(customers, "withdrawn")),
        "unmeasured": int(_total(customers, "unmeasured")),
        "cut_short": int(_total(classified, "cut_short")),
        **_count_unclassified(customers),
        **_count_classified(classified),
        **_count_escalations(customers),
        "channels": _count_channels(customers, messages),
        **_count_usage(groups),
    }
    return figures, _add_up_times(customers, classified, figures["acknowledgements"])


def _count_unclassified(customers: Sequence[Row[Any]]) -> dict[str, int]:
    """The customers' messages that were never classified: a file with no text, or a give-up."""
    unclassified: Counter[str] = Counter()
    unclassified_unmeasured: Counter[str] = Counter()  # of those, with no tokens on record
    for g in customers:
        kind = not_classified(g.source, g.escalation_reason) or ""
        unclassified[kind] += int(g.decisions)
        unclassified_unmeasured[kind] += int(g.unmeasured or 0)
    return {
        "no_text": unclassified["no_text"],
        "gave_up": unclassified["gave_up"],
        "gave_up_unmeasured": unclassified_unmeasured["gave_up"],
    }


def _count_classified(classified: Sequence[Row[Any]]) -> dict[str, Any]:
    """The classifications per category (the thank-yous and the withdrawn apart) and per source, their
    confidence, and the answers stopped per category."""
    count = sum(int(g.decisions) for g in classified)
    categories: Counter[str] = Counter()
    escalated: Counter[str] = Counter()
    passed_on: Counter[str] = Counter()
    stopped: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    thanked = 0
    for g in classified:
        n = int(g.decisions)
        sources[g.source] += n
        posted = n - int(g.withdrawn or 0)
        # An escalated thank-you (an agent wrote first) stays among the escalations of its category.
        acknowledgements = 0 if g.escalated else int(g.acknowledgements or 0)
        categories[g.category] += posted - acknowledgements
        thanked += acknowledgements
        if g.escalated and g.escalation_reason == PASSED_ON:
            passed_on[g.category] += posted
        elif g.escalated:
            escalated[g.category] += posted
        else:
            stopped[g.category] += int(g.stopped or 0)
    return {
        "categories": shares(dict(categories)),  # of the messages less the thank-yous and the withdrawn
        "category_escalations": dict(escalated),
        "category_passed_on": dict(passed_on),
        "category_stopped": {name: n for name, n in stopped.items() if n},
        "acknowledgements": thanked,
        "confidence_average": _total(classified, "confidence_sum") / count if count else None,
        "confidence_buckets": [int(_total(classified, name)) for name in CONF],
        "sources": shares(dict(sources), count),
        "fallbacks": sources[Source.FALLBACK.value],
    }


def _count_escalations(customers: Sequence[Row[Any]]) -> dict[str, Any]:
    """The escalations per reason, the messages passed on to the person in charge, and the errors."""
    reasons: Counter[str] = Counter()
    passed_on = errors = 0
    for g in customers:
        n = int(g.decisions)
        posted = n - int(g.withdrawn or 0)  # a withdrawn escalation reached no agent
        reason = None
        if g.escalated and g.escalation_reason == PASSED_ON:
            passed_on += posted
        elif g.escalated:
            gave_up = not_classified(g.source, g.escalation_reason) == "gave_up"
            reason = GAVE_UP_REASON if gave_up else g.escalation_reason or NO_REASON
            reasons[reason] += posted
        # Every fallback is an error (notes.FALLBACKS says so): Claude failed, whatever became of the
        # message (passed on to the person in charge, a thank-you closed with the acknowledgement).
        errors += n if reason in ERROR_REASONS or g.source == Source.FALLBACK.value else 0
    escalations = sum(reasons.values())
    return {
        "escalations": escalations,
        "passed_on": passed_on,
        "escalation_reasons": shares(dict(reasons), escalations),
        "errors": errors,
    }


def _count_channels(customers: Sequence[Row[Any]], messages: int) -> list[Share]:
    """The busiest channels' shares of the customers' messages, the direct messages as one."""
    channels: Counter[str] = Counter()
    for g in customers:
        channels[g.channel_id or NO_CHANNEL] += int(g.decisions)
    return shares(group_direct_messages(dict(channels)), messages, BUSIEST_CHANNELS)


def _count_usage(groups: Sequence[Row[Any]]) -> dict[str, Any]:
    """What Claude was asked for, customers' messages and agents' re-routes alike: tokens and cost."""
    return {
        # Re-routes that could not be answered count in tokens and cost alone.
        "reroutes_answered": sum(int(g.decisions) for g in groups if g.source == AGENT and not g.escalated),
        "input_tokens": int(_total(groups, "input_tokens")),
        "output_tokens": int(_total(groups, "output_tokens")),
        "cache_read_tokens": int(_total(groups, "cache_read_tokens")),
        "cache_creation_tokens": int(_total(groups, "cache_creation_tokens")),
        "cost_usd": _total(groups, "cost_usd"),
    }


def _add_up_times(customers: Sequence[Row[Any]], classified: Sequence[Row[Any]], thanked: int) -> Averages:
    """Each time's (count, sum), for its average. An answer cut short by a stop (``cut_short``) has its
    routing time, but no handling or total time: those sums leave it out, and so do their counts."""
    answered = [g for g in classified if not g.escalated]
    cut, answers_cut = int(_total(classified, "cut_short")), int(_total(answered, "cut_short"))
    return {
        "routing": (_measured(classified), _total(classified, "routing_ms")),
        # A thank-you's handling time is a stand-in of 0 ms, in the sum: taken out of the count alone.
        "handling": (_measured(answered) - thanked - answers_cut, _total(answered, "handling_ms")),
        "total": (_measured(classified) - cut, _total(classified, "total_ms")),
        # Every customer's message, classified or not: a file alone or a give-up kept them waiting too.
        "reply": (int(_total(customers, "replies")), _total(customers, "reply_ms")),
    }


def _total(rows: Sequence[Row[Any]], name: str) -> float:
    return sum(float(getattr(g, name) or 0) for g in rows)


def _measured(rows: Sequence[Row[Any]]) -> int:
    """How many of the rows' decisions have the router's times (not stand-ins of 0)."""
    return sum(int(g.decisions) - int(g.unmeasured or 0) for g in rows)


def fold_undecided(rows: Sequence[Row[Any]]) -> dict[str, Any]:
    """The messages without a decision, per state; where the undelivered ones are (the busiest channels,
    and how many others)."""
    states: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    for row in rows:
        states[row.state] += int(row.n)
        if row.state == "failed":
            lost[row.channel_id or NO_CHANNEL] += int(row.n)
    places = group_direct_messages(dict(lost))
    return {
        "undelivered": states["failed"],
        "undelivered_channels": shares(places, limit=BUSIEST_CHANNELS),
        "undelivered_more_channels": max(0, len(places) - BUSIEST_CHANNELS),
        "left_to_agents": states["left"],
        "pending": states["pending"],
        "withdrawn_unrouted": states[WITHDRAWN_STATE],
    }


def fold_feedback(verdicts: Sequence[Row[Any]], routed_counts: dict[str, int]) -> dict[str, Any]:
    """Per routed category: reviewed, correct and re-routed decisions, against how many were routed
    (whose decisions are still in the log: a purge deletes verdicts with their decisions)."""
    counts: dict[str, Counter[str]] = {}
    for row in verdicts:
        counts.setdefault(row.routed_category, Counter())[row.verdict] += int(row.n)
    per_category = []
    for category in sorted(set(counts) | set(routed_counts)):
        c = counts.get(category, Counter())
        per_category.append(
            CategoryFeedback(
                category=category,
                routed=routed_counts.get(category, 0),
                reviewed=c["correct"] + c["rerouted"],
                correct=c["correct"],
                rerouted=c["rerouted"],
            )
        )
    overall = CategoryFeedback(
        category="All",
        routed=sum(f.routed for f in per_category),
        reviewed=sum(f.reviewed for f in per_category),
        correct=sum(f.correct for f in per_category),
        rerouted=sum(f.rerouted for f in per_category),
    )
    return {"feedback": per_category, "feedback_total": overall}
