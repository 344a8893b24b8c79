"""The report after ``db purge`` and after a hand back: what is gone from the log, and what still counts.

Figures worked out by hand, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.stats import StatsReport, build_report, parse_arguments
from bot.stats.blocks import report_blocks
from bot.store import Store
from bot.store.feedback import Verdict
from bot.store.tables.decisions import routing_decisions
from tests.bot.stats_samples import TEAM, decision

OLD = "C0OLDONE"
NEW = "C0NEWONE"


async def _insert(store: Store, when: datetime, channel: str, ts: str, category: str, routing: float) -> None:
    d = decision(category, 0.9, "claude", routing, 100)
    values = d.model_dump(mode="json", exclude={"usage"}) | d.usage.model_dump()
    values |= {"team_id": TEAM, "channel_id": channel, "message_ts": ts, "thread_ts": ts, "created_at": when}
    async with store.engine.begin() as conn:
        await conn.execute(routing_decisions.insert().values(values))


async def _verdict(store: Store, channel: str, ts: str, verdict: Verdict) -> None:
    target = await store.find_decision(TEAM, channel, ts)
    assert target is not None
    rerouted = verdict == Verdict.REROUTED
    await store.add_feedback(target, "U0AGENT", verdict, "Technical Support" if rerouted else None)


async def seed(store: Store) -> datetime:
    """Three decisions 100 days old, two an hour old, and three verdicts; returns the first recent time.

    routing 10, 20, 30 (old) and 40, 50 (recent); handling 100 each, so total 110 ... 150.
    """
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=100), now - timedelta(hours=1)
    await _insert(store, old, OLD, "1.1", "Refund Request", 10)
    await _insert(store, old + timedelta(minutes=1), OLD, "1.2", "Refund Request", 20)
    await _insert(store, old + timedelta(minutes=2), OLD, "1.3", "General Question", 30)
    await _insert(store, recent, NEW, "2.1", "Refund Request", 40)
    await _insert(store, recent + timedelta(minutes=1), NEW, "2.2", "General Question", 50)
    await _verdict(store, OLD, "1.1", Verdict.REROUTED)
    await _verdict(store, NEW, "2.1", Verdict.REROUTED)
    await _verdict(store, NEW, "2.2", Verdict.CORRECT)
    return recent


def _percentiles(report: StatsReport) -> list[float | None]:
    """p50 and p95 of routing, handling and total."""
    return [p for t in (report.routing, report.handling, report.total) for p in (t.p50_ms, t.p95_ms)]


async def test_before_a_purge_the_report_is_exact(store: Store) -> None:
    await seed(store)
    report = await build_report(store, parse_arguments("all"))
    assert report.percentiles_exact and report.kept_messages is None and report.purged_messages == 0
    # routing [10, 20, 30, 40, 50]: p50 30, p95 at rank 3.8: 40 + 0.8 * 10
    assert _percentiles(report) == pytest.approx([30, 48, 100, 100, 130, 148])
    assert {f.category: (f.routed, f.rerouted) for f in report.feedback} == {
        "General Question": (2, 0),
        "Refund Request": (3, 2),
    }


async def test_after_a_purge_percentiles_come_from_the_histograms_and_feedback_from_what_is_kept(
    store: Store,
) -> None:
    recent = await seed(store)
    purged = await store.purge(timedelta(days=90))
    assert purged.decisions == 3

    report = await build_report(store, parse_arguments("all"))

    # Counts, sums and averages come from the daily rollups, which the purge keeps.
    assert (report.messages, report.routing.count, report.routing.average_ms) == (5, 5, pytest.approx(30))
    assert {s.name: s.count for s in report.categories} == {"Refund Request": 3, "General Question": 2}
    # Percentiles over all five messages, from the histograms (each value in the middle of its bucket):
    # routing buckets 10..50 are 1 ms wide: 10.5 ... 50.5; handling's five 100s share the 10 ms bucket
    # at 100: 101, 103, 105, 107, 109; totals 110..150 fall in 10 ms buckets: 115 ... 155.
    assert not report.percentiles_exact
    assert _percentiles(report) == pytest.approx([30.5, 48.5, 105, 108.6, 135, 153])
    # The old verdict went with its decision: re-route rates are of the two messages kept.
    assert (report.kept_messages, report.purged_messages) == (2, 3)
    assert report.kept_since == recent
    assert {f.category: (f.routed, f.reviewed, f.rerouted, f.reroute_rate) for f in report.feedback} == {
        "General Question": (1, 1, 0, 0.0),
        "Refund Request": (1, 1, 1, 1.0),
    }
    total = report.feedback_total
    assert (total.routed, total.reviewed, total.accuracy, total.reroute_rate) == (2, 2, 0.5, 0.5)

    text, blocks = report_blocks(report)
    assert text.endswith("5 messages routed")
    notes = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert any(
        "The decisions of 3 messages of this period made before" in note and "2 messages kept" in note
        for note in notes
    )
    assert any("daily histograms" in note for note in notes)


async def test_a_purge_that_leaves_only_some_rows_gives_no_wrong_exact_percentiles(store: Store) -> None:
    # One old decision of four purged: an OFFSET computed from the rollups' four would read the three
    # left as if they were four (p50 from 40 and 50 instead of 30 and 40).
    now = datetime.now(UTC)
    await _insert(store, now - timedelta(days=100), OLD, "1.1", "Refund Request", 10)
    for i, routing in enumerate((30, 40, 50)):
        await _insert(store, now - timedelta(hours=1, minutes=i), NEW, f"2.{i}", "Refund Request", routing)
    await store.purge(timedelta(days=90))
    report = await build_report(store, parse_arguments("all"))
    assert (report.messages, report.kept_messages, report.percentiles_exact) == (4, 3, False)
    assert report.routing.p50_ms == pytest.approx(35.5)  # (30.5 + 40.5) / 2, over all four


async def test_periods_and_channels_the_purge_did_not_reach_stay_exact(store: Store) -> None:
    await seed(store)
    await store.purge(timedelta(days=90))
    for text in ("7d", f"all {NEW}", "30d"):
        report = await build_report(store, parse_arguments(text))
        assert (report.messages, report.kept_messages, report.percentiles_exact) == (2, None, True), text
        assert (report.routing.p50_ms, report.routing.p95_ms) == pytest.approx((45, 49.5)), text
        assert report.feedback_total.reroute_rate == 0.5
    old = await build_report(store, parse_arguments(f"all {OLD}"))
    assert (old.messages, old.kept_messages, old.percentiles_exact) == (3, 0, False)
    assert (old.routing.p50_ms, old.feedback_total.routed, old.feedback_total.reviewed) == (20.5, 0, 0)


async def test_when_everything_was_purged_the_counts_stay(store: Store) -> None:
    await seed(store)
    await store.purge(timedelta(minutes=1))
    report = await build_report(store, parse_arguments("all"))
    assert (report.messages, report.kept_messages, report.kept_since) == (5, 0, None)
    assert report.routing.p50_ms == pytest.approx(30.5)
    assert report.feedback_total.reroute_rate is None
    _, blocks = report_blocks(report)
    assert "The decisions of 5 messages of this period were deleted" in str(blocks)


async def test_a_hand_back_leaves_the_take_over_in_the_report(store: Store) -> None:
    await store.take_over(TEAM, NEW, "2.1", "U0AGENT")
    await store.take_over(TEAM, NEW, "2.2", "U0AGENT")
    await store.hand_back(TEAM, NEW, "2.1")

    state = await store.get_thread(TEAM, NEW, "2.1")
    assert state is not None and not state.bot_silent  # the bot answers there again
    report = await build_report(store, parse_arguments("24h"))
    assert report.handoffs == 2
    await store.take_over(TEAM, NEW, "2.1", "U0OTHER")  # taken over again: still one thread
    assert (await build_report(store, parse_arguments("24h"))).handoffs == 2
    assert (await build_report(store, parse_arguments(f"7d {OLD}"))).handoffs == 0


async def test_a_purge_into_the_periods_first_day_counts_that_day_whole_and_says_so(store: Store) -> None:
    """30d starts within a day; db purge deleted that day's decisions: they still count (from the daily
    totals, which hold the whole day), the period starts at that day's midnight and the report says why."""
    request = parse_arguments("30d")
    assert request.start is not None
    midnight = datetime.combine(request.start.date(), datetime.min.time(), UTC)
    in_period = request.start + (midnight + timedelta(days=1) - request.start) / 2
    await _insert(store, in_period, NEW, "1.1", "Refund Request", 10)
    await _insert(store, midnight + timedelta(minutes=1), NEW, "1.2", "Refund Request", 20)  # before start
    await _insert(store, datetime.now(UTC) - timedelta(days=10), NEW, "1.3", "General Question", 30)
    before = await build_report(store, parse_arguments("30d"))
    assert (before.messages, before.first_day_whole) == (2, False)

    await store.purge(timedelta(days=20))
    after = await build_report(store, parse_arguments("30d"))
    assert (after.messages, after.first_day_whole, after.start) == (3, True, midnight)
    assert after.purged_messages == 2 and after.kept_messages == 1
    _, blocks = report_blocks(after)
    notes = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert any("counted from 00:00 UTC of its first day" in n for n in notes)
    assert any("were deleted" in n for n in notes)  # the purge note


async def test_a_purge_of_the_hours_before_the_period_on_its_first_day_changes_nothing(store: Store) -> None:
    """A daily db purge --older-than 7d run in the morning, /routing-stats 7d in the afternoon: the purge
    took only hours before the period, so the report stays exact, from the period's start."""
    request = parse_arguments("7d")
    assert request.start is not None
    midnight = datetime.combine(request.start.date(), datetime.min.time(), UTC)
    await _insert(store, midnight + (request.start - midnight) / 4, NEW, "1.1", "Refund Request", 10)
    in_period = request.start + (midnight + timedelta(days=1) - request.start) / 2
    await _insert(store, in_period, NEW, "1.2", "Refund Request", 20)
    await _insert(store, datetime.now(UTC) - timedelta(days=2), NEW, "1.3", "General Question", 30)
    cutoff = midnight + (request.start - midnight) / 2  # after 1.1, before the period's start
    await store.purge(datetime.now(UTC) - cutoff)
    after = await build_report(store, parse_arguments("7d"))
    assert (after.messages, after.first_day_whole) == (2, False)
    assert after.start is not None and after.start >= request.start  # not widened to midnight
    assert after.kept_messages is None and after.percentiles_exact
