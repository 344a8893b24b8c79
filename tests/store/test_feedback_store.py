"""Agent feedback in the store, and the rollups the stats read, kept by the database itself."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.store import Store
from bot.store.feedback import Verdict
from bot.store.tables.rollups import ALL_CHANNELS, daily_latencies, daily_rollups
from router.models import RoutingDecision

TEAM = "T0TEAM"


def _decision(category: str = "Refund Request", source: str = "claude", **extra: object) -> RoutingDecision:
    fields = {
        "query": "I want my money back",
        "category": category,
        "confidence": 0.9,
        "reasoning": "asks for a refund",
        "escalated": False,
        "source": source,
        "routing_ms": 123.4,
        "handling_ms": 1500.0,
        "total_ms": 1623.4,
        "routes_version": "v1",
    }
    return RoutingDecision.model_validate(fields | extra)


async def test_find_decision_returns_the_classifiers_decision_not_the_re_route(store: Store) -> None:
    first = await store.record(_decision(), team_id=TEAM, channel_id="C1", message_ts="1.5", thread_ts="1.5")
    await store.record(
        _decision("Technical Support", "agent"), team_id=TEAM, channel_id="C1", message_ts="1.5"
    )
    target = await store.find_decision(TEAM, "C1", "1.5")
    assert target is not None
    assert (target.decision_id, target.category) == (first, "Refund Request")
    assert target.answered_as == "Technical Support"  # what the customer has now: the re-route's answer
    assert (target.message.ts, target.message.thread_ts, target.message.text) == (
        "1.5",
        "1.5",
        "I want my money back",
    )
    assert await store.find_decision(TEAM, "C1", "9.9") is None
    assert await store.find_decision("T0OTHER", "C1", "1.5") is None


async def test_a_later_verdict_replaces_the_earlier_one(store: Store) -> None:
    await store.record(_decision(), team_id=TEAM, channel_id="C1", message_ts="2.5")
    target = await store.find_decision(TEAM, "C1", "2.5")
    assert target is not None
    await store.add_feedback(target, "U0AGENT1", Verdict.CORRECT)
    first = await store.get_feedback(target.decision_id)
    assert first is not None and (first.verdict, first.category) == (Verdict.CORRECT, None)
    await store.add_feedback(target, "U0AGENT2", Verdict.REROUTED, "Technical Support")
    second = await store.get_feedback(target.decision_id)
    assert second is not None
    assert (second.agent_id, second.verdict, second.category) == (
        "U0AGENT2",
        Verdict.REROUTED,
        "Technical Support",
    )


async def test_the_trigger_adds_every_decision_to_the_rollups(store: Store) -> None:
    await store.record(_decision(), team_id=TEAM, channel_id="C1", message_ts="3.1")
    await store.record(_decision(), team_id=TEAM, channel_id="C1", message_ts="3.2")
    await store.record(
        _decision(escalated=True, escalation_reason="low_confidence", handling_ms=0.0), channel_id="C2"
    )
    await store.record(_decision("Technical Support", "agent"), channel_id="C1")
    r, h = daily_rollups, daily_latencies
    async with store.reading() as conn:
        rows = (await conn.execute(select(r.c.channel_id, r.c.source, r.c.escalated, r.c.decisions))).all()
        histogram = (
            await conn.execute(
                select(h.c.channel_id, h.c.bucket, h.c.routing, h.c.handling, h.c.total).order_by(
                    h.c.channel_id, h.c.bucket
                )
            )
        ).all()
        total = (await conn.execute(select(func.sum(r.c.routing_ms)))).scalar_one()
    assert sorted((c, s, bool(e), n) for c, s, e, n in rows) == [
        ("C1", "agent", False, 1),
        ("C1", "claude", False, 2),
        ("C2", "claude", True, 1),
    ]
    assert total == 4 * 123.4
    # 123.4 ms counts in 120, 1500 in 1500, 1623.4 in 1600; handling only when answered; agents not at all.
    everyone = [(b, ro, ha, to) for c, b, ro, ha, to in histogram if c == ALL_CHANNELS]
    assert everyone == [(120.0, 3, 0, 0), (1500.0, 0, 2, 0), (1600.0, 0, 0, 3)]
    assert {c for c, *_ in histogram} == {"C1", "C2", ALL_CHANNELS}
