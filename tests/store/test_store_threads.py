"""Thread states: the bot stays silent once a thread is escalated or taken over, until handed back."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, text

from bot.store import Store, ThreadState, upgrade_async
from bot.store.tables.threads import threads
from router.models import EscalationReason
from tests.store.samples import decision, message

KEY = ("T0001", "C0001", "1712345678.000100")
_turns = iter(range(1, 1_000_000))


async def answer(store: Store, category: str, escalated: bool) -> None:
    """The bot answers (or escalates) a new customer message in the thread, as the bot records it."""
    msg = message(f"1712345679.{next(_turns):06d}", thread_ts=KEY[2])
    assert await store.claim(msg)
    reason = EscalationReason.CATEGORY_RULE if escalated else None
    await store.complete(
        msg, decision(category=category, escalated=escalated, escalation_reason=reason), "9.9"
    )


async def test_an_unknown_thread_has_no_state(store: Store) -> None:
    assert await store.get_thread(*KEY) is None


async def test_an_answered_thread_lets_the_bot_speak(store: Store) -> None:
    await answer(store, "General Question", False)
    state = await store.get_thread(*KEY)
    assert state == ThreadState(
        customer_id="U0001", category="General Question", escalated=False, bot_answered=True
    )
    assert state is not None and not state.bot_silent


async def test_once_escalated_a_thread_stays_escalated(store: Store) -> None:
    await answer(store, "Refund Request", True)
    await answer(store, "General Question", False)
    state = await store.get_thread(*KEY)
    assert state is not None
    assert (state.category, state.escalated, state.bot_silent) == ("General Question", True, True)


async def test_an_agent_takes_over_and_hands_back(store: Store) -> None:
    await answer(store, "Technical Support", False)
    await store.take_over(*KEY, agent_id="UAGENT1")
    await store.take_over(*KEY, agent_id="UAGENT2")
    state = await store.get_thread(*KEY)
    assert state is not None
    assert (state.taken_over_by, state.bot_answered, state.bot_silent) == ("UAGENT1", True, True)

    await store.hand_back(*KEY)
    state = await store.get_thread(*KEY)
    assert state == ThreadState(
        customer_id="U0001", category="Technical Support", escalated=False, bot_answered=True
    )


async def test_take_over_of_a_thread_the_bot_never_answered(store: Store) -> None:
    await store.take_over(*KEY, agent_id="UAGENT1")
    state = await store.get_thread(*KEY)
    assert state == ThreadState(bot_answered=False, taken_over_by="UAGENT1")
    await store.hand_back("T0001", "C0001", "0.0")  # an unknown thread: nothing to do, no error
    assert await store.get_thread("T0001", "C0001", "0.0") is None


async def test_racing_upserts_keep_one_row(store: Store) -> None:
    await asyncio.gather(
        *(answer(store, "General Question", i == 3) for i in range(10)),
        *(store.take_over(*KEY, agent_id=f"UAGENT{i}") for i in range(5)),
    )
    state = await store.get_thread(*KEY)
    assert state is not None and state.escalated and state.bot_answered and state.taken_over_by


async def test_reads_do_not_wait_for_a_writer_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'routing.db'}"
    await upgrade_async(url)
    store = await Store.connect(url)
    try:
        await answer(store, "General Question", False)
        async with store.engine.begin() as writer:  # holds SQLite's write lock until the block ends
            await writer.execute(text("UPDATE threads SET category = 'Refund Request'"))
            state = await asyncio.wait_for(store.get_thread(*KEY), timeout=2)
            assert state is not None and state.category == "General Question"
            assert await asyncio.wait_for(store.ping(), timeout=2)
    finally:
        await store.close()


async def _escalation_times(store: Store) -> tuple[datetime | None, float | None, datetime | None]:
    """The thread's escalated_at, pickup_seconds and reminded_at (None, or set), read through the table's
    column types: raw SQL would give SQLite's timestamps as text."""
    t = threads
    async with store.engine.connect() as conn:
        row = (
            await conn.execute(
                select(t.c.escalated_at, t.c.pickup_seconds, t.c.reminded_at).where(t.c.thread_ts == KEY[2])
            )
        ).one()
    return tuple(row)


async def test_an_escalations_clock_runs_until_an_agent_picks_it_up_and_starts_again_after(
    store: Store,
) -> None:
    await answer(store, "General Question", False)
    assert await _escalation_times(store) == (None, None, None)
    await answer(store, "Refund Request", True)
    escalated_at, picked_up, _ = await _escalation_times(store)
    assert escalated_at is not None and picked_up is None
    await answer(store, "Refund Request", True)  # a follow-up escalated too: the same escalation
    assert (await _escalation_times(store))[0] == escalated_at
    await store.take_over(*KEY, agent_id="UAGENT1")
    _, picked_up, _ = await _escalation_times(store)
    assert picked_up is not None and 0 <= picked_up < 60  # seconds after the escalation
    await store.hand_back(*KEY)
    await answer(store, "General Question", False)  # answered again: the escalation stays on record
    assert await _escalation_times(store) == (escalated_at, picked_up, None)
    await asyncio.sleep(0.01)
    await answer(store, "Refund Request", True)  # a new escalation: a new clock, not picked up
    again, picked_up, _ = await _escalation_times(store)
    assert again is not None and again > escalated_at and picked_up is None


async def test_a_hand_back_picks_an_escalation_up(store: Store) -> None:
    await answer(store, "Refund Request", True)
    await store.hand_back(*KEY)
    escalated_at, picked_up, _ = await _escalation_times(store)
    assert escalated_at is not None and picked_up is not None


async def test_a_re_route_gives_the_thread_back_unless_another_agent_took_it_meanwhile(store: Store) -> None:
    msg = message()
    await store.claim(msg)
    await store.complete(
        msg, decision(escalated=True, escalation_reason=EscalationReason.LOW_CONFIDENCE), "1.2"
    )
    await store.take_over(msg.team_id, msg.channel_id, msg.thread_ts, "U0SAM")
    answered = decision(source="agent", escalated=False)
    await store.record_reroute(msg, answered, "1.3", by="U0ANN")
    thread = await store.get_thread(msg.team_id, msg.channel_id, msg.thread_ts)
    assert thread is not None and thread.taken_over_by == "U0SAM" and thread.bot_silent  # Sam's still
    await store.record_reroute(msg, answered, "1.4", by="U0SAM")
    thread = await store.get_thread(msg.team_id, msg.channel_id, msg.thread_ts)
    assert thread is not None and thread.taken_over_by is None and not thread.bot_silent
