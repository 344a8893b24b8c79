"""The report against the whole days just before it: figures worked out by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time, timedelta

import pytest
from rich.console import Console

from bot.stats import build_report, parse_arguments
from bot.stats.blocks import report_blocks
from bot.stats.terminal import print_report
from bot.store import Store
from bot.store.feedback import Verdict
from bot.store.tables.decisions import routing_decisions
from tests.bot.stats_samples import TEAM, decision, seed_the_week_before

BILLING = "C0BILLING"
GENERAL = "C0GENERAL"


async def _insert(
    store: Store, when: datetime, channel: str, ts: str, *, escalated: bool, cost: float, reply_ms: float
) -> None:
    confidence = 0.6 if escalated else 0.9
    flags = {"escalated": True, "escalation_reason": "low_confidence"} if escalated else {}
    d = decision("Refund Request", confidence, "claude", 100, 0 if escalated else 900, cost_usd=cost, **flags)
    values = d.model_dump(mode="json", exclude={"usage"}) | d.usage.model_dump()
    values |= {"team_id": TEAM, "channel_id": channel, "message_ts": ts, "thread_ts": ts}
    values |= {"created_at": when, "reply_ms": reply_ms}
    async with store.engine.begin() as conn:
        await conn.execute(routing_decisions.insert().values(values))


async def _verdict(store: Store, channel: str, ts: str, verdict: Verdict) -> None:
    target = await store.find_decision(TEAM, channel, ts)
    assert target is not None
    await store.add_feedback(
        target, "U0AGENT", verdict, "General Question" if verdict is Verdict.REROUTED else None
    )


async def seed(store: Store) -> None:
    """Ten days ago (the 7 days before a 7d report): four messages in billing, half escalated, costing
    $0.002 each, the customers waiting 4 s on average, one verdict of two correct; and one in general.
    An hour ago: two messages in billing, none escalated, $0.001 each, 2 s, one verdict, correct.
    Twenty days ago: one more, in no 7d comparison."""
    now = datetime.now(UTC)
    before, recent = now - timedelta(days=10), now - timedelta(hours=1)
    for i, escalated in enumerate([True, True, False, False]):
        at = before + timedelta(minutes=i)
        await _insert(
            store, at, BILLING, f"1.{i}", escalated=escalated, cost=0.002, reply_ms=3000 + 2000 * (i % 2)
        )
    await _insert(store, before, GENERAL, "1.9", escalated=False, cost=0.002, reply_ms=4000)
    await _insert(store, now - timedelta(days=20), BILLING, "0.1", escalated=True, cost=0.05, reply_ms=60_000)
    for i in range(2):
        at = recent + timedelta(minutes=i)
        await _insert(store, at, BILLING, f"2.{i}", escalated=False, cost=0.001, reply_ms=2000)
    await _verdict(store, BILLING, "1.2", Verdict.CORRECT)
    await _verdict(store, BILLING, "1.3", Verdict.REROUTED)
    await _verdict(store, BILLING, "2.0", Verdict.CORRECT)


async def test_a_week_is_read_against_the_week_before(store: Store) -> None:
    await seed(store)
    report = await build_report(store, parse_arguments(f"7d <#{BILLING}|billing>"))
    before = report.previous
    assert before is not None and report.start is not None
    # Whole UTC days, as many as the report's: the 7 that end at the midnight its first day began with.
    assert before.end == datetime.combine(report.start.date(), time.min, UTC)
    assert before.end - before.start == timedelta(days=7)
    days = f"{before.start.date()} – {(before.end - timedelta(days=1)).date()}"
    assert (before.messages, before.escalations, before.escalation_rate) == (4, 2, 0.5)
    # Waits of 3, 5, 3 and 5 s: the median is 4 s; now 2 s and 2 s.
    assert (before.cost_per_message, before.reply_p50_ms) == (pytest.approx(0.002), pytest.approx(4000))
    assert (before.reviewed, before.accuracy, before.days) == (2, 0.5, 7)
    _, blocks = report_blocks(report)
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert texts[1] == (
        f"*Against the 7 days before* ({days} UTC): 2 messages (−50%) · escalated 0% (−50 pts) · "
        "accuracy 100% of 1 reviewed (+50 pts) · median wait for a reply 2,000 ms (−50%) · "
        "cost per message $0.0010 (−50%)"
    )
    out = io.StringIO()
    print_report(report, Console(file=out, width=200, color_system=None))
    assert (
        f"Against the 7 days before ({days} UTC): 2 messages (−50%) · escalated 0% (−50 pts)"
        in out.getvalue()
    )


async def test_a_figure_the_days_before_lack_reads_as_a_dash_and_one_the_period_lacks_is_left_out(
    store: Store,
) -> None:
    """The week before had no verdicts: the accuracy of this week has nothing to move from; this week has
    no verdicts in general: no accuracy at all."""
    now = datetime.now(UTC)
    for i, escalated in enumerate([True, False, False, False]):
        at = now - timedelta(days=10, minutes=i)
        await _insert(store, at, GENERAL, f"3.{i}", escalated=escalated, cost=0.004, reply_ms=1000)
    await _insert(store, now - timedelta(hours=2), GENERAL, "4.1", escalated=False, cost=0.003, reply_ms=1000)
    await _insert(store, now - timedelta(hours=1), BILLING, "4.2", escalated=True, cost=0.003, reply_ms=1000)
    await _verdict(store, BILLING, "4.2", Verdict.CORRECT)
    report = await build_report(store, parse_arguments("7d"))
    against = report_blocks(report)[1][3]["text"]["text"]
    assert against.endswith(
        ": 2 messages (−50%) · escalated 50% (+25 pts) · accuracy 100% of 1 reviewed (–) · "
        "median wait for a reply 1,000 ms (±0%) · cost per message $0.0030 (−25%)"
    )
    general = await build_report(store, parse_arguments(f"7d <#{GENERAL}|general>"))
    against = report_blocks(general)[1][3]["text"]["text"]
    assert "accuracy" not in against and ": 1 message (−75%) · escalated 0% (−25 pts) · " in against


async def test_every_channel_and_a_day_and_a_date_range(store: Store) -> None:
    await seed(store)
    report = await build_report(store, parse_arguments("7d"))
    assert report.previous is not None and report.previous.messages == 5  # the general channel's too
    day = await build_report(store, parse_arguments("24h"))
    assert day.previous is not None and day.previous.messages == 0
    _, blocks = report_blocks(day)
    day_before = (datetime.now(UTC) - timedelta(days=2)).date()  # the whole day before the last 24 hours
    assert (
        blocks[3]["text"]["text"]
        == f"*Against the day before* ({day_before} UTC): no messages were routed then."
    )
    start = (datetime.now(UTC) - timedelta(days=8)).date()
    ranged = await build_report(store, parse_arguments(f"{start}..{start + timedelta(days=2)}"))
    assert ranged.previous is not None and ranged.previous.end - ranged.previous.start == timedelta(days=3)
    assert ranged.previous.messages == 5
    label = f"*Against the 3 days before* ({start - timedelta(days=3)} – {start - timedelta(days=1)} UTC)"
    assert label in str(report_blocks(ranged)[1])


async def test_all_and_a_period_yet_to_come_have_nothing_before_them(store: Store) -> None:
    await seed(store)
    for period in (
        "all",
        f"{(datetime.now(UTC) + timedelta(days=3)).date()}..{datetime.now(UTC).date() + timedelta(days=4)}",
    ):
        report = await build_report(store, parse_arguments(period))
        assert report.previous is None
        assert "Against" not in str(report_blocks(report)[1])


async def test_a_date_range_that_runs_past_now_is_read_against_as_long_a_stretch_before_it(
    store: Store,
) -> None:
    """This week's range on Wednesday morning holds two days and a morning: it is read against the same
    stretch of the week before (against that week's seven whole days its traffic seemed to collapse),
    and its header does not claim the days to come."""
    now = datetime(2026, 3, 11, 9, 14, tzinfo=UTC)  # a Wednesday
    for day in range(2, 12):  # three messages every morning, three every evening but today's to come
        for hour in (8, 20) if day < 11 else (8,):
            for i in range(3):
                at = datetime(2026, 3, day, hour, i, tzinfo=UTC)
                await _insert(
                    store, at, BILLING, f"{day}.{hour}{i}", escalated=False, cost=0.001, reply_ms=1000
                )
    report = await build_report(store, parse_arguments("2026-03-09..2026-03-15", now))
    assert (report.start, report.end, report.messages) == (datetime(2026, 3, 9, tzinfo=UTC), now, 15)
    before = report.previous
    assert before is not None
    assert (before.start, before.end) == (
        datetime(2026, 3, 2, tzinfo=UTC),
        datetime(2026, 3, 4, 9, 14, tzinfo=UTC),
    )
    assert before.messages == 15  # not the 42 of 2026-03-02 – 2026-03-08
    _, blocks = report_blocks(report)
    assert blocks[1]["elements"][0]["text"] == (
        "From 2026-03-09 00:00 to now, 2026-03-11 09:14 UTC (the rest of the range is yet to come)"
    )
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert texts[1].startswith(
        "*Against the same stretch of the 7 days before* (2026-03-02 00:00 – 2026-03-04 09:14 UTC): "
        "15 messages (±0%)"
    )
    out = io.StringIO()
    print_report(report, Console(file=out, width=200, color_system=None))
    assert (
        "2026-03-09 00:00 → now, 2026-03-11 09:14 UTC (the rest of the range is yet to come)"
        in out.getvalue()
    )
    assert "2026-03-04 09:14 UTC): 15 messages (±0%)" in out.getvalue()


async def test_the_median_wait_before_a_purge_is_read_from_the_histograms(store: Store) -> None:
    """db purge deleted the first of the week before's five replies (1 to 5 s): the median of the four
    left (4 s) is not that week's, which its daily histogram still holds (3 s)."""
    at = await seed_the_week_before(store)
    await store.purge(datetime.now(UTC) - (at + timedelta(seconds=30)))
    report = await build_report(store, parse_arguments("7d"))
    assert report.previous is not None and report.previous.messages == 5
    assert report.previous.reply_p50_ms == pytest.approx(3000, rel=0.05)
