"""The report's numbers against figures worked out by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime, time, timedelta

import pytest
from rich.console import Console

from bot.escalations import gave_up_decision
from bot.stats import StatsReport, build, build_report, parse_arguments
from bot.stats.blocks import MAX_BLOCKS, report_blocks
from bot.stats.compare import comparison, previous_label
from bot.stats.formats import LABEL_WIDTH, bar, cut_label
from bot.stats.notes import escalated_notes
from bot.stats.percentiles import histogram_statements, histograms
from bot.stats.period import StatsRequest
from bot.stats.queries import feedback_statement, split_period, undecided_statement
from bot.stats.report import CategoryFeedback, Timing
from bot.stats.sections import SECTION_LIMIT
from bot.stats.shares import Share, shares
from bot.stats.terminal import print_report, report_renderables
from bot.store import Store, repository
from bot.store.feedback import Verdict
from bot.store.tables import routing_decisions
from router.models import RoutingDecision, Usage
from router.routes_file import load_routes
from tests.store.plans import query_plan
from tests.store.samples import message

TEAM = "T0TEAM"
ROUTES = load_routes()  # the default routes: General Question first
NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)


def decision(
    category: str, confidence: float, source: str, routing: float, handling: float, **extra
) -> RoutingDecision:
    fields = {
        "query": "q",
        "category": category,
        "confidence": confidence,
        "reasoning": "r",
        "escalated": False,
        "source": source,
        "routing_ms": routing,
        "handling_ms": handling,
        "total_ms": routing + handling,
        "routes_version": "v1",
    }
    return RoutingDecision.model_validate(fields | extra)


async def seed(store: Store) -> None:
    """Four customer messages, one agent re-route, two verdicts and one hand-off."""
    rows = [
        ("C0GENERAL", "1.1", decision("General Question", 0.95, "claude", 100, 1000,
                               usage=Usage(input_tokens=1000, output_tokens=200), cost_usd=0.002)),
        ("C0GENERAL", "1.2", decision("General Question", 0.85, "local", 2, 800,
                               usage=Usage(input_tokens=500, output_tokens=100), cost_usd=0.001)),
        ("C0BILLING", "1.3", decision("Refund Request", 0.55, "claude", 300, 0, escalated=True,
                               escalation_reason="low_confidence",
                               usage=Usage(input_tokens=800, output_tokens=50), cost_usd=0.0015)),
        ("C0BILLING", "1.4", decision("Technical Support", 0.75, "fallback", 50, 0, escalated=True,
                               escalation_reason="classifier_error", error="Claude is down")),
        # The agent's re-route of 1.3, answered by the Technical Support handler.
        ("C0BILLING", "1.3", decision("Technical Support", 1.0, "agent", 0, 600,
                               usage=Usage(input_tokens=700, output_tokens=150), cost_usd=0.003)),
    ]  # fmt: skip
    for channel, ts, d in rows:
        await store.record(d, team_id=TEAM, channel_id=channel, user_id="U1", message_ts=ts, thread_ts=ts)
    first = await store.find_decision(TEAM, "C0GENERAL", "1.1")
    rerouted = await store.find_decision(TEAM, "C0BILLING", "1.3")
    assert first is not None and rerouted is not None
    assert rerouted.category == "Refund Request"  # the classifier's decision, not the agent's
    await store.add_feedback(first, "U0AGENT", Verdict.CORRECT)
    await store.add_feedback(rerouted, "U0AGENT", Verdict.REROUTED, "Technical Support")
    await store.take_over(TEAM, "C0BILLING", "1.3", "U0AGENT")


async def seed_the_week_before(store: Store) -> datetime:
    """Nine days ago, in the 7 days a 7d report is read against: five messages, one escalated, $0.002
    each, the customers waiting 1, 2, 3, 4 and 5 s; three verdicts, two correct."""
    at = datetime.now(UTC) - timedelta(days=9)
    for i in range(5):
        flags = {"escalated": True, "escalation_reason": "low_confidence"} if i == 4 else {}
        d = decision("General Question", 0.8, "claude", 100, 0 if flags else 900, cost_usd=0.002, **flags)
        await _insert_old(store, at + timedelta(minutes=i), d, "C0GENERAL", reply_ms=1000 * (i + 1))
    for i, verdict in enumerate([Verdict.CORRECT, Verdict.CORRECT, Verdict.REROUTED]):
        ts = f"{(at + timedelta(minutes=i)).timestamp():.6f}"
        target = await store.find_decision(TEAM, "C0GENERAL", ts)
        assert target is not None
        rerouted_to = "Refund Request" if verdict is Verdict.REROUTED else None
        await store.add_feedback(target, "U0AGENT", verdict, rerouted_to)
    return at


async def test_report_matches_the_figures_worked_out_by_hand(store: Store) -> None:
    await seed(store)
    await seed_the_week_before(store)
    report = await build_report(store, parse_arguments("7d"))
    before = report.previous
    assert before is not None and report.start is not None
    assert (before.start, before.end) == (
        datetime.combine(report.start.date(), time.min, UTC) - timedelta(days=7),
        datetime.combine(report.start.date(), time.min, UTC),
    )
    assert (before.messages, before.escalation_rate, before.accuracy) == (5, 0.2, pytest.approx(2 / 3))
    assert (before.cost_per_message, before.reply_p50_ms) == (pytest.approx(0.002), pytest.approx(3000))
    # 4 messages against 5; escalated 50% against 20%; accuracy 50% against 66.7%; $0.001875 against
    # $0.002 a message; no reply time on record this week: no wait to compare.
    assert comparison(report, lambda text: text) == (
        f"Against the 7 days before ({previous_label(report)} UTC): 4 messages (−20%) · escalated 50% "
        "(+30 pts) · accuracy 50% of 2 reviewed (−16.7 pts) · cost per message $0.0019 (−6%)"
    )

    assert report.messages == 4
    assert [(s.name, s.count, s.share) for s in report.categories] == [
        ("General Question", 2, 0.5),
        ("Refund Request", 1, 0.25),
        ("Technical Support", 1, 0.25),
    ]
    assert (report.escalations, report.escalation_rate) == (2, 0.5)
    assert report.category_escalations == {"Refund Request": 1, "Technical Support": 1}
    assert escalated_notes(report) == ["0 escalated (0%)", "1 escalated (100%)", "1 escalated (100%)"]
    assert {s.name: s.count for s in report.escalation_reasons} == {
        "low_confidence": 1,
        "classifier_error": 1,
    }
    assert report.handoffs == 1
    assert report.confidence_average == pytest.approx(3.1 / 4)
    assert report.confidence_buckets == [0, 0, 0, 0, 0, 1, 0, 1, 1, 1]
    # routing [2, 50, 100, 300]; handling of the answered [800, 1000]; total [50, 300, 802, 1100]
    assert report.percentiles_exact
    assert (report.routing.average_ms, report.routing.p50_ms, report.routing.p95_ms) == pytest.approx(
        (113, 75, 270)
    )
    assert (report.handling.count, report.handling.average_ms) == (2, pytest.approx(900))
    assert (report.handling.p50_ms, report.handling.p95_ms) == pytest.approx((900, 990))
    assert (report.total.average_ms, report.total.p50_ms, report.total.p95_ms) == pytest.approx(
        (563, 551, 1055.3)
    )
    assert {s.name: s.count for s in report.sources} == {"claude": 2, "local": 1, "fallback": 1}
    assert (report.errors, report.fallbacks, report.reroutes_answered) == (1, 1, 1)
    # Tokens and cost include the re-route's answer; "per message" divides by the 4 messages.
    assert (report.input_tokens, report.output_tokens, report.tokens) == (3000, 500, 3500)
    assert report.cost_usd == pytest.approx(0.0075)
    assert report.cost_per_message == pytest.approx(0.001875)
    assert report.tokens_per_message == pytest.approx(875)
    feedback = {f.category: (f.routed, f.reviewed, f.accuracy, f.reroute_rate) for f in report.feedback}
    assert feedback == {
        "General Question": (2, 1, 1.0, 0.0),
        "Refund Request": (1, 1, 0.0, 1.0),
        "Technical Support": (1, 0, None, 0.0),
    }
    total = report.feedback_total
    assert (total.routed, total.reviewed, total.accuracy, total.reroute_rate) == (4, 2, 0.5, 0.25)
    assert [(s.name, s.count) for s in report.channels] == [("C0BILLING", 2), ("C0GENERAL", 2)]


async def test_a_channel_report_counts_that_channel_only(store: Store) -> None:
    await seed(store)
    report = await build_report(store, parse_arguments("all <#C0BILLING|billing>"))
    assert (report.channel, report.messages, report.escalations, report.handoffs) == ("#billing", 2, 2, 1)
    assert report.routing.average_ms == pytest.approx(175)
    assert report.handling.count == 0 and report.handling.p50_ms is None
    assert (report.feedback_total.reviewed, report.feedback_total.rerouted) == (1, 1)


async def test_a_period_before_the_decisions_is_empty(store: Store) -> None:
    await seed(store)
    report = await build_report(store, parse_arguments("2020-01-01..2020-01-31"))
    assert (report.messages, report.handoffs, report.cost_usd, report.feedback_total.reviewed) == (
        0,
        0,
        0.0,
        0,
    )
    text, _ = report_blocks(report)
    assert "no messages routed" in text


async def _insert_old(
    store: Store, when: datetime, d: RoutingDecision, channel: str, reply_ms: float | None = None
) -> None:
    values = d.model_dump(mode="json", exclude={"usage"}) | d.usage.model_dump()
    values |= {
        "team_id": TEAM,
        "channel_id": channel,
        "message_ts": f"{when.timestamp():.6f}",
        "created_at": when,
        "reply_ms": reply_ms,
    }
    async with store.engine.begin() as conn:
        await conn.execute(routing_decisions.insert().values(values))


async def test_whole_days_are_read_from_the_rollups(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Decisions of earlier days come from daily_rollups (kept by the trigger) with the same totals."""
    monkeypatch.setattr(build, "EXACT_LIMIT", 0)  # as with many messages: percentiles from histograms
    now = datetime.now(UTC)
    for i in range(20):
        when = now - timedelta(days=3, minutes=i)
        d = decision(
            "Refund Request" if i % 4 else "General Question", 0.5 + i / 40, "claude", 100 + 10 * i, 1000
        )
        await _insert_old(store, when, d, "C0GENERAL" if i % 2 else "C0BILLING")
    await seed(store)  # today's, read from the decisions themselves
    report = await build_report(store, parse_arguments("7d"))
    assert report.messages == 24
    assert {s.name: s.count for s in report.categories} == {
        "General Question": 7,
        "Refund Request": 16,
        "Technical Support": 1,
    }
    assert report.routing.average_ms == pytest.approx((sum(100 + 10 * i for i in range(20)) + 452) / 24)
    assert report.confidence_average == pytest.approx((sum(0.5 + i / 40 for i in range(20)) + 3.1) / 24)
    # From the histograms on both databases, within their two significant digits.
    values = sorted([100 + 10 * i for i in range(20)] + [2, 50, 100, 300])
    assert report.routing.p50_ms == pytest.approx((values[11] + values[12]) / 2, rel=0.05)
    assert not report.percentiles_exact
    channel = await build_report(store, parse_arguments("7d C0GENERAL"))
    assert channel.messages == 10 + 2


async def test_the_slack_report_fits_slack_and_the_terminal_report_renders(store: Store) -> None:
    await seed(store)
    report = await build_report(store, parse_arguments("7d"))
    text, blocks = report_blocks(report)
    assert text.endswith("4 messages routed")
    assert len(blocks) <= MAX_BLOCKS
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(s) <= SECTION_LIMIT for s in sections)
    joined = "\n".join(sections)
    assert "General Question   █████░░░░░  50%  2" in joined
    assert "<#C0GENERAL>" in joined and "accuracy 50% of 2 reviewed" in joined
    # "total" is the router's time, which a manager must not take for the customer's whole wait: "reply" is.
    assert (
        "*Time* (routing: classifying; handling: writing the answer; total: both, without posting to Slack "
        "or retries; reply: the customer's wait, from their message to the bot's reply or escalation, all "
        "included)"
    ) in joined
    assert len(report_renderables(report)) >= 8


async def test_messages_without_a_decision_are_counted_and_the_lost_ones_named(store: Store) -> None:
    """A manager sees what the bot never answered: the lost ones first, with their channels."""
    await seed(store)
    states = [
        ("C0BILLING", "2.1", "failed"),
        ("C0BILLING", "2.2", "failed"),
        ("C0GENERAL", "2.3", "failed"),
        ("C0GENERAL", "2.4", "left"),
        ("C0GENERAL", "2.5", "pending"),
        ("C0GENERAL", "2.6", "done"),  # finished without a decision recorded: not a customer's loss here
        ("demo", "2.7", "failed"),  # the demo's and chat's own are left out, as their decisions are
    ]
    for channel, ts, state in states:
        msg = message(ts, team_id=TEAM, channel_id=channel)
        assert await store.claim(msg)
        if state == "failed":
            await store.abandon(msg, "SlackApiError: channel_not_found")
        elif state == "left":
            await store.leave_to_agents(msg)
        elif state == "done":
            await store.complete(msg, decision("General Question", 0.9, "claude", 1, 1), None)

    report = await build_report(store, parse_arguments("7d"))
    assert (report.undelivered, report.left_to_agents, report.pending, report.undecided) == (3, 1, 1, 5)
    assert [(s.name, s.count) for s in report.undelivered_channels] == [("C0BILLING", 2), ("C0GENERAL", 1)]
    assert report.messages == 5  # the four seeded and the one completed
    _, blocks = report_blocks(report)
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    section = next(text for text in sections if text.startswith("*Not answered by the bot*"))
    assert "• 3 messages could not be posted, not even as an escalation (in <#C0BILLING>, <#C0GENERAL>)" in (
        section
    )
    assert "• 1 message left to the agents" in section and "• 1 message being answered" in section

    billing = await build_report(store, parse_arguments("7d C0BILLING"))
    assert (billing.undelivered, billing.left_to_agents, billing.pending) == (2, 0, 0)
    assert (await build_report(store, parse_arguments("7d demo"))).undelivered == 1
    before = await build_report(store, parse_arguments("2020-01-01..2020-01-31"))
    assert before.undecided == 0
    _, quiet = report_blocks(before)
    assert not any("Not answered" in b["text"]["text"] for b in quiet if b["type"] == "section")
    printed = io.StringIO()
    console = Console(file=printed, width=120)
    print_report(report, console)
    assert "Not answered by the bot" in printed.getvalue()


async def test_the_lost_ones_beyond_the_channels_named_are_counted(store: Store) -> None:
    """Undelivered messages in eight channels: five are named, and the others are not left unsaid."""
    await seed(store)
    for i in range(8):
        msg = message(f"3.{i}", team_id=TEAM, channel_id=f"C0LOST{i:03d}")
        assert await store.claim(msg)
        await store.abandon(msg, "SlackApiError: channel_not_found")
    report = await build_report(store, parse_arguments("7d"))
    assert (report.undelivered, report.undelivered_more_channels) == (8, 3)
    _, blocks = report_blocks(report)
    linked = ", ".join(f"<#C0LOST{i:03d}>" for i in range(5))
    assert (
        f"• 8 messages could not be posted, not even as an escalation (in {linked} and 3 more channels)"
    ) in _section(blocks, "*Not answered by the bot*")
    named = ", ".join(f"C0LOST{i:03d}" for i in range(5))
    assert f"(in {named} and 3 more channels)" in _terminal_text(report)


async def test_messages_without_a_decision_are_found_by_state_not_through_every_claim(store: Store) -> None:
    """Nearly every claim is done: the report reads the few others through an index on the state."""
    plan = await query_plan(store, undecided_statement(split_period(NOW - timedelta(days=7), NOW)))
    assert "ix_inbound_messages_state_" in plan, plan


def test_a_category_name_that_looks_like_markup_is_printed_as_it_is() -> None:
    name = "Returns [/eu] [bold]x[/bold]"
    report = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=1,
        categories=[Share(name=name, count=1, share=1.0)],
        feedback=[CategoryFeedback(category=name, routed=1, reviewed=0, correct=0, rerouted=0)],
    )
    printed = io.StringIO()
    console = Console(file=printed, width=160)
    print_report(report, console)  # rich read "[/eu]" as a closing tag and raised MarkupError
    assert printed.getvalue().count(name) == 2


def test_bars() -> None:
    assert bar(0.52) == "█████░░░░░ 52%"
    assert bar(0.0) == "░░░░░░░░░░ 0%"
    assert bar(1.0) == "██████████ 100%"


def _terminal_text(report: StatsReport) -> str:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    print_report(report, console)
    out = console.file
    assert isinstance(out, io.StringIO)
    return out.getvalue()


def _code_block(blocks: list[dict], heading: str) -> list[str]:
    [text] = [
        b["text"]["text"] for b in blocks if b["type"] == "section" and b["text"]["text"].startswith(heading)
    ]
    return text.split("```")[1].splitlines()


async def test_escalation_reasons_are_shown_in_words(store: Store) -> None:
    await seed(store)
    report = await build_report(store, parse_arguments("7d"))
    _, blocks = report_blocks(report)
    assert _code_block(blocks, "*Escalations by reason*") == [
        "classification failed  █████░░░░░  50%  1",
        "low confidence         █████░░░░░  50%  1",
    ]
    terminal = _terminal_text(report)
    assert "classification failed" in terminal and "low confidence" in terminal
    assert "low_confidence" not in str(blocks) + terminal and "classifier_error" not in terminal


def test_messages_with_nothing_to_classify_are_named_in_words() -> None:
    report = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=3,
        categories=shares({"General Question": 3}),
        sources=shares({"claude": 2, "none": 1}),
    )
    _, blocks = report_blocks(report)
    text = str(blocks) + _terminal_text(report)
    assert "nothing to classify (a file alone)" in text and "none " not in text


def test_percentages_and_counts_line_up() -> None:
    counts = {"General Question": 1234, "Refund Request": 95, "Technical Support": 1}
    report = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=1330,
        categories=shares(counts),
        category_escalations={"General Question": 12, "Refund Request": 95},
    )
    _, blocks = report_blocks(report)
    assert _code_block(blocks, "*By category*") == [
        "General Question   █████████░  93%  1,234  · 12 escalated (1%)",
        "Refund Request     █░░░░░░░░░   7%     95  · 95 escalated (100%)",
        "Technical Support  ░░░░░░░░░░   0%      1  · 0 escalated (0%)",
    ]


def test_a_rate_reads_the_same_in_slack_and_in_the_terminal() -> None:
    """2 of 7 escalated, 2 of 3 verdicts correct, 1 of 7 re-routed: Slack said 29%, 67% and 14% where the
    terminal said 28.6%, 66.7% and 14.3%."""
    feedback = {"category": "Refund Request", "routed": 7, "reviewed": 3, "correct": 2, "rerouted": 1}
    report = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=7,
        escalations=2,
        categories=shares({"Refund Request": 7}),
        category_escalations={"Refund Request": 2},
        feedback=[CategoryFeedback.model_validate(feedback)],
        feedback_total=CategoryFeedback.model_validate(feedback | {"category": "All"}),
    )
    slack, terminal = str(report_blocks(report)[1]), _terminal_text(report)
    for rate in ("2 escalated (28.6%)", "66.7%", "14.3%"):
        assert rate in slack and rate in terminal
    assert "29%" not in slack and "28.6%" in escalated_notes(report)[0]


def test_one_message_and_one_thread_are_singular() -> None:
    report = StatsReport(
        period="24h", start=None, end=NOW, messages=1, handoffs=1, categories=shares({"General Question": 1})
    )
    text, blocks = report_blocks(report)
    assert text == "Routing stats: last 24 hours: 1 message routed"
    assert "*1* message routed" in str(blocks) and "*1* thread taken over by agents" in str(blocks)
    assert "1 message routed" in _terminal_text(report) and "1 thread taken over" in _terminal_text(report)
    empty = StatsReport(period="24h", start=None, end=NOW)
    assert "*0* messages routed" in str(report_blocks(empty)[1])


def test_a_channel_slack_gave_no_name_for_is_named_by_slack_in_the_report() -> None:
    """A private channel picked from Slack's list may come as <#C…|> (no name), or a bare id be given:
    the header, plain text, can only show the id; its line under it lets Slack show the channel's name."""
    nameless = parse_arguments("7d <#C0PRIVATE1|>", NOW)
    report = StatsReport(period="7d", start=nameless.start, end=NOW, channel=nameless.channel_label)
    _, blocks = report_blocks(report)
    span = blocks[1]["elements"][0]["text"]
    assert span == "From 2026-03-03 12:30 to 2026-03-10 12:30 UTC, in <#C0PRIVATE1>"
    named = report.model_copy(update={"channel": parse_arguments("7d <#C0SUPPORT|support>").channel_label})
    assert report_blocks(named)[1][1]["elements"][0]["text"].endswith(" UTC")  # "#support" is in the header


async def test_a_period_in_the_future_says_it_has_not_happened_yet(store: Store) -> None:
    await seed(store)
    report = await build_report(store, parse_arguments("2099-01-01..2099-01-31"))
    assert report.upcoming and report.messages == 0
    text, blocks = report_blocks(report)
    assert text == "Routing stats: 2099-01-01..2099-01-31: this period has not happened yet"
    assert "_This period has not happened yet: it starts on 2099-01-01 00:00 UTC._" in str(blocks)
    assert "This period has not happened yet: it starts on 2099-01-01 00:00 UTC." in _terminal_text(report)
    assert not (await build_report(store, parse_arguments("7d"))).upcoming


async def test_early_years_keep_four_digits(store: Store) -> None:
    report = await build_report(store, parse_arguments("0001-01-01..0001-01-02"))
    _, blocks = report_blocks(report)
    assert blocks[1]["elements"][0]["text"] == "From 0001-01-01 00:00 to 0001-01-03 00:00 UTC"
    assert "0001-01-01 00:00 → 0001-01-03 00:00 UTC" in _terminal_text(report)


async def test_demo_and_chat_decisions_are_left_out_unless_asked_for(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "EXACT_LIMIT", 0)  # percentiles from the histograms, less demo's
    await seed(store)
    request = parse_arguments("7d")
    [(low, high)] = split_period(request.start, request.end, up_to_now=True).raw
    assert low is not None  # "7d" has a start
    slow = decision(
        "Refund Request", 0.3, "local", 90_000, 0, escalated=True, escalation_reason="low_confidence"
    )
    # One in the first partial day (read from the decisions), one three days ago (from the rollups).
    for when in (low + (high - low) / 2, request.end - timedelta(days=3)):
        await _insert_old(store, when, slow, "demo")
        await _insert_old(store, when + timedelta(seconds=1), slow, "console")
    report = await build_report(store, request)
    assert (report.messages, report.escalations) == (4, 2)
    assert [s.name for s in report.channels] == ["C0BILLING", "C0GENERAL"]
    # routing [2, 50, 100, 300] without the 90,000 ms of demo and chat: p95 within its bucket
    assert report.routing.p95_ms == pytest.approx(270, rel=0.05)
    assert "left out: --channel demo or --channel console shows them" in _terminal_text(report)

    demo = await build_report(store, request.model_copy(update={"channel_id": "demo"}))
    assert (demo.channel, demo.messages) == ("support-router demo", 2)
    assert demo.routing.p50_ms == pytest.approx(90_000, rel=0.05)
    text, _ = report_blocks(demo)
    assert text == "Routing stats: last 7 days in support-router demo: 2 messages routed"
    assert "left out" not in _terminal_text(demo)
    chat = await build_report(store, parse_arguments("all CONSOLE"))
    assert (chat.channel, chat.messages) == ("support-router chat", 2)


async def test_the_decisions_fall_in_the_same_latency_buckets_as_the_daily_histograms(store: Store) -> None:
    # Percentiles read a period's whole days from the trigger's histograms and its partial days from the
    # decisions: both must bucket alike (PostgreSQL's CAST rounds where the trigger's floor truncates).
    yesterday = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), datetime.min.time(), UTC)
    times = [0.567, 12.7, 99.99, 1234.5, 56_789.0, 123_456.0]
    for i, ms in enumerate(times):
        await _insert_old(
            store,
            yesterday + timedelta(hours=12, minutes=i),
            decision("x", 0.9, "claude", ms, ms),
            "C0BUCKETS",
        )
    postgres = store.engine.dialect.name == "postgresql"
    raw = split_period(yesterday + timedelta(hours=6), yesterday + timedelta(hours=18), "C0BUCKETS")
    whole = split_period(yesterday, yesterday + timedelta(days=1), "C0BUCKETS")
    assert raw.days is None and whole.raw == ()
    async with store.reading() as conn:
        found = [
            histograms(
                [
                    row
                    for stmt in histogram_statements(span, postgres=postgres)
                    for row in (await conn.execute(stmt)).all()
                ]
            )
            for span in (raw, whole)
        ]
    assert found[0] == found[1]
    assert [bucket for bucket, _ in found[1]["routing"].buckets] == pytest.approx(
        [0.56, 12.0, 99.0, 1200.0, 56_000.0, 120_000.0]
    )


def _fits_slack(blocks: list[dict]) -> list[str]:
    """The sections' texts, once checked against Slack's limits and for nothing cut in the middle."""
    assert len(blocks) <= MAX_BLOCKS
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    for text in sections:
        assert len(text) <= SECTION_LIMIT and text.count("```") % 2 == 0
        # every & begins a whole entity: none was cut in two
        assert text.count("&") == sum(text.count(e) for e in ("&amp;", "&lt;", "&gt;")), text
    return sections


def _rows_under(sections: list[str], heading: str) -> list[str]:
    """The lines of a heading's section and of the sections that continue it, headings and fences off."""
    start = next(i for i, text in enumerate(sections) if text.startswith(heading))
    rows = sections[start].removeprefix(heading).splitlines()
    for text in sections[start + 1 :]:
        if text.startswith("*"):
            break
        rows += text.splitlines()
    return [row.strip("`") for row in rows]


async def test_many_long_categories_spread_over_sections_and_the_overall_accuracy_comes_first(
    store: Store,
) -> None:
    names = [f"Product area {i:02d}: orders, billing & returns" for i in range(40)]
    for i, category in enumerate(names):
        for j in range(3):
            ts = f"{i}.{j}"
            await store.record(
                decision(category, 0.8, "claude", 100, 500),
                team_id=TEAM,
                channel_id="C0SUPPORT",
                user_id="U1",
                message_ts=ts,
                thread_ts=ts,
            )
        target = await store.find_decision(TEAM, "C0SUPPORT", f"{i}.0")
        assert target is not None
        verdict = Verdict.CORRECT if i % 2 else Verdict.REROUTED
        await store.add_feedback(target, "U0AGENT", verdict, None if i % 2 else "Refund Request")
    report = await build_report(store, parse_arguments("7d"))
    _, blocks = report_blocks(report)
    sections = _fits_slack(blocks)

    by_category = _rows_under(sections, "*By category*\n")
    assert [row.split("  ")[0] for row in by_category] == [
        f"Product area {i:02d}: ord…, billing &amp; returns" for i in range(40)
    ]
    feedback = _rows_under(sections, "*Agent feedback*\n")
    assert feedback[0] == "All: accuracy 50% of 40 reviewed · re-routed 16.7% (20 of 120)"
    assert len(feedback) == 41
    assert not any(line.strip("`") == "…" for text in sections for line in text.splitlines())  # none cut


def test_categories_beyond_what_slack_can_show_are_counted_not_dropped_silently() -> None:
    names = [f"Category number {i:04d} with a long name & more" for i in range(1000)]
    report = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=1000,
        categories=shares(dict.fromkeys(names, 1)),
        feedback=[CategoryFeedback(category=n, routed=1, reviewed=1, correct=1, rerouted=0) for n in names],
        feedback_total=CategoryFeedback(category="All", routed=1000, reviewed=1000, correct=1000, rerouted=0),
        undelivered=1,
        kept_messages=999,
        first_day_whole=True,
        percentiles_exact=False,
    )
    _, blocks = report_blocks(report)
    sections = _fits_slack(blocks)
    for heading in ("*By category*\n", "*Agent feedback*\n"):
        *shown, more = _rows_under(sections, heading)
        left = int(more.removeprefix("_…and ").split()[0].replace(",", ""))
        assert more == f"_…and {left:,} more categories (support-router stats shows all)_"
        # every category is either shown or counted (the feedback's first line is the overall one)
        assert len(shown) + left == 1000 + (heading == "*Agent feedback*\n")
    assert _rows_under(sections, "*Agent feedback*\n")[0].startswith("All: accuracy 100% of 1,000 reviewed")


def test_long_names_that_start_alike_are_cut_in_the_middle_and_stay_apart() -> None:
    """A team's long prefix: cut at its end, thirty categories read as one row thirty times."""
    prefix = "Billing & Payments / Enterprise customers "  # 42 characters
    names = [f"{prefix}- region {i:02d}" for i in range(30)]
    counts = {name: i + 1 for i, name in enumerate(names)}
    report = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=sum(counts.values()),
        categories=shares(counts),
        feedback=[
            CategoryFeedback(category=n, routed=c, reviewed=1, correct=1, rerouted=0)
            for n, c in counts.items()
        ],
        feedback_total=CategoryFeedback(category="All", routed=465, reviewed=30, correct=30, rerouted=0),
    )
    _, blocks = report_blocks(report)
    sections = _fits_slack(blocks)
    regions = [f"region {i:02d}" for i in reversed(range(30))]  # the busiest first
    by_category = _rows_under(sections, "*By category*\n")
    shown = [f"Billing &amp; Payments /…stomers - {r}" for r in regions]
    assert [row.split("  ")[0] for row in by_category] == shown
    feedback = _rows_under(sections, "*Agent feedback*\n")[1:]
    assert [row.split(":")[0] for row in feedback] == sorted(shown)
    terminal = _terminal_text(report)
    assert all(terminal.count(f"Billing & Payments /…stomers - {r} ") == 2 for r in regions)


def test_a_label_is_cut_in_the_middle_to_its_width() -> None:
    assert LABEL_WIDTH == 40
    assert cut_label("Billing & Payments / Enterprise customers - region 07") == (
        "Billing & Payments /…stomers - region 07"
    )
    assert (
        cut_label("Returns: damaged in transit - EU and UK customers")
        == "Returns: damaged in…EU and UK customers"
    )
    assert cut_label("General Question") == "General Question"
    assert cut_label("x" * LABEL_WIDTH) == "x" * LABEL_WIDTH
    assert cut_label("abcdefghij", 5) == "ab…ij" and cut_label("abcdefghij", 1) == "…"


async def test_a_period_with_only_a_re_route_shows_its_cost_but_no_per_message_figure(store: Store) -> None:
    # The customer's message was answered last week; an agent re-routed it today, and that answer is paid.
    await store.record(
        decision("Refund Request", 1.0, "agent", 0, 600, cost_usd=0.01),
        team_id=TEAM,
        channel_id="C0SUPPORT",
        user_id="U1",
        message_ts="1.1",
        thread_ts="1.1",
    )
    report = await build_report(store, parse_arguments("24h"))
    assert (report.messages, report.reroutes_answered) == (0, 1)
    _, blocks = report_blocks(report)
    slack = str(blocks)
    assert "Includes 1 answer given again after an agent's re-route." in slack
    assert "$0.0100* estimated" in slack and "Per message" not in slack
    terminal = _terminal_text(report)
    assert "$0.0100" in terminal and "per message" not in terminal


async def test_direct_messages_are_one_line_of_busiest_channels_and_of_the_lost_ones(store: Store) -> None:
    """Each customer's DM is a channel of its own: a manager sees them added up, not <#D…> links."""
    for i in range(30):  # 30 customers writing to the bot in DMs, 2 messages each
        for j in range(2):
            await store.record(
                decision("Refund Request", 0.9, "claude", 10, 10),
                team_id=TEAM,
                channel_id=f"D0CUST{i:03d}",
                user_id=f"U{i}",
                message_ts=f"{i}.{j}",
            )
    for j in range(10):
        await store.record(
            decision("Refund Request", 0.9, "claude", 10, 10),
            team_id=TEAM,
            channel_id="C0SUPPORT",
            user_id="U9",
            message_ts=f"99.{j}",
        )
    for channel, ts in (("D0CUST001", "5.1"), ("D0CUST002", "5.2"), ("C0SUPPORT", "5.3")):
        msg = message(ts, team_id=TEAM, channel_id=channel)
        assert await store.claim(msg)
        await store.abandon(msg, "SlackApiError: channel_not_found")

    report = await build_report(store, parse_arguments("7d"))
    _, blocks = report_blocks(report)
    assert _section(blocks, "*Busiest channels*").splitlines()[1:] == [
        "Direct messages (30 customers)  `█████████░ 86%`  60",
        "<#C0SUPPORT>  `█░░░░░░░░░ 14%`  10",
    ]
    assert (
        "could not be posted, not even as an escalation (in Direct messages (2 customers), <#C0SUPPORT>)"
        in (_section(blocks, "*Not answered by the bot*"))
    )
    terminal = _terminal_text(report)
    assert "Direct messages (30 customers)" in terminal and "D0CUST" not in terminal
    assert "(in Direct messages (2 customers), C0SUPPORT)" in terminal

    one = await build_report(store, parse_arguments("7d D0CUST007"))
    assert [(s.name, s.count) for s in one.channels] == [("Direct messages (1 customer)", 2)]


def _section(blocks: list[dict], heading: str) -> str:
    [text] = [
        b["text"]["text"] for b in blocks if b["type"] == "section" and b["text"]["text"].startswith(heading)
    ]
    return text


def _gave_up() -> RoutingDecision:
    """What ``Conversations.give_up`` records for a message it could not handle after every retry."""
    return gave_up_decision("q", "SlackApiError", ROUTES)


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


def _file_alone() -> RoutingDecision:
    """What ``Router.route`` records for a message with no words (a file alone)."""
    return decision("General Question", 0.0, "none", 0.01, 0, escalated=True, escalation_reason="no_text")


async def test_files_alone_and_give_ups_are_counted_apart_from_the_classifications(store: Store) -> None:
    """Nobody classified these: they must not fill the first category, lower the confidence and the
    times, nor count as fallbacks to the local model, nor weigh on that category's accuracy."""
    rows = [
        ("1.1", decision("Refund Request", 0.9, "claude", 400, 1000)),
        ("1.2", decision("Refund Request", 0.9, "claude", 400, 1000)),
        # Claude down: the local model stood in, and the policy escalated it (a real fallback).
        ("1.3", decision("Technical Support", 0.6, "fallback", 500, 0, escalated=True,
                         escalation_reason="classifier_error", error="Claude is down")),
        ("2.1", _gave_up()),
        ("2.2", _gave_up()),
        ("3.1", _file_alone()),
        ("3.2", _file_alone()),
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
    reasons = [" ".join(row.split()) for row in _code_block(blocks, "*Escalations by reason*")]
    assert "given up after retries ████░░░░░░ 40% 2" in reasons
    classified_by = _section(blocks, "*Classified by*")
    assert (
        "Not classified: 4 (2 files with no text, 2 given up after retries; escalated, and left out of "
        "categories, confidence and times but the reply time)"
    ) in classified_by
    assert "Errors: *3* · fallbacks to the local model (also counted as errors): *1*" in classified_by
    assert "*Confidence* · average 0.80" in str(blocks)
    terminal = _terminal_text(report)
    assert "Not classified: 4 (2 files with no text, 2 given up after retries;" in terminal
    assert "fallbacks to the local model (also counted as errors)" in terminal


async def test_verdicts_are_counted_from_their_index_alone(store: Store) -> None:
    """Verdicts on files alone are marked as recorded: the report reads no decision to leave them out."""
    plan = await query_plan(store, feedback_statement(split_period(NOW - timedelta(days=7), NOW)))
    assert "ix_route_feedback_stats" in plan or store.engine.dialect.name != "sqlite", plan
    assert "routing_decisions" not in plan, plan


async def _seed_waits(store: Store, monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    """Five customer messages answered or escalated at ``when`` after known waits (a file alone and a
    give-up among them), an agent's re-route and a chat decision, which have no wait."""
    monkeypatch.setattr(repository, "utcnow", lambda: when)
    rows = [
        (1.5, decision("General Question", 0.95, "claude", 100, 1000)),
        (4.0, decision("General Question", 0.85, "local", 2, 800)),  # a failed post, retried
        (0.5, decision("Refund Request", 0.55, "claude", 300, 0, escalated=True,
                       escalation_reason="low_confidence")),
        (62.0, _gave_up()),
        (0.25, _file_alone()),
    ]  # fmt: skip
    for i, (wait, d) in enumerate(rows):
        msg = message(f"{when.timestamp() - wait:.6f}", team_id=TEAM, channel_id="C0SUPPORT", user_id=f"U{i}")
        assert await store.claim(msg)
        await store.complete(msg, d, f"{when.timestamp():.6f}")
        if i == 0:
            rerouted = decision("Technical Support", 1.0, "agent", 0, 600)
            await store.record_reroute(msg, rerouted, f"{when.timestamp() + 1:.6f}", by="U0AGENT")
    await store.record(decision("General Question", 0.9, "local", 1, 1), channel_id="console")


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "histograms"])
async def test_reply_time_matches_the_figures_worked_out_by_hand(
    store: Store, monkeypatch: pytest.MonkeyPatch, exact: bool
) -> None:
    """The customer's wait, from their message's ts to the reply's record: every customer's message
    (files alone and give-ups too: they waited), never an agent's re-route; from the decisions and from
    the trigger's rollups and histograms alike. The router's times leave the placeholders out on both."""
    if not exact:
        monkeypatch.setattr(build, "EXACT_LIMIT", 0)  # as with many messages: percentiles from histograms
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    await _seed_waits(store, monkeypatch, when)
    report = await build_report(store, parse_arguments("7d"))
    assert (report.messages, report.reroutes_answered, report.percentiles_exact) == (5, 1, exact)
    # reply [250, 500, 1500, 4000, 62000]; routing of the classified [2, 100, 300]
    assert (report.reply.count, report.reply.average_ms) == (5, pytest.approx(13650))
    rel = 1e-6 if exact else 0.05  # two significant digits, each value in the middle of its bucket
    assert (report.reply.p50_ms, report.reply.p95_ms) == pytest.approx((1500, 50400), rel=rel)
    assert (report.routing.count, report.routing.average_ms) == (3, pytest.approx(134))
    assert report.routing.p50_ms == pytest.approx(100, rel=rel)  # not 2, as with the placeholders
    assert report.total.p95_ms == pytest.approx(1070.2, rel=rel)  # total [300, 802, 1100]
    assert (report.handling.count, report.handling.p50_ms) == (2, pytest.approx(900, rel=rel))

    _, blocks = report_blocks(report)
    rows = _code_block(blocks, "*Time*")
    assert rows[0].split() == ["average", "p50", "p95"]
    assert rows[-1].split()[:3] == ["reply", "13.7", "s"]
    terminal = _terminal_text(report)
    assert "reply" in terminal and "13.7 s" in terminal and "the customer's wait" in terminal

    channel = await build_report(store, parse_arguments("7d C0SUPPORT"))
    assert (channel.reply.count, channel.reply.average_ms) == (5, pytest.approx(13650))
    chat = await build_report(store, parse_arguments("7d console"))
    assert (chat.messages, chat.reply.count, chat.reply.p50_ms) == (1, 0, None)


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
        ("3.1", "3.1", _gave_up()),
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
    ) in _section(blocks, "*Time*")
    assert (
        "Per message: 717 tokens · $0.0023 (over 3 messages: 2 without tokens on record, 1 found answered "
        "after a restart, 1 given up after retries, are left out, and the total lacks their cost)"
    ) in _section(blocks, "*Tokens and cost*")
    terminal = _terminal_text(report)
    assert "5 messages routed (3 new conversations, 2 follow-ups)" in terminal
    assert "No router times on record for 1 message" in terminal
    assert "2 (1 found answered after a restart, 1 given up after retries)" in terminal

    channel = await build_report(store, parse_arguments("7d C0SUPPORT"))
    assert (channel.follow_ups, channel.unmeasured, channel.routing.count) == (2, 2, 3)


def test_a_period_without_messages_shows_no_rate_of_nothing() -> None:
    report = StatsReport(period="24h", start=None, end=NOW)
    _, blocks = report_blocks(report)
    assert "*0* messages routed · *0* escalated (–) · *0* threads taken over by agents" in str(blocks)
    assert "0 messages routed · 0 escalated (–) · 0 threads taken over" in _terminal_text(report)
    files = StatsReport(period="24h", start=None, end=NOW, messages=1, no_text=1, escalations=1)
    assert "Confidence (average –)" in _terminal_text(files)  # not 0.00: nothing was classified


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
        _section(blocks, "*Tokens and cost*")
    )
    assert "messages without tokens on record (left out)" in _terminal_text(report)


async def test_messages_passed_on_to_the_person_in_charge_are_no_escalations(store: Store) -> None:
    """What a customer adds under an escalated DM goes on to the person in charge: among the messages and
    in its category, not another escalation; a fallback among them is still a classifier error."""
    rows = [
        ("D0DM", "1.1", decision("Refund Request", 0.4, "claude", 300, 0, escalated=True,
                                 escalation_reason="low_confidence")),
        ("D0DM", "1.2", decision("Refund Request", 0.9, "claude", 300, 0, escalated=True,
                                 escalation_reason="with_a_person")),
        ("D0DM", "1.3", decision("Refund Request", 0.6, "fallback", 300, 0, escalated=True,
                                 escalation_reason="with_a_person", error="Claude is down")),
        ("C0SUPPORT", "2.1", decision("General Question", 0.9, "claude", 300, 1000)),
    ]  # fmt: skip
    for channel, ts, d in rows:
        await store.record(d, team_id=TEAM, channel_id=channel, user_id="U1", message_ts=ts, thread_ts="1.1")
    report = await build_report(store, parse_arguments("7d"))
    assert (report.messages, report.escalations, report.passed_on) == (4, 1, 2)
    assert report.escalation_rate == pytest.approx(1 / 2)  # of the messages not passed on
    assert [(s.name, s.count) for s in report.escalation_reasons] == [("low_confidence", 1)]
    assert {s.name: s.count for s in report.categories} == {"Refund Request": 3, "General Question": 1}
    assert report.category_escalations == {"Refund Request": 1}
    # The category's escalated share leaves them out of its denominator too, as the rate does: the DM
    # went to a person once, as the same conversation in a channel would (it read "1 escalated (33%)").
    assert escalated_notes(report) == ["1 escalated (100%)", "0 escalated (0%)"]
    assert (report.errors, report.fallbacks) == (1, 1)
    assert "Passed on to the person in charge: 2" in _terminal_text(report)
    # A category whose messages were all passed on has no share to show, not one of 0%.
    passed_on_alone = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=2,
        passed_on=2,
        categories=shares({"Refund Request": 2}),
        category_passed_on={"Refund Request": 2},
    )
    assert escalated_notes(passed_on_alone) == ["0 escalated (–)"]


async def test_thank_yous_are_closed_with_thanks_out_of_the_handling_time_and_the_categories(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thank-you after an answer gets the acknowledgement reply, which no handler wrote: its 0 ms must
    not pull the handling time down, nor "thanks" swell the category the classifier made of it. Alike
    from the decisions (hours of a day) and from the rollups and histograms (whole days)."""
    day = datetime.combine(datetime.now(UTC).date() - timedelta(days=3), time.min, UTC)
    thanks = decision(
        "General Question", 0.9, "claude", 300, 0, answer="You're welcome!", acknowledgement=True
    )
    rows = [decision("Technical Support", 0.9, "claude", 300, ms) for ms in (1000, 1200, 1400)] + [thanks] * 3
    for i, d in enumerate(rows):
        await _insert_old(store, day + timedelta(hours=12, minutes=i), d, "C0SUPPORT")
    hours = StatsRequest(period="hours", start=day + timedelta(hours=6), end=day + timedelta(hours=18))
    whole_day = parse_arguments(f"{day:%Y-%m-%d}..{day:%Y-%m-%d}")
    for limit, request in itertools.product((build.EXACT_LIMIT, 0), (hours, whole_day)):
        monkeypatch.setattr(build, "EXACT_LIMIT", limit)  # 0: percentiles from the histograms
        report = await build_report(store, request)
        assert (report.messages, report.acknowledgements, report.escalations) == (6, 3, 0)
        assert [(s.name, s.count, s.share) for s in report.categories] == [("Technical Support", 3, 1.0)]
        assert (report.handling.count, report.handling.average_ms) == (3, pytest.approx(1200))
        assert report.handling.p50_ms == pytest.approx(1200, rel=0.05)
        assert report.routing.count == 6  # classifying "thanks" took its time all the same
    _, blocks = report_blocks(report)
    assert "Closed with thanks: *3*" in str(blocks)
    assert "Closed with thanks: 3" in _terminal_text(report)


async def test_a_total_cost_under_a_cent_does_not_read_as_nothing(store: Store) -> None:
    """A quiet day, one channel: two messages classified by Claude for $0.0015 each. "$0.00 estimated"
    above "Per message: $0.0015" reads as if they cost nothing, and as a total below its own average."""
    for ts in ("1.1", "1.2"):
        d = decision("General Question", 0.9, "claude", 100, 800, cost_usd=0.0015)
        await store.record(d, team_id=TEAM, channel_id="C0QUIET01", user_id="U1", message_ts=ts, thread_ts=ts)
    report = await build_report(store, parse_arguments("24h"))
    cost = _section(report_blocks(report)[1], "*Tokens and cost*")
    assert "*$0.0030* estimated" in cost and "$0.0015" in cost
    assert "$0.0030" in _terminal_text(report)


async def test_a_thank_you_classified_while_claude_was_down_is_an_error_as_every_fallback(
    store: Store,
) -> None:
    """While Claude is down, a thank-you after an answer falls back to the local model and still gets the
    acknowledgement, not an escalation. The report says every fallback is counted among the errors: it
    read "Errors: 0 · fallbacks to the local model (also counted as errors): 1"."""
    thanks = decision(
        "General Question", 0.8, "fallback", 3, 0, answer="You're welcome!", acknowledgement=True,
        error="Claude is down",
    )  # fmt: skip
    await store.record(
        thanks, team_id=TEAM, channel_id="C0SUPPORT", user_id="U1", message_ts="1.2", thread_ts="1.1"
    )
    report = await build_report(store, parse_arguments("24h"))
    assert (report.messages, report.escalations, report.acknowledgements) == (1, 0, 1)
    assert (report.errors, report.fallbacks) == (1, 1)


def test_long_waits_for_a_reply_read_in_seconds_minutes_and_hours_not_millions_of_ms() -> None:
    """After the bot was away for a morning, the customers' waits run to hours: "7,200,000 ms" is a number
    a manager has to work out before reading it."""
    report = StatsReport(
        period="24h",
        start=None,
        end=NOW,
        messages=3,
        routing=Timing(count=3, average_ms=4.26, p50_ms=12.4, p95_ms=950),
        reply=Timing(count=3, average_ms=2_403_100, p50_ms=8_300, p95_ms=7_200_000),
        total=Timing(count=3, average_ms=45_000, p50_ms=599_000, p95_ms=3_000_000),
    )
    rows = _code_block(report_blocks(report)[1], "*Time*")
    assert rows[1].split() == ["routing", "4.3", "ms", "12", "ms", "950", "ms"]
    assert rows[3].split() == ["total", "45.0", "s", "599.0", "s", "50", "min"]
    assert rows[4].split() == ["reply", "40", "min", "8,300", "ms", "2.0", "h"]
    # support-router stats prints the same report: the terminal read "2,403,100.0" under "Time, ms"
    [reply] = [line for line in _terminal_text(report).splitlines() if line.strip().startswith("reply")]
    assert [cell.strip() for cell in reply.split("│")] == ["reply", "3", "40 min", "8,300 ms", "2.0 h"]
