"""Migrations that change the data already in the log (0008, 0009, 0015, 0021, 0022) leave it as the bot
would have written it: checked on rows written at the revision before each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import Store
from bot.store.migrate import alembic_config
from bot.store.tables.decisions import routing_decisions
from bot.store.tables.feedback import route_feedback
from bot.store.tables.rollups import daily_latencies, daily_rollups

T = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _old_decision(channel: str | None, ts: str | None, source: str, **extra: Any) -> dict[str, Any]:
    return {
        "channel_id": channel,
        "message_ts": ts,
        "query": "q",
        "category": "General Question",
        "confidence": 0.9,
        "reasoning": "r",
        "escalated": False,
        "escalation_reason": None,  # every row names every column: one executemany
        "source": source,
        "offline": False,
        "routing_ms": 100.0,
        "handling_ms": 500.0,
        "total_ms": 600.0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_tokens": 0,
        "cache_creation_tokens": 0,
        "cost_usd": 0.0,
        "routes_version": "v1",
        "created_at": T,
    } | extra


def _run(url: str, work: Callable[[AsyncConnection], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        store = await Store.connect(url)
        try:
            async with store.engine.begin() as conn:
                return await work(conn)
        finally:
            await store.close()

    return asyncio.run(go())


def test_0008_fills_in_the_reply_times_of_the_decisions_in_the_log(database_url: str) -> None:
    """The customer's wait is created_at less message_ts; the rollups and histograms get it, and the
    router's histograms lose the files alone and give-ups (back on a downgrade)."""
    config = alembic_config(database_url)
    command.upgrade(config, "0007")
    ts = T.timestamp()
    rows = [
        _old_decision("C0X", f"{ts - 2.5:.6f}", "claude"),
        _old_decision("C0X", f"{ts - 1:.6f}", "none", escalated=True, escalation_reason="no_text"),
        _old_decision("C0X", f"{ts - 30:.6f}", "fallback", escalated=True, escalation_reason="handler_error"),
        _old_decision("C0X", f"{ts - 100:.6f}", "agent"),  # a re-route: nobody waited for it
        _old_decision("demo", None, "local"),
        _old_decision("C0X", "not-a-ts", "claude"),
    ]

    async def insert(conn: AsyncConnection) -> None:
        await conn.execute(routing_decisions.insert(), rows)
        ids = (await conn.execute(select(routing_decisions.c.id).order_by(routing_decisions.c.id))).scalars()
        first, file_alone = list(ids)[:2]
        verdicts = [
            {
                "decision_id": i,
                "agent_id": "U0AGENT",
                "verdict": "rerouted",
                "category": "General Question",
                "routed_category": "Refund Request",
                "channel_id": "C0X",
                "decided_at": T,
                "created_at": T,
            }
            for i in (first, file_alone)
        ]
        await conn.execute(route_feedback.insert(), verdicts)

    async def counted(conn: AsyncConnection) -> list[bool]:
        f = route_feedback
        return list((await conn.execute(select(f.c.classified).order_by(f.c.decision_id))).scalars())

    async def read(conn: AsyncConnection) -> tuple[Any, ...]:
        d, r, h = routing_decisions, daily_rollups, daily_latencies
        replies = (await conn.execute(select(d.c.reply_ms).order_by(d.c.id))).scalars().all()
        rolled = (await conn.execute(select(func.sum(r.c.reply_ms), func.sum(r.c.replies)))).one()
        everywhere = h.c.channel_id == "*"
        counts = (
            await conn.execute(select(func.sum(h.c.routing), func.sum(h.c.reply)).where(everywhere))
        ).one()
        return replies, tuple(rolled), tuple(counts)

    def routing_count(conn: AsyncConnection) -> Awaitable[Any]:
        h = daily_latencies
        return conn.scalar(select(func.sum(h.c.routing)).where(h.c.channel_id == "*"))

    _run(database_url, insert)
    assert _run(database_url, routing_count) == 5  # 0002's trigger: every decision but the agent's
    command.upgrade(config, "head")
    replies, rolled, counts = _run(database_url, read)
    assert replies == [pytest.approx(2500), pytest.approx(1000), pytest.approx(30000), None, None, None]
    assert rolled == (pytest.approx(33500), 3)
    assert counts == (3, 3)  # routing: the two classified and the demo's; reply: the three customers'
    assert _run(database_url, counted) == [True, False]  # a verdict on a file alone is not the classifier's
    command.downgrade(config, "0007")
    assert _run(database_url, routing_count) == 5
    command.upgrade(config, "head")
    command.check(config)


def test_0009_marks_the_decisions_without_times_and_the_follow_ups_in_the_log(database_url: str) -> None:
    """A reply recovered after a restart and a give-up are marked unmeasured (the recovered one leaves the
    router's histograms, back on a downgrade); a customer's decision after another in its thread is a
    follow-up; the rollups count both."""
    config = alembic_config(database_url)
    command.upgrade(config, "0008")
    minute = timedelta(minutes=1)

    def row(channel: str, ts: str, thread: str, source: str, **extra: Any) -> dict[str, Any]:
        fields = {"thread_ts": thread, "error": None, "created_at": T}
        return _old_decision(channel, ts, source, **(fields | extra))

    rows = [
        row("C0X", "1.1", "1.1", "claude"),
        row("C0X", "1.2", "1.1", "claude", created_at=T + minute),  # a follow-up
        row("C0X", "1.1", "1.1", "agent", created_at=T + 2 * minute),  # a re-route: neither
        row("C0X", "2.1", "2.1", "claude", routing_ms=0.0, handling_ms=0.0, total_ms=0.0,
            error="recovered after restart; timings and tokens of the original attempt were lost"),
        row("C0X", "3.1", "3.1", "fallback", escalated=True, escalation_reason="handler_error"),  # a give-up
        row("C0Y", "1.1", "1.1", "claude"),  # the same ts in another channel: a thread of its own
    ]  # fmt: skip

    async def insert(conn: AsyncConnection) -> None:
        await conn.execute(routing_decisions.insert(), rows)

    def routing_count(conn: AsyncConnection) -> Awaitable[Any]:
        h = daily_latencies
        return conn.scalar(select(func.sum(h.c.routing)).where(h.c.channel_id == "*"))

    async def read(conn: AsyncConnection) -> tuple[Any, ...]:
        d, r = routing_decisions, daily_rollups
        flags = (await conn.execute(select(d.c.measured, d.c.follow_up).order_by(d.c.id))).all()
        counts = (await conn.execute(select(func.sum(r.c.unmeasured), func.sum(r.c.follow_ups)))).one()
        return [tuple(f) for f in flags], tuple(counts)

    _run(database_url, insert)
    assert _run(database_url, routing_count) == 4  # 0008: the recovered reply's 0 ms among the times
    command.upgrade(config, "head")
    flags, counts = _run(database_url, read)
    assert flags == [
        (True, False),
        (True, True),
        (True, False),
        (False, False),
        (False, False),
        (True, False),
    ]
    assert counts == (2, 1)
    assert _run(database_url, routing_count) == 3
    command.downgrade(config, "0008")
    assert _run(database_url, routing_count) == 4
    command.upgrade(config, "head")
    command.check(config)


def test_0015_marks_the_thank_yous_in_the_log_and_takes_them_out_of_the_handling_time(
    database_url: str,
) -> None:
    """A customer's decision answered in 0 ms by no handler (not offline, not a stand-in) is a thank-you:
    marked, counted in its rollup, out of the handling histogram (back in it on a downgrade)."""
    config = alembic_config(database_url)
    command.upgrade(config, "0014")

    def row(ts: str, source: str, handling_ms: float, **extra: Any) -> dict[str, Any]:
        # Every row names every column: one executemany.
        fields = {"handler_model": None, "answer": None, "measured": True, "handling_ms": handling_ms}
        return _old_decision("C0X", ts, source, **(fields | extra))

    rows = [
        row("1.1", "claude", 500.0, handler_model="claude-sonnet-5-5", answer="Try this."),
        row("1.2", "claude", 0.0, answer="You're welcome!"),  # a thank-you
        row("2.1", "local", 0.0),  # a thank-you the log kept no text of
        row("3.1", "local", 0.2, offline=True, answer="Our offline reply"),
        row("4.1", "agent", 0.0),  # a re-route: nobody thanked
        row("5.1", "claude", 0.0, measured=False),  # recovered after a restart
    ]

    async def insert(conn: AsyncConnection) -> None:
        await conn.execute(routing_decisions.insert(), rows)

    def handling_count(conn: AsyncConnection) -> Awaitable[Any]:
        h = daily_latencies
        return conn.scalar(select(func.sum(h.c.handling)).where(h.c.channel_id == "*"))

    async def read(conn: AsyncConnection) -> tuple[Any, ...]:
        d, r = routing_decisions, daily_rollups
        flags = (await conn.execute(select(d.c.acknowledgement).order_by(d.c.id))).scalars().all()
        return list(flags), await conn.scalar(select(func.sum(r.c.acknowledgements)))

    _run(database_url, insert)
    assert _run(database_url, handling_count) == 4  # 0009: every measured customer's answer
    command.upgrade(config, "head")
    assert _run(database_url, read) == ([False, True, True, False, False, False], 2)
    assert _run(database_url, handling_count) == 2
    command.downgrade(config, "0014")
    assert _run(database_url, handling_count) == 4
    command.upgrade(config, "head")
    command.check(config)


def test_0021_counts_the_withdrawn_and_the_stopped_in_the_log_and_drops_the_withdrawn_waits(
    database_url: str,
) -> None:
    """Decisions on messages deleted before the reply are counted as withdrawn in their rollups, with no
    wait for a reply (nothing was posted) and, for a thank-you, not among the thank-yous; the answers
    the customer stopped are counted, but not one stopped by its deletion."""
    config = alembic_config(database_url)
    command.upgrade(config, "0020")
    ts = T.timestamp()

    def row(n: int, **extra: Any) -> dict[str, Any]:
        fields = {"withdrawn": False, "stopped_by_customer": False, "acknowledgement": False}
        return _old_decision("C0X", f"{ts - 10:.6f}", "claude", **(fields | {"reply_ms": 1000.0 * n} | extra))

    rows = [
        row(1),
        row(2, stopped_by_customer=True),
        row(3, stopped_by_customer=True, withdrawn=True),  # deleted while it streamed
        row(4, escalated=True, escalation_reason="low_confidence", withdrawn=True),
        row(5, handling_ms=0.0, acknowledgement=True),
        row(6, handling_ms=0.0, acknowledgement=True, withdrawn=True),
    ]

    async def insert(conn: AsyncConnection) -> None:
        await conn.execute(routing_decisions.insert(), rows)

    async def read(conn: AsyncConnection) -> tuple[Any, ...]:
        d, r, h = routing_decisions, daily_rollups, daily_latencies
        waits = (await conn.execute(select(d.c.reply_ms).order_by(d.c.id))).scalars().all()
        sums = [func.sum(r.c[name]) for name in ("withdrawn", "stopped", "acknowledgements", "replies")]
        rolled = (await conn.execute(select(*sums, func.sum(r.c.reply_ms)))).one()
        times = select(func.sum(h.c.handling), func.sum(h.c.reply)).where(h.c.channel_id == "*")
        return list(waits), tuple(rolled), tuple((await conn.execute(times)).one())

    async def thanks_and_handling(conn: AsyncConnection) -> tuple[Any, ...]:
        r, h = daily_rollups, daily_latencies
        handling = select(func.sum(h.c.handling)).where(h.c.channel_id == "*").scalar_subquery()
        return tuple((await conn.execute(select(func.sum(r.c.acknowledgements), handling))).one())

    _run(database_url, insert)
    assert _run(database_url, thanks_and_handling) == (2, 3)  # 0015: every thank-you out of handling
    command.upgrade(config, "0021")
    waits, rolled, counts = _run(database_url, read)
    assert waits == [1000.0, 2000.0, None, None, 5000.0, None]
    assert rolled == (3, 1, 1, 3, pytest.approx(8000.0))
    # Handling: the two answers, the one withdrawn as it streamed and the withdrawn thank-you's 0 ms.
    assert counts == (4, 3)
    command.downgrade(config, "0020")
    assert _run(database_url, thanks_and_handling) == (2, 3)
    command.upgrade(config, "head")
    command.check(config)


def test_0022_takes_the_answers_cut_short_in_the_log_out_of_the_handling_and_total_times(
    database_url: str,
) -> None:
    """An answer stopped before its end (by its customer, or by its message's deletion) leaves the
    handling and total sums and histograms, and is counted in ``cut_short``; its routing time stays.
    A downgrade puts them back."""
    config = alembic_config(database_url)
    command.upgrade(config, "0021")
    ts = f"{T.timestamp() - 10:.6f}"
    flags = {"withdrawn": False, "stopped_by_customer": False, "acknowledgement": False}
    rows = [
        _old_decision("C0X", ts, "claude", **flags),
        _old_decision("C0X", ts, "claude", **(flags | {"stopped_by_customer": True, "handling_ms": 100.0})),
        _old_decision("C0X", ts, "claude", **(flags | {"stopped_by_customer": True, "withdrawn": True})),
    ]

    async def insert(conn: AsyncConnection) -> None:
        await conn.execute(routing_decisions.insert(), rows)

    async def read(conn: AsyncConnection) -> tuple[Any, ...]:
        r, h = daily_rollups, daily_latencies
        sums = [func.sum(r.c[n]) for n in ("routing_ms", "handling_ms", "total_ms")]
        counts = [func.sum(h.c[m]) for m in ("routing", "handling", "total")]
        rolled = (await conn.execute(select(*sums))).one()
        histograms = (await conn.execute(select(*counts).where(h.c.channel_id == "*"))).one()
        return tuple(rolled), tuple(histograms)

    async def cut_short(conn: AsyncConnection) -> Any:
        return await conn.scalar(select(func.sum(daily_rollups.c.cut_short)))

    _run(database_url, insert)
    assert _run(database_url, read) == ((300.0, 1100.0, 1800.0), (3, 3, 3))
    command.upgrade(config, "head")
    assert _run(database_url, read) == ((300.0, 500.0, 600.0), (3, 1, 1))
    assert _run(database_url, cut_short) == 2
    _run(database_url, insert)  # the trigger counts them alike
    assert _run(database_url, read) == ((600.0, 1000.0, 1200.0), (6, 2, 2))
    assert _run(database_url, cut_short) == 4
    command.downgrade(config, "0021")
    assert _run(database_url, read) == ((600.0, 2200.0, 3600.0), (6, 6, 6))
    command.upgrade(config, "head")
    command.check(config)
