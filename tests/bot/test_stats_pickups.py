"""How soon agents pick up escalations, in /routing-stats: worked out by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.stats import build_report, parse_arguments
from bot.stats.blocks import report_blocks
from bot.stats.formats import when
from bot.stats.notes import PICKUP_NOTE, pickups_text
from bot.stats.queries import pickups_statement, split_period
from bot.store import Store
from bot.store.tables.threads import threads
from tests.bot.stats_samples import TEAM, decision
from tests.store.plans import query_plan

_ts = iter(range(1, 1000))


async def escalation(
    store: Store,
    channel: str,
    at: datetime,
    picked_up_after: timedelta | None,
    *,
    notice: bool = False,
    withdrawn: bool = False,
) -> None:
    """An escalated thread in ``channel``; ``notice``: a DM announced in the agents' channel;
    ``withdrawn``: the customer deleted the escalated message (before any pick-up, as the bot marks it)."""
    values = {
        "team_id": TEAM,
        "channel_id": channel,
        "thread_ts": f"1.{next(_ts)}",
        "escalated": picked_up_after is None,
        "bot_answered": True,
        "escalated_at": at,
        "pickup_seconds": None if picked_up_after is None else picked_up_after.total_seconds(),
        "updated_at": at,
        "notice_channel_id": "C0AGENTS" if notice else None,
        "notice_ts": f"2.{next(_ts)}" if notice else None,
        "escalation_withdrawn_at": at + timedelta(minutes=1) if withdrawn else None,
    }
    async with store.engine.begin() as conn:
        await conn.execute(threads.insert().values(values))


async def seed(store: Store) -> datetime:
    """In the last week: billing picked up after 5 min, 30 min and 3 h, and one waiting for 2 h; general
    picked up after 20 h; a DM announced in the agents' channel picked up after 10 min. Left out of a 7d
    report: a DM never announced there, waiting, and billing's escalation of 10 days ago.
    Returns when the waiting one was escalated."""
    now = datetime.now(UTC)
    for minutes in (5, 30, 180):
        await escalation(store, "C0BILLING", now - timedelta(days=1), timedelta(minutes=minutes))
    waiting = now - timedelta(hours=2)
    await escalation(store, "C0BILLING", waiting, None)
    await escalation(store, "C0GENERAL", now - timedelta(days=2), timedelta(hours=20))
    await escalation(store, "D0CUSTOMER", now - timedelta(hours=3), None)
    await escalation(store, "D0OTHER", now - timedelta(hours=5), timedelta(minutes=10), notice=True)
    await escalation(store, "C0BILLING", now - timedelta(days=10), timedelta(minutes=2))
    # A decision, so that the report has messages to show (a real escalation is one).
    escalated = decision(
        "Refund Request", 0.4, "claude", 100, 0, escalated=True, escalation_reason="low_confidence"
    )
    await store.record(
        escalated, team_id=TEAM, channel_id="C0BILLING", user_id="U1", message_ts="9.1", thread_ts="9.1"
    )
    return waiting


async def test_the_report_says_how_soon_agents_picked_up_escalations(store: Store) -> None:
    waiting = await seed(store)
    report = await build_report(store, parse_arguments("7d"))
    assert report.picked_up_within == {"15 min": 2, "1 h": 3, "4 h": 4}  # and one after 20 h
    # The one waiting for 2 h may yet be picked up within 4 h: not a miss of that time, not yet.
    assert report.pickup_bases == {"15 min": 6, "1 h": 6, "4 h": 5}
    assert (report.escalations_to_pick_up, report.picked_up, report.awaiting_agents) == (6, 5, 1)
    assert report.awaiting_since is not None and abs(report.awaiting_since - waiting) < timedelta(seconds=1)
    text = next(b["text"]["text"] for b in report_blocks(report)[1] if "Picked up" in str(b))
    assert text == (
        "*Picked up by agents*: 5 of 6 escalations · within 15 min 33.3% · within 1 h 50% · "
        f"within 4 h 80% {PICKUP_NOTE} · *1 of them still waiting*, "
        f"the longest since {when(report.awaiting_since)} UTC"
    )
    billing = await build_report(store, parse_arguments("30d <#C0BILLING|billing>"))
    assert billing.picked_up_within == {"15 min": 2, "1 h": 3, "4 h": 4}
    assert (billing.escalations_to_pick_up, billing.awaiting_agents) == (5, 1)


async def test_escalations_too_recent_to_have_missed_a_time_are_not_counted_as_its_misses(
    store: Store,
) -> None:
    """Ten escalations of the last ten minutes, none picked up yet: none has missed 15 minutes, an hour
    or four hours yet; the report said 0% of them were picked up within each."""
    now = datetime.now(UTC)
    for minutes in range(10):
        await escalation(store, "C0BILLING", now - timedelta(minutes=minutes), None)
    report = await build_report(store, parse_arguments("24h"))
    assert report.pickup_bases == {"15 min": 0, "1 h": 0, "4 h": 0}
    assert pickups_text(report, lambda text: text).startswith(
        "Picked up by agents: 0 of 10 escalations · within 15 min – · within 1 h – · within 4 h – "
        f"{PICKUP_NOTE} · 10 of them still waiting"
    )


async def test_the_readmes_example_of_pickups_is_one_the_report_can_show(store: Store) -> None:
    """35 of 42 picked up: 24 within 15 min, 8 more within 1 h, 3 more within 4 h; of the 7 waiting, 2
    for over 4 h, 3 for half an hour, 2 for 5 minutes."""
    now = datetime.now(UTC)
    for after in [5] * 24 + [30] * 8 + [180] * 3:
        await escalation(store, "C0BILLING", now - timedelta(days=1), timedelta(minutes=after))
    for ago in (300, 270, 30, 30, 30, 5, 5):
        await escalation(store, "C0BILLING", now - timedelta(minutes=ago), None)
    report = await build_report(store, parse_arguments("7d"))
    text = pickups_text(report, lambda text: text)
    longest = when(now - timedelta(minutes=300))
    assert text == (
        "Picked up by agents: 35 of 42 escalations · within 15 min 60% · within 1 h 86.5% · within 4 h 94.6% "
        f"{PICKUP_NOTE} · 7 of them still waiting, the longest since {longest} UTC"
    )
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert " ".join(text.replace(longest, "2026-11-26 09:14").split()) in " ".join(readme.split())


async def test_a_period_whose_escalations_agents_cannot_see_shows_no_line(store: Store) -> None:
    await seed(store)
    report = await build_report(store, parse_arguments("all <#D0CUSTOMER>"))
    assert report.escalations_to_pick_up == 0
    assert "Picked up" not in str(report_blocks(report)[1])


async def test_an_escalation_whose_message_the_customer_deleted_is_neither_missed_nor_waiting(
    store: Store,
) -> None:
    """The customer deleted the escalated question 5 hours ago and no agent acted: nobody waits, and the
    agents missed nothing; the report counted it among those still waiting, and as a miss of every time.
    One an agent picked up after all (they wrote in the thread anyway) counts as picked up."""
    now = datetime.now(UTC)
    await escalation(store, "C0BILLING", now - timedelta(hours=5), None, withdrawn=True)
    await escalation(store, "C0BILLING", now - timedelta(hours=6), timedelta(minutes=20), withdrawn=True)
    await escalation(store, "C0BILLING", now - timedelta(hours=7), None)
    report = await build_report(store, parse_arguments("24h"))
    assert (report.escalations_to_pick_up, report.picked_up, report.awaiting_agents) == (2, 1, 1)
    assert report.awaiting_since is not None
    assert abs(report.awaiting_since - (now - timedelta(hours=7))) < timedelta(seconds=1)
    assert pickups_text(report, lambda text: text).startswith(
        "Picked up by agents: 1 of 2 escalations · within 15 min 0% · within 1 h 50% · within 4 h 50% · "
        "1 of them still waiting"
    )


async def test_pickups_are_counted_from_their_index(store: Store) -> None:
    now = datetime.now(UTC)
    statement = pickups_statement(split_period(now - timedelta(days=7), now), now)
    plan = await query_plan(store, statement)
    assert "ix_threads_escalations" in plan
    if store.is_sqlite:  # every column it reads is in the index: no row of the table is read
        assert "COVERING INDEX ix_threads_escalations" in plan
