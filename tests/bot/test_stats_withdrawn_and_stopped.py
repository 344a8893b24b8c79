"""Messages their authors deleted before the bot replied, and answers the customers stopped, in
/routing-stats: worked out by hand, from the decisions (hours of a day) and from the rollups (whole days),
on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.stats import build, build_report, parse_arguments
from bot.stats.blocks import report_blocks
from bot.stats.compare import comparison, previous_label
from bot.stats.period import StatsRequest
from bot.store import Store
from bot.store.tables.messages import inbound_messages
from router.models import RoutingDecision
from tests.bot.report_text import section_text, terminal_text
from tests.bot.stats_samples import TEAM, decision, insert_old
from tests.store.samples import message

CHANNEL = "C0SUPPORT"
LOW = {"escalated": True, "escalation_reason": "low_confidence"}


def answer(category: str, **extra: object) -> RoutingDecision:
    return decision(category, 0.9, "claude", 100, 1000, **({"cost_usd": 0.001} | extra))


async def withdrawn_before_it_was_routed(store: Store, at: datetime) -> None:
    """A message deleted while it waited its turn: closed 'withdrawn', with no decision."""
    values = {
        "team_id": TEAM,
        "channel_id": CHANNEL,
        "ts": f"{at.timestamp():.6f}",
        "user_id": "U1",
        "thread_ts": f"{at.timestamp():.6f}",
        "state": "withdrawn",
        "withdrawn": True,
        "received_at": at,
    }
    async with store.engine.begin() as conn:
        await conn.execute(inbound_messages.insert().values(values))


async def seed_a_day(store: Store, day: datetime) -> None:
    """Technical Support: four answers (one stopped) and one escalation; Refund Request: two answers (one
    stopped); withdrawn: a Technical Support escalation and a Refund Request answer deleted while it
    streamed (stopped by the deletion: no stop of the customer's), $0.01 each, and one message deleted
    before it was routed. The customers waited 2 s for each answer and 3 s for the escalation."""
    rows: list[tuple[RoutingDecision, float | None]] = [
        (answer("Technical Support", stopped_by_customer=True), 2000),
        *[(answer("Technical Support"), 2000)] * 3,
        (decision("Technical Support", 0.4, "claude", 100, 0, cost_usd=0.001, **LOW), 3000),
        (answer("Refund Request", stopped_by_customer=True), 2000),
        (answer("Refund Request"), 2000),
        (decision("Technical Support", 0.4, "claude", 100, 0, cost_usd=0.01, withdrawn=True, **LOW), None),
        (answer("Refund Request", stopped_by_customer=True, withdrawn=True, cost_usd=0.01), None),
    ]
    for i, (d, waited) in enumerate(rows):
        await insert_old(store, day + timedelta(hours=12, minutes=i), d, CHANNEL, reply_ms=waited)
    await withdrawn_before_it_was_routed(store, day + timedelta(hours=13))


async def test_withdrawn_messages_reach_no_figure_of_what_was_posted_and_stops_are_counted_per_category(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A withdrawn escalation was counted as one (escalated 2 of 9, 22.2%: 1 of the 7 that could be is
    14.3%) and a withdrawn answer as an answer in its category; the answers customers stopped were not
    shown at all."""
    day = datetime.combine(datetime.now(UTC).date() - timedelta(days=3), time.min, UTC)
    await seed_a_day(store, day)
    hours = StatsRequest(period="hours", start=day + timedelta(hours=6), end=day + timedelta(hours=18))
    whole_day = parse_arguments(f"{day:%Y-%m-%d}..{day:%Y-%m-%d}")
    for limit, request in itertools.product((build.EXACT_LIMIT, 0), (hours, whole_day)):
        monkeypatch.setattr(build, "EXACT_LIMIT", limit)  # 0: percentiles from the histograms
        report = await build_report(store, request)
        assert (report.messages, report.withdrawn, report.withdrawn_unrouted) == (9, 2, 1)
        assert (report.escalations, report.escalation_rate) == (1, pytest.approx(1 / 7))
        assert [(s.name, s.count) for s in report.escalation_reasons] == [("low_confidence", 1)]
        assert [(s.name, s.count, s.share) for s in report.categories] == [
            ("Technical Support", 5, pytest.approx(5 / 7)),
            ("Refund Request", 2, pytest.approx(2 / 7)),
        ]
        assert report.category_escalations_rated() == [(1, 0.2), (0, 0.0)]
        assert (report.answers, report.stopped, report.stop_rate) == (6, 2, pytest.approx(1 / 3))
        assert report.category_stops_rated() == [(1, 0.25), (1, 0.5)]
        # Nothing was posted under the withdrawn: no wait for a reply (2 s six times, 3 s once).
        assert (report.reply.count, report.reply.average_ms) == (7, pytest.approx(15000 / 7))
        assert report.reply.p50_ms == pytest.approx(2000, rel=0.05)
        # What Claude was paid for them counts: $0.007 + $0.02 over the 9 messages.
        assert (report.cost_usd, report.cost_per_message) == (pytest.approx(0.027), pytest.approx(0.003))
        # Re-routed share: of the categories' 7 messages (none could be re-routed under a withdrawn one).
        assert report.feedback_total.routed == 7

    _, blocks = report_blocks(report)
    assert "*1* escalated (14.3% of the 7 not withdrawn)" in section_text(blocks, "*9* messages routed")
    by_category = section_text(blocks, "*By category*")
    assert "5  · 1 escalated (20%) · 1 stopped (25%)" in by_category
    assert "2  · 0 escalated (0%) · 1 stopped (50%)" in by_category
    stopped = "Answers stopped by customers: *2* of 6 answers (33.3%; the customer pressed Stop"
    assert stopped in section_text(blocks, "Answers stopped")
    withdrawn = (
        "Withdrawn by their authors: *3* (deleted before the bot replied: nothing was posted to the "
        "customer or the agents; 2 of them routed first: among the messages and in the cost, but not in "
        "the categories, escalations, their rates or the reply time)"
    )
    assert section_text(blocks, "Withdrawn") == withdrawn
    printed = " ".join(terminal_text(report).split())
    for text in (stopped, withdrawn, "1 escalated (20%) · 1 stopped (25%)"):
        assert text.replace("*", "") in printed


async def test_a_report_without_stops_or_withdrawals_says_nothing_of_them(store: Store) -> None:
    await store.record(answer("General Question"), team_id=TEAM, channel_id=CHANNEL, message_ts="1.1")
    report = await build_report(store, parse_arguments("24h"))
    _, blocks = report_blocks(report)
    assert "stopped" not in str(blocks) and "Withdrawn" not in str(blocks)
    assert "stopped" not in terminal_text(report) and "Withdrawn" not in terminal_text(report)


async def test_a_message_deleted_before_its_escalation_was_posted_keeps_no_agent_waiting_nor_customer(
    store: Store,
) -> None:
    """Recorded as the bot records it: the escalation was never posted, so no agent can pick it up, and
    the customer waited for no reply; its decision was read as a wait of as long as it took to delete."""
    msg = message("1712345678.000100", team_id=TEAM, channel_id=CHANNEL)
    await store.claim(msg)
    escalated = decision("Refund Request", 0.4, "claude", 100, 0, cost_usd=0.002, withdrawn=True, **LOW)
    await store.complete(msg, escalated, None)
    report = await build_report(store, parse_arguments("all"))
    assert (report.messages, report.withdrawn, report.escalations) == (1, 1, 0)
    assert (report.escalations_to_pick_up, report.awaiting_agents) == (0, 0)
    assert (report.reply.count, report.reply.p50_ms, report.escalation_rate) == (0, None, None)
    assert report.cost_usd == pytest.approx(0.002)


async def test_the_days_before_read_their_escalation_rate_without_their_withdrawn_messages(
    store: Store,
) -> None:
    """Nine days ago: three answers, one escalation and one escalation withdrawn: escalated 25% (1 of
    4), not 40% (2 of 5); this week two answers and one escalation, 33.3%: +8.3 pts."""
    before = datetime.now(UTC) - timedelta(days=9)
    rows = [answer("General Question")] * 3 + [
        decision("General Question", 0.4, "claude", 100, 0, cost_usd=0.001, **LOW),
        decision("General Question", 0.4, "claude", 100, 0, cost_usd=0.001, withdrawn=True, **LOW),
    ]
    for i, d in enumerate(rows):
        await insert_old(store, before + timedelta(minutes=i), d, CHANNEL)
    this_week = [answer("General Question")] * 2 + [
        decision("General Question", 0.4, "claude", 100, 0, cost_usd=0.001, **LOW)
    ]
    for i, d in enumerate(this_week):
        await store.record(d, team_id=TEAM, channel_id=CHANNEL, message_ts=f"2.{i}", thread_ts=f"2.{i}")
    report = await build_report(store, parse_arguments("7d"))
    assert report.previous is not None
    assert (report.previous.escalations, report.previous.escalation_rate) == (1, 0.25)
    assert comparison(report, lambda text: text) == (
        f"Against the 7 days before ({previous_label(report)} UTC): 3 messages (−40%) · escalated 33.3% "
        "(+8.3 pts) · cost per message $0.0010 (±0%)"
    )


async def test_answers_stopped_before_their_end_are_left_out_of_the_handling_and_total_times(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three answers written whole in 1,000, 1,200 and 1,400 ms, and two cut short at 200 ms (one stopped
    by its customer, one by its message's deletion): counted, the handling time read 800 ms on average
    and 1,000 ms at the median, faster than the bot wrote any whole answer. The routing time, over before
    the answers began, keeps all five."""
    day = datetime.combine(datetime.now(UTC).date() - timedelta(days=3), time.min, UTC)
    rows = [
        *(decision("General Question", 0.9, "claude", 100, ms) for ms in (1000, 1200, 1400)),
        decision("General Question", 0.9, "claude", 100, 200, stopped_by_customer=True),
        decision("General Question", 0.9, "claude", 100, 200, stopped_by_customer=True, withdrawn=True),
    ]
    for i, d in enumerate(rows):
        await insert_old(store, day + timedelta(hours=12, minutes=i), d, CHANNEL, reply_ms=3000)
    hours = StatsRequest(period="hours", start=day + timedelta(hours=6), end=day + timedelta(hours=18))
    whole_day = parse_arguments(f"{day:%Y-%m-%d}..{day:%Y-%m-%d}")
    for limit, request in itertools.product((build.EXACT_LIMIT, 0), (hours, whole_day)):
        monkeypatch.setattr(build, "EXACT_LIMIT", limit)  # 0: percentiles from the histograms
        report = await build_report(store, request)
        rel = 1e-6 if limit else 0.05
        assert (report.handling.count, report.handling.average_ms) == (3, pytest.approx(1200))
        assert (report.handling.p50_ms, report.handling.p95_ms) == pytest.approx((1200, 1380), rel=rel)
        assert (report.total.count, report.total.average_ms) == (3, pytest.approx(1300))
        assert (report.routing.count, report.cut_short, report.stopped) == (5, 2, 1)

    cut = "2 answers stopped before their end (by the customer, or by deleting the message) left out of "
    _, blocks = report_blocks(report)
    assert cut in section_text(blocks, "*Time*")
    assert cut in " ".join(terminal_text(report).split())


async def test_the_days_before_show_whether_customers_stop_answers_more_often(store: Store) -> None:
    """Nine days ago customers stopped 1 of 4 answers (25%; a withdrawn one stopped by its deletion is
    no answer); this week 2 of 3, 66.7%: the headline says +41.7 pts, where it said nothing of stops."""
    before = datetime.now(UTC) - timedelta(days=9)
    rows = [answer("General Question", stopped_by_customer=True)] + [answer("General Question")] * 3
    rows.append(answer("General Question", stopped_by_customer=True, withdrawn=True))
    for i, d in enumerate(rows):
        await insert_old(store, before + timedelta(minutes=i), d, CHANNEL)
    this_week = [answer("General Question", stopped_by_customer=True)] * 2 + [answer("General Question")]
    for i, d in enumerate(this_week):
        await store.record(d, team_id=TEAM, channel_id=CHANNEL, message_ts=f"2.{i}", thread_ts=f"2.{i}")
    report = await build_report(store, parse_arguments("7d"))
    assert report.previous is not None
    assert (report.previous.answers, report.previous.stopped, report.previous.stop_rate) == (4, 1, 0.25)
    against = (
        f"Against the 7 days before ({previous_label(report)} UTC): 3 messages (−40%) · escalated 0% "
        "(±0 pts) · answers stopped 66.7% (+41.7 pts) · cost per message $0.0010 (±0%)"
    )
    assert comparison(report, lambda text: text) == against
    _, blocks = report_blocks(report)
    assert against.replace("Against the 7 days before", "*Against the 7 days before*") in str(blocks)
    assert "answers stopped 66.7% (+41.7 pts)" in " ".join(terminal_text(report).split())
