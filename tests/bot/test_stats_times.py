"""The report's times (routing, handling, total and the customer's wait for a reply) against figures
worked out by hand: from the decisions and from the daily rollups and histograms alike, on SQLite and
PostgreSQL, and written in the unit they read best in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.stats import StatsReport, build, build_report, parse_arguments
from bot.stats.blocks import report_blocks
from bot.stats.percentiles import histogram_statements, histograms
from bot.stats.queries import split_period
from bot.stats.report import Timing
from bot.store import Store, repository
from tests.bot.report_text import code_rows, section_text, terminal_text
from tests.bot.stats_samples import NOW, TEAM, decision, file_alone, gave_up, insert_old, seed
from tests.store.samples import message


async def test_whole_days_are_read_from_the_rollups(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Decisions of earlier days come from daily_rollups (kept by the trigger) with the same totals."""
    monkeypatch.setattr(build, "EXACT_LIMIT", 0)  # as with many messages: percentiles from histograms
    now = datetime.now(UTC)
    for i in range(20):
        when = now - timedelta(days=3, minutes=i)
        d = decision(
            "Refund Request" if i % 4 else "General Question", 0.5 + i / 40, "claude", 100 + 10 * i, 1000
        )
        await insert_old(store, when, d, "C0GENERAL" if i % 2 else "C0BILLING")
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


async def test_the_decisions_fall_in_the_same_latency_buckets_as_the_daily_histograms(store: Store) -> None:
    # Percentiles read a period's whole days from the trigger's histograms and its partial days from the
    # decisions: both must bucket alike (PostgreSQL's CAST rounds where the trigger's floor truncates).
    yesterday = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), datetime.min.time(), UTC)
    times = [0.567, 12.7, 99.99, 1234.5, 56_789.0, 123_456.0]
    for i, ms in enumerate(times):
        await insert_old(
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


async def _seed_waits(store: Store, monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    """Five customer messages answered or escalated at ``when`` after known waits (a file alone and a
    give-up among them), an agent's re-route and a chat decision, which have no wait."""
    monkeypatch.setattr(repository, "utcnow", lambda: when)
    rows = [
        (1.5, decision("General Question", 0.95, "claude", 100, 1000)),
        (4.0, decision("General Question", 0.85, "local", 2, 800)),  # a failed post, retried
        (0.5, decision("Refund Request", 0.55, "claude", 300, 0, escalated=True,
                       escalation_reason="low_confidence")),
        (62.0, gave_up()),
        (0.25, file_alone()),
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
    rows = code_rows(blocks, "*Time*")
    assert rows[0].split() == ["average", "p50", "p95"]
    assert rows[-1].split()[:3] == ["reply", "13.7", "s"]
    terminal = terminal_text(report)
    assert "reply" in terminal and "13.7 s" in terminal and "the customer's wait" in terminal

    channel = await build_report(store, parse_arguments("7d C0SUPPORT"))
    assert (channel.reply.count, channel.reply.average_ms) == (5, pytest.approx(13650))
    chat = await build_report(store, parse_arguments("7d console"))
    assert (chat.messages, chat.reply.count, chat.reply.p50_ms) == (1, 0, None)


def test_long_waits_for_a_reply_read_in_seconds_minutes_and_hours_not_millions_of_ms() -> None:
    """After the bot was away for a morning, the customers' waits run to hours: "7,200,000 ms" is a number
    a manager has to work out before reading it."""
    report = StatsReport(
        period="24h",
        start=None,
        end=NOW,
        messages=30,
        routing=Timing(count=30, average_ms=4.26, p50_ms=12.4, p95_ms=950),
        reply=Timing(count=30, average_ms=2_403_100, p50_ms=8_300, p95_ms=7_200_000),
        total=Timing(count=30, average_ms=45_000, p50_ms=599_000, p95_ms=3_000_000),
    )
    rows = code_rows(report_blocks(report)[1], "*Time*")
    assert rows[1].split() == ["routing", "4.3", "ms", "12", "ms", "950", "ms"]
    assert rows[3].split() == ["total", "45.0", "s", "599.0", "s", "50", "min"]
    assert rows[4].split() == ["reply", "40", "min", "8,300", "ms", "2.0", "h"]
    # support-router stats prints the same report: the terminal read "2,403,100.0" under "Time, ms"
    [reply] = [line for line in terminal_text(report).splitlines() if line.strip().startswith("reply")]
    assert [cell.strip() for cell in reply.split("│")] == ["reply", "30", "40 min", "8,300 ms", "2.0 h"]


def test_a_p95_from_too_few_times_is_not_shown_as_if_it_were_one() -> None:
    """From two answers, the "p95" was the slower one's time all but a tenth of the gap: read as the time
    one customer in twenty waits longer than, it sent a manager after an outlier. From 20 times on it
    shows; below, "–" and a note say why."""
    report = StatsReport(
        period="24h",
        start=None,
        end=NOW,
        messages=20,
        routing=Timing(count=20, average_ms=100, p50_ms=90, p95_ms=250),
        handling=Timing(count=2, average_ms=1000, p50_ms=1000, p95_ms=1900),
        total=Timing(count=20, average_ms=1100, p50_ms=1000, p95_ms=2000),
    )
    _, blocks = report_blocks(report)
    rows = code_rows(blocks, "*Time*")
    assert rows[1].split()[-2:] == ["250", "ms"]
    assert rows[2].split() == ["handling", "1,000", "ms", "1,000", "ms", "–"]
    note = "p95 shows from 20 times up (–): from fewer, it is little more than the slowest one."
    assert note in section_text(blocks, "*Time*")
    printed = terminal_text(report)
    [handling] = [line for line in printed.splitlines() if line.strip().startswith("handling")]
    assert [cell.strip() for cell in handling.split("│")] == ["handling", "2", "1,000 ms", "1,000 ms", "–"]
    assert note in " ".join(printed.split())
    whole = report.model_copy(
        update={"handling": Timing(count=20, average_ms=1000, p50_ms=1000, p95_ms=1900)}
    )
    assert "p95 shows" not in str(report_blocks(whole)[1]) and "1,900 ms" in terminal_text(whole)
