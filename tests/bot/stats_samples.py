"""Decisions and seeds for the /routing-stats tests: a decision made of its figures, a small log worked out
by hand (:func:`seed`) and the week before it to compare with, and decisions dated in the past, written
straight into the decision log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.escalations import gave_up_decision
from bot.store import Store
from bot.store.feedback import Verdict
from bot.store.tables.decisions import routing_decisions
from router.models import RoutingDecision, Usage
from router.routes_file import load_routes

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
        await insert_old(store, at + timedelta(minutes=i), d, "C0GENERAL", reply_ms=1000 * (i + 1))
    for i, verdict in enumerate([Verdict.CORRECT, Verdict.CORRECT, Verdict.REROUTED]):
        ts = f"{(at + timedelta(minutes=i)).timestamp():.6f}"
        target = await store.find_decision(TEAM, "C0GENERAL", ts)
        assert target is not None
        rerouted_to = "Refund Request" if verdict is Verdict.REROUTED else None
        await store.add_feedback(target, "U0AGENT", verdict, rerouted_to)
    return at


async def insert_old(
    store: Store, when: datetime, d: RoutingDecision, channel: str, reply_ms: float | None = None
) -> None:
    """Write ``d`` into the decision log as made at ``when`` in ``channel``: ``Store.record`` dates it now."""
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


def gave_up() -> RoutingDecision:
    """What ``Conversations.give_up`` records for a message it could not handle after every retry."""
    return gave_up_decision("q", "SlackApiError", ROUTES)


def file_alone() -> RoutingDecision:
    """What ``Router.route`` records for a message with no words (a file alone)."""
    return decision("General Question", 0.0, "none", 0.01, 0, escalated=True, escalation_reason="no_text")
