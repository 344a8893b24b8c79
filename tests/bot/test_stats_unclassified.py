"""Messages the report counts but no classifier decided (files alone, give-ups) or that have no times
or tokens on record (replies found after a restart): kept apart from the classifications, times and
cost per message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.escalations import gave_up_decision
from bot.stats import StatsReport, build, build_report, parse_arguments
from bot.stats.blocks import report_blocks
from bot.stats.queries import feedback_statement, split_period
from bot.store import Store, repository
from bot.store.feedback import Verdict
from router.models import RoutingDecision, Usage
from tests.bot.report_text import code_rows, section_text, terminal_text
from tests.bot.stats_samples import NOW, ROUTES, TEAM, decision, file_alone, gave_up
from tests.store.plans import query_plan
from tests.store.samples import message


async def test_a_give_up_that_kept_its_tokens_leaves_a_recovered_reply_named_as_such(store: Store) -> None:
    """A give-up after a decision Slack would not take keeps its tokens; a reply found after a restart
    has none: the notes say which message lacks what."""
    spent = gave_up_decision(
        "q", "SlackApiError", ROUTES, spent=decision("Refund Request", 0.9, "claude", 400, 900)
    )
    recovered = decision("Technical Support", 0.8, "claude", 0, 0).model_copy(update={"measured": False})
    for ts, d in (
        ("1.1", spent),
        ("1.2", recovered),
        ("1.3", decision("Refund Request", 0.9, "claude", 400, 900)),
    ):
        await store.record(d, team_id=TEAM, channel_id="C0SUPPORT", user_id="U1", message_ts=ts, thread_ts=ts)
    report = await build_report(store, parse_arguments("24h"))
    assert (report.gave_up, report.unmeasured, report.recovered) == (1, 1, 1)
    _, blocks = report_blocks(report)
    assert "No router times on record for 1 message whose reply was found already posted" in str(blocks)
    assert "1 without tokens on record, 1 found answered after a restart, are left out" in str(blocks)


async def test_files_alone_and_give_ups_are_counted_apart_from_the_classifications(store: Store) -> None:
    """Nobody classified these: they must not fill the first category, lower the confidence and the
    times, nor count as fallbacks to the local model, nor weigh on that category's accuracy."""
    rows = [
        ("1.1", decision("Refund Request", 0.9, "claude", 400, 1000)),
        ("1.2", decision("Refund Request", 0.9, "claude", 400, 1000)),
        # Claude down: the local model stood in, and the policy escalated it (a real fallback).
        ("1.3", decision("Technical Support", 0.6, "fallback", 500, 0, escalated=True,
                         escalation_reason="classifier_error", error="Claude is down")),
        ("2.1", gave_up()),
        ("2.2", gave_up()),
        ("3.1", file_alone()),
        ("3.2", file_alone()),
    ]  # fmt: skip
    for ts, d in rows:
        await store.record(d, team_id=TEAM, channel_id="C0SUPPORT", user_id="U1", message_ts=ts, thread_ts=ts)
    for ts, verdict, category in (
        ("3.1", Verdict.REROUTED, "Refund Request"),
        ("1.1", Verdict.CORRECT, None),
    ):
        target = await store.find_decision(TEAM, "C0SUPPORT", ts)
        assert target is not None
        await store.add_feedback(target, "U0AGENT", verdict, category)

    report = await build_report(store, parse_arguments("7d"))
    assert (report.messages, report.escalations, report.no_text, report.gave_up) == (7, 5, 2, 2)
    assert [(s.name, s.count, s.share) for s in report.categories] == [
        ("Refund Request", 2, pytest.approx(2 / 3)),
        ("Technical Support", 1, pytest.approx(1 / 3)),
    ]
    assert {s.name: s.count for s in report.escalation_reasons} == {
        "classifier_error": 1,
        "gave_up": 2,  # not "answering failed": posting or recording failed as likely as Claude
        "no_text": 2,
    }
    assert report.confidence_average == pytest.approx(0.8)
    assert sum(report.confidence_buckets) == 3
    assert (report.routing.count, report.routing.p50_ms) == (3, pytest.approx(400))
    assert report.routing.average_ms == pytest.approx(1300 / 3)
    assert {s.name: s.count for s in report.sources} == {"claude": 2, "fallback": 1}
    assert (report.errors, report.fallbacks) == (3, 1)
    assert [f.category for f in report.feedback] == ["Refund Request", "Technical Support"]
    total = report.feedback_total
    assert (total.routed, total.reviewed, total.correct, total.rerouted) == (3, 1, 1, 0)

    _, blocks = report_blocks(report)
    reasons = [" ".join(row.split()) for row in code_rows(blocks, "*Escalations by reason*")]
    assert "given up after retries ████░░░░░░ 40% 2" in reasons
    classified_by = section_text(blocks, "*Classified by*")
    assert (
        "Not classified: 4 (2 files with no text, 2 given up after retries; escalated, and left out of "
        "categories, confidence and times but the reply time)"
    ) in classified_by
    assert "Errors: *3* · fallbacks to the local model (also counted as errors): *1*" in classified_by
    assert "*Confidence* · average 0.80" in str(blocks)
    terminal = terminal_text(report)
    assert "Not classified: 4 (2 files with no text, 2 given up after retries;" in terminal
    assert "fallbacks to the local model (also counted as errors)" in terminal


async def test_verdicts_are_counted_from_their_index_alone(store: Store) -> None:
    """Verdicts on files alone are marked as recorded: the report reads no decision to leave them out."""
    plan = await query_plan(store, feedback_statement(split_period(NOW - timedelta(days=7), NOW)))
    assert "ix_route_feedback_stats" in plan or store.engine.dialect.name != "sqlite", plan
    assert "routing_decisions" not in plan, plan


def _recovered(category: str, confidence: float) -> RoutingDecision:
    """What ``Conversations._recover_posted`` records for a reply found already posted after a restart:
    the decision its metadata carries, without the times and tokens of the attempt that wrote it."""
    return decision(
        category, confidence, "claude", 0, 0, measured=False, error="recovered after restart; timings lost"
    )


async def _seed_unmeasured_and_follow_ups(
    store: Store, monkeypatch: pytest.MonkeyPatch, when: datetime
) -> None:
    """Five customer messages in two threads and two messages of their own: two follow-ups in the first
    thread, a reply recovered after a restart and a give-up, neither with times nor tokens."""
    monkeypatch.setattr(repository, "utcnow", lambda: when)
    rows = [
        ("1.1", "1.1", decision("General Question", 0.95, "claude", 100, 1000,
                                usage=Usage(input_tokens=1000, output_tokens=200), cost_usd=0.004)),
        ("1.2", "1.1", decision("General Question", 0.85, "local", 2, 800,
                                usage=Usage(input_tokens=500, output_tokens=100), cost_usd=0.002)),
        ("2.1", "2.1", _recovered("Refund Request", 0.9)),
        ("3.1", "3.1", gave_up()),
        ("1.3", "1.1", decision("Refund Request", 0.55, "claude", 300, 0, escalated=True,
                                escalation_reason="low_confidence",
                                usage=Usage(input_tokens=300, output_tokens=50), cost_usd=0.001)),
    ]  # fmt: skip
    for ts, thread_ts, d in rows:
        msg = message(ts, team_id=TEAM, channel_id="C0SUPPORT", thread_ts=thread_ts)
        assert await store.claim(msg)
        await store.complete(msg, d, f"{ts}9")


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "histograms"])
async def test_messages_without_times_or_tokens_are_counted_but_left_out_of_times_and_cost_per_message(
    store: Store, monkeypatch: pytest.MonkeyPatch, exact: bool
) -> None:
    """A reply recovered after a restart and a give-up were recorded with times and tokens of 0: as 0 ms
    and $0 they pulled the averages, the percentiles and the cost per message down. They are messages
    all the same; follow-ups in a thread the bot had answered are told apart from new conversations."""
    if not exact:
        monkeypatch.setattr(build, "EXACT_LIMIT", 0)  # as with many messages: percentiles from histograms
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    await _seed_unmeasured_and_follow_ups(store, monkeypatch, when)
    report = await build_report(store, parse_arguments("7d"))
    assert (report.messages, report.follow_ups, report.conversations) == (5, 2, 3)
    assert (report.unmeasured, report.recovered, report.gave_up, report.percentiles_exact) == (2, 1, 1, exact)
    assert {s.name: s.count for s in report.categories} == {"General Question": 2, "Refund Request": 2}
    rel = 1e-6 if exact else 0.05  # two significant digits, each value in the middle of its bucket
    # routing of the measured classifications [2, 100, 300], not [0, 2, 100, 300]
    assert (report.routing.count, report.routing.average_ms) == (3, pytest.approx(134))
    assert (report.routing.p50_ms, report.routing.p95_ms) == pytest.approx((100, 280), rel=rel)
    # handling of the measured answers [800, 1000] (the recovered answer has none); total [300, 802, 1100]
    assert (report.handling.count, report.handling.average_ms) == (2, pytest.approx(900))
    assert (report.handling.p50_ms, report.handling.p95_ms) == pytest.approx((900, 990), rel=rel)
    assert (report.total.count, report.total.average_ms) == (3, pytest.approx(734))
    assert (report.total.p50_ms, report.total.p95_ms) == pytest.approx((802, 1070.2), rel=rel)
    assert report.reply.count == 5  # every customer waited for their reply
    # $0.007 and 2,150 tokens over the 3 messages whose tokens are known, not over 5
    assert (report.cost_usd, report.tokens) == (pytest.approx(0.007), 2150)
    assert report.cost_per_message == pytest.approx(0.007 / 3)
    assert report.tokens_per_message == pytest.approx(2150 / 3)

    text, blocks = report_blocks(report)
    assert text.endswith("5 messages routed")
    slack = str(blocks)
    assert "*5* messages routed (*3* new conversations, *2* follow-ups) · *2* escalated (40%)" in slack
    assert (
        "No router times on record for 1 message whose reply was found already posted after a restart: "
        "left out of routing, handling and total (not of reply)."
    ) in section_text(blocks, "*Time*")
    assert (
        "Per message: 717 tokens · $0.0023 (over 3 messages: 2 without tokens on record, 1 found answered "
        "after a restart, 1 given up after retries, are left out, and the total lacks their cost)"
    ) in section_text(blocks, "*Tokens and cost*")
    terminal = terminal_text(report)
    assert "5 messages routed (3 new conversations, 2 follow-ups)" in terminal
    assert "No router times on record for 1 message" in terminal
    assert "2 (1 found answered after a restart, 1 given up after retries)" in terminal

    channel = await build_report(store, parse_arguments("7d C0SUPPORT"))
    assert (channel.follow_ups, channel.unmeasured, channel.routing.count) == (2, 2, 3)


def test_a_period_of_give_ups_alone_says_their_cost_is_unknown() -> None:
    report = StatsReport(
        period="24h",
        start=None,
        end=NOW,
        messages=1,
        escalations=1,
        gave_up=1,
        gave_up_unmeasured=1,
        unmeasured=1,
    )
    assert report.cost_per_message is None and report.tokens_per_message is None
    _, blocks = report_blocks(report)
    assert "1 message without tokens on record (1 given up after retries): the total lacks their cost" in (
        section_text(blocks, "*Tokens and cost*")
    )
    assert "messages without tokens on record (left out)" in terminal_text(report)
