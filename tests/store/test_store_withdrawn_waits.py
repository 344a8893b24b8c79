"""A wait for an agent ends when the customer deletes the one message it is about (``threads.waiting_on``,
migration 0024): idempotent, keyed by the thread and the deleted ts; a wait about more than one message,
or begun before 0024, is not ended by a deletion."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import insert, select, text

from bot.store import Store, check, upgrade
from bot.store.migrate import alembic_config
from bot.store.tables.threads import threads
from tests.store.samples import decision, message

TEAM, CHANNEL, ROOT = "T0001", "C0001", "1712345678.000100"
FOLLOW_UP = "1712345700.000100"
LATER = "1712345800.000100"


def due() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


async def escalated(store: Store, ts: str = ROOT) -> None:
    """The bot escalates the customer's message ``ts`` in the thread ``ROOT``, as it records it."""
    msg = message(ts, thread_ts=ROOT)
    assert await store.claim(msg)
    await store.complete(msg, decision(), "1712345690.000100")


async def waiting_on(store: Store) -> str | None:
    async with store.reading() as conn:
        return (await conn.execute(select(threads.c.waiting_on))).scalar_one()


async def test_deleting_the_escalated_message_ends_its_wait_once(store: Store) -> None:
    await escalated(store)
    assert await waiting_on(store) == ROOT
    assert len(await store.awaiting_agents(due())) == 1
    assert await store.withdraw_wait(TEAM, CHANNEL, ROOT, ROOT)
    assert not await store.withdraw_wait(TEAM, CHANNEL, ROOT, ROOT)  # Slack tells it again
    assert await store.awaiting_agents(due()) == []
    state = await store.get_thread(TEAM, CHANNEL, ROOT)
    assert state is not None and state.bot_silent  # still the agents' thread: the bot said a person comes


async def test_a_follow_up_escalated_is_what_its_wait_is_about(store: Store) -> None:
    await escalated(store, FOLLOW_UP)
    assert not await store.withdraw_wait(TEAM, CHANNEL, ROOT, ROOT)  # the thread's first message: not it
    assert not await store.withdraw_wait(TEAM, CHANNEL, FOLLOW_UP, FOLLOW_UP)  # not its thread
    assert await store.withdraw_wait(TEAM, CHANNEL, ROOT, FOLLOW_UP)
    assert await store.awaiting_agents(due()) == []


async def test_writing_again_after_withdrawing_an_escalation_waits_anew(store: Store) -> None:
    await escalated(store)
    assert await store.withdraw_wait(TEAM, CHANNEL, ROOT, ROOT)
    assert await store.customer_wrote(TEAM, CHANNEL, ROOT, LATER)
    [wait] = await store.customers_waiting(due())
    assert wait.wrote_again and wait.taken_over_by is None
    assert await store.withdraw_wait(TEAM, CHANNEL, ROOT, LATER)  # and that one may be withdrawn too
    assert await store.customers_waiting(due()) == []


async def test_a_wait_about_more_than_one_message_is_ended_by_no_deletion(store: Store) -> None:
    await escalated(store)
    assert not await store.customer_wrote(TEAM, CHANNEL, ROOT, ROOT)  # the same message told again
    assert await waiting_on(store) == ROOT
    assert not await store.customer_wrote(TEAM, CHANNEL, ROOT, LATER)  # no agent holds it: no new wait
    assert await waiting_on(store) is None
    assert not await store.withdraw_wait(TEAM, CHANNEL, ROOT, ROOT)
    assert not await store.withdraw_wait(TEAM, CHANNEL, ROOT, LATER)
    assert len(await store.awaiting_agents(due())) == 1


async def test_a_customers_wait_on_the_agent_holding_the_thread_ends_with_its_message(store: Store) -> None:
    await escalated(store)
    await store.take_over(TEAM, CHANNEL, ROOT, "UAGENT")
    assert await store.customer_wrote(TEAM, CHANNEL, ROOT, LATER)
    assert await store.withdraw_wait(TEAM, CHANNEL, ROOT, LATER)
    assert not await store.withdraw_wait(TEAM, CHANNEL, ROOT, LATER)
    assert await store.customers_waiting(due()) == []
    assert await store.awaiting_agents(due()) == []  # the escalation, picked up, does not wait again


async def test_a_new_escalation_after_a_hand_back_is_about_its_own_message(store: Store) -> None:
    await escalated(store)
    assert await store.withdraw_wait(TEAM, CHANNEL, ROOT, ROOT)
    await store.take_over(TEAM, CHANNEL, ROOT, "UAGENT")
    await store.hand_back(TEAM, CHANNEL, ROOT)
    await escalated(store, LATER)
    assert await waiting_on(store) == LATER
    assert len(await store.awaiting_agents(due())) == 1  # no longer withdrawn: a new escalation


def test_0024_leaves_the_waits_under_way_to_their_reminders(database_url: str) -> None:
    """Waits begun before 0024 name no message: a deletion ends none of them, and the look still finds
    them through the partial index rebuilt; down and up again, nothing is lost."""
    config = alembic_config(database_url)
    command.upgrade(config, "0023")
    then = datetime.now(UTC) - timedelta(hours=2)
    old = {"team_id": TEAM, "channel_id": CHANNEL, "bot_answered": True, "customer_id": "U0001"}
    escalation = old | {"thread_ts": ROOT, "escalated": True, "escalated_at": then}
    wrote_again = old | {"thread_ts": LATER, "taken_over_by": "UAGENT", "customer_waiting_since": then}
    asyncio.run(_insert(database_url, [escalation, wrote_again | {"escalated": False}]))
    command.upgrade(config, "head")
    check(database_url)
    assert "escalation_withdrawn_at IS NULL" in asyncio.run(_awaiting_agent_index(database_url))
    assert asyncio.run(_waits(database_url)) == (1, 1, False)
    command.downgrade(config, "0023")
    assert "escalation_withdrawn_at" not in asyncio.run(_awaiting_agent_index(database_url))
    upgrade(database_url)
    check(database_url)
    assert asyncio.run(_waits(database_url)) == (1, 1, False)


async def _insert(url: str, rows: list[dict[str, object]]) -> None:
    """``rows`` into threads at revision 0023: only their columns are written, none of 0024's."""
    store = await Store.connect(url)
    try:
        async with store.engine.begin() as conn:
            for row in rows:
                await conn.execute(insert(threads).values(row))
    finally:
        await store.close()


async def _awaiting_agent_index(url: str) -> str:
    """How the database defines ``ix_threads_awaiting_agent``: its partial condition among it."""
    store = await Store.connect(url)
    name = {"name": "ix_threads_awaiting_agent"}
    if store.is_sqlite:
        stmt = text("SELECT sql FROM sqlite_master WHERE name = :name")
    else:
        stmt = text("SELECT indexdef FROM pg_indexes WHERE indexname = :name")
    try:
        async with store.reading() as conn:
            return str((await conn.execute(stmt, name)).scalar_one())
    finally:
        await store.close()


async def _waits(url: str) -> tuple[int, int, bool]:
    """How many escalations and customers wait, and whether deleting the message each thread began
    with ended a wait."""
    store = await Store.connect(url)
    try:
        ended = await store.withdraw_wait(TEAM, CHANNEL, ROOT, ROOT)
        ended |= await store.withdraw_wait(TEAM, CHANNEL, LATER, LATER)
        return len(await store.awaiting_agents(due())), len(await store.customers_waiting(due())), ended
    finally:
        await store.close()
