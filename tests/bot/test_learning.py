"""The local model learns from history: kept in the database, bounded, used from the next message on."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.formatting import ACTION_CORRECT
from bot.learning import Learner
from bot.store.repository import Store
from bot.store.tables.base import utcnow
from bot.store.tables.examples import learned_examples
from router.assemble import build_router
from router.models import RoutingDecision, Source
from router.routes_file import load_routes
from tests.bot.conftest import BotFactory
from tests.bot.harness import RunningBot
from tests.bot.test_feedback_actions import click
from tests.fakes import FakeAnthropic

ODD = "the zorblax gizmo keeps flickering"
AGENT = "U0AGENT"


def _decision(text: str, category: str, confidence: float, source: Source = Source.CLAUDE) -> RoutingDecision:
    return RoutingDecision(
        query=text,
        category=category,
        confidence=confidence,
        reasoning="r",
        escalated=False,
        source=source,
        routing_ms=1,
        handling_ms=1,
        total_ms=2,
        routes_version="v",
    )


async def _settle(learner: Learner) -> None:
    for _ in range(400):
        if learner._refit is None or learner._refit.done():
            return
        await asyncio.sleep(0.05)


async def test_only_trusted_examples_are_kept_and_bounded(store: Store) -> None:
    router = build_router(load_routes(), None)
    learner = Learner(router, store, min_confidence=0.9)
    await learner.note_decision(_decision("not sure", "Technical Support", 0.6))
    await learner.note_decision(_decision("a local guess", "Technical Support", 0.99, Source.LOCAL))
    assert await store.learned() == {}
    for i in range(4):
        await store.add_example("Refund Request", f"refund {i}", "agent", keep=3)
    assert await store.learned() == {"Refund Request": ["refund 1", "refund 2", "refund 3"]}
    await learner.stop()


async def test_a_text_teaches_one_category_the_agents_latest_word_winning(store: Store) -> None:
    text = "my card was charged but the app shows an error"
    await store.add_example("Refund Request", text, "claude", keep=10)
    await store.add_example("Refund Request", text, "claude", keep=10)  # the same message again
    assert await store.learned() == {"Refund Request": [text]}
    await store.add_example("Refund Request", text, "agent", keep=10)  # marked correct
    await store.add_example("Technical Support", text, "agent", keep=10)  # then re-routed
    assert await store.learned() == {"Technical Support": [text]}
    await store.add_example("Refund Request", text, "claude", keep=10)  # Claude does not overrule it
    assert await store.learned() == {"Technical Support": [text]}


async def test_learned_examples_refit_the_local_model_and_survive_a_restart(store: Store) -> None:
    routes = load_routes()
    router = build_router(routes, None)
    assert router.local is not None
    before = router.local.current
    learner = Learner(router, store, min_confidence=0.9)
    await learner.note_feedback("Technical Support", ODD)
    await learner.note_decision(_decision("my gizmo shows a zorblax error", "Technical Support", 0.97))
    await _settle(learner)
    assert router.local.current is not before
    assert ODD in router.local.current.examples("Technical Support")
    # A new process: the learnt examples come back from the database at start.
    restarted = build_router(routes, None)
    again = Learner(restarted, store, min_confidence=0.9)
    await again.start()
    await _settle(again)
    assert restarted.local is not None and ODD in restarted.local.current.examples("Technical Support")


async def test_claudes_confident_answers_teach_the_local_model(
    running: RunningBot, anthropic_api: FakeAnthropic
) -> None:
    anthropic_api.classify_fn = lambda text, categories: {
        "category": "Technical Support",
        "confidence": 0.96,
        "reasoning": "A device fault.",
        "wants_human": False,
    }
    router = running.bot.router
    assert router.local is not None
    event = await running.customer_says(ODD)
    await running.idle()
    assert len(running.replies(event)) == 1
    await _settle(running.bot.learner)
    assert ODD in router.local.current.examples("Technical Support")
    assert router.local.current.predict(ODD).category == "Technical Support"


async def test_a_follow_up_teaches_nothing_its_words_take_their_category_from_the_thread(
    running: RunningBot, anthropic_api: FakeAnthropic
) -> None:
    anthropic_api.classify_fn = lambda text, categories: {
        "category": "Technical Support",
        "confidence": 0.96,
        "reasoning": "The thread is about a device fault.",
        "wants_human": False,
    }
    event = await running.customer_says(ODD)
    await running.idle()
    await running.customer_says("yes please", thread_ts=event["ts"])
    await running.idle()
    await _settle(running.bot.learner)
    learned = await running.bot.store.learned()
    assert learned.get("Technical Support") == [ODD]  # not "yes please"


async def test_an_agents_verdict_on_a_follow_up_teaches_nothing_either(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = lambda text, categories: {
        "category": "Technical Support",
        "confidence": 0.85,
        "reasoning": "fairly sure",
        "wants_human": False,
    }  # under LEARN_MIN_CONFIDENCE: Claude's own decisions teach nothing
    event = await running.customer_says(ODD)
    await running.idle()
    follow_up = await running.customer_says("it's the blue one", thread_ts=event["ts"])
    await running.idle()
    told = await click(running, follow_up, ACTION_CORRECT, AGENT, "ok")
    assert "recorded as the right route" in told["text"]  # the verdict counts, in the accuracy
    await _settle(running.bot.learner)
    assert await running.bot.store.learned() == {}  # "it's the blue one" is no Technical Support question


async def test_examples_purged_from_the_store_leave_the_running_model(store: Store) -> None:
    """`db purge` runs in another process: the serving bot's model must not keep the customers' words it
    deleted (nor go on answering by them) until some new example happens to refit it."""
    router = build_router(load_routes(), None)
    assert router.local is not None
    learner = Learner(router, store, min_confidence=0.9)
    await learner.start()
    await learner.note_feedback("Technical Support", ODD)
    await _settle(learner)
    assert ODD in router.local.current.examples("Technical Support")
    assert not await learner.look()  # nothing changed under it: no refit
    async with store._transaction() as conn:
        await conn.execute(learned_examples.update().values(created_at=utcnow() - timedelta(days=100)))
    await store.purge(timedelta(days=90))
    assert await learner.look()
    await _settle(learner)
    assert ODD not in router.local.current.examples("Technical Support")
    await learner.stop()


async def test_what_another_replica_learnt_reaches_this_ones_model(store: Store) -> None:
    routes = load_routes()
    here, there = build_router(routes, None), build_router(routes, None)
    learners = [Learner(router, store, min_confidence=0.9) for router in (here, there)]
    for learner in learners:
        await learner.start()
    await learners[1].note_feedback("Technical Support", ODD)
    await _settle(learners[1])
    assert here.local is not None and ODD not in here.local.current.examples("Technical Support")
    assert await learners[0].look()
    await _settle(learners[0])
    assert ODD in here.local.current.examples("Technical Support")
    for learner in learners:
        await learner.stop()
