"""The report's numbers against figures worked out by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.stats import StatsReport, build, build_report, parse_arguments
from bot.stats.blocks import report_blocks
from bot.stats.compare import comparison, previous_label
from bot.stats.notes import escalated_notes
from bot.stats.period import StatsRequest
from bot.stats.queries import split_period
from bot.stats.shares import shares
from bot.store import Store
from tests.bot.report_text import section_text, terminal_text
from tests.bot.stats_samples import NOW, TEAM, decision, insert_old, seed, seed_the_week_before


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
        await insert_old(store, when, slow, "demo")
        await insert_old(store, when + timedelta(seconds=1), slow, "console")
    report = await build_report(store, request)
    assert (report.messages, report.escalations) == (4, 2)
    assert [s.name for s in report.channels] == ["C0BILLING", "C0GENERAL"]
    # routing [2, 50, 100, 300] without the 90,000 ms of demo and chat: p95 within its bucket
    assert report.routing.p95_ms == pytest.approx(270, rel=0.05)
    assert "left out: --channel demo or --channel console shows them" in terminal_text(report)

    demo = await build_report(store, request.model_copy(update={"channel_id": "demo"}))
    assert (demo.channel, demo.messages) == ("support-router demo", 2)
    assert demo.routing.p50_ms == pytest.approx(90_000, rel=0.05)
    text, _ = report_blocks(demo)
    assert text == "Routing stats: last 7 days in support-router demo: 2 messages routed"
    assert "left out" not in terminal_text(demo)
    chat = await build_report(store, parse_arguments("all CONSOLE"))
    assert (chat.channel, chat.messages) == ("support-router chat", 2)


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
    assert "Passed on to the person in charge: 2" in terminal_text(report)
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
        await insert_old(store, day + timedelta(hours=12, minutes=i), d, "C0SUPPORT")
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
    assert "Closed with thanks: 3" in terminal_text(report)


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
    terminal = terminal_text(report)
    assert "$0.0100" in terminal and "per message" not in terminal


async def test_a_total_cost_under_a_cent_does_not_read_as_nothing(store: Store) -> None:
    """A quiet day, one channel: two messages classified by Claude for $0.0015 each. "$0.00 estimated"
    above "Per message: $0.0015" reads as if they cost nothing, and as a total below its own average."""
    for ts in ("1.1", "1.2"):
        d = decision("General Question", 0.9, "claude", 100, 800, cost_usd=0.0015)
        await store.record(d, team_id=TEAM, channel_id="C0QUIET01", user_id="U1", message_ts=ts, thread_ts=ts)
    report = await build_report(store, parse_arguments("24h"))
    cost = section_text(report_blocks(report)[1], "*Tokens and cost*")
    assert "*$0.0030* estimated" in cost and "$0.0015" in cost
    assert "$0.0030" in terminal_text(report)
