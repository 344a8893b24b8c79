"""Replies that wait for their thread's first message (Slack delivered them before it): released once it
is handled, each taken once by whichever worker, intake or recovery pass asks first, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.store import InboundMessage, Store
from bot.store.waiting import released_statement
from tests.store.plans import query_plan
from tests.store.samples import decision, message

ROOT = message(ts="3.000001")


async def waiting_replies(store: Store, count: int) -> list[InboundMessage]:
    replies = [message(ts=f"3.{i:06d}", thread_ts=ROOT.ts) for i in range(2, 2 + count)]
    for reply in replies:
        assert await store.claim(reply, lease_seconds=600, waiting=True)
    return replies


async def test_a_waiting_reply_is_released_once_its_first_message_is_handled_not_before(store: Store) -> None:
    [reply] = await waiting_replies(store, 1)
    assert await store.take_released(ROOT) == [] and await store.take_released(reply) == []
    await store.claim(ROOT)
    await store.fail(ROOT, "Slack was down", retry_in_seconds=3600)  # pending: a retry comes first
    assert await store.take_released(ROOT) == [] and await store.take_stale() == []
    await store.complete(ROOT, decision(), reply_ts="3.9")
    assert await store.take_released(ROOT) == [reply.model_copy(update={"after_its_root": True})]
    assert await store.take_stale() == []  # leased to the worker that took it


async def test_released_replies_are_taken_once_under_a_race(store: Store) -> None:
    replies = await waiting_replies(store, 12)
    await store.claim(ROOT)
    await store.complete(ROOT, decision(), reply_ts="3.9")
    batches = await asyncio.gather(
        *(store.take_released(ROOT) for _ in range(4)),
        *(store.take_released(reply) for reply in replies[::3]),
        *(store.take_stale(limit=5) for _ in range(3)),
    )
    taken = [msg.ts for batch in batches for msg in batch]
    assert len(taken) == len(set(taken))  # none taken twice
    # A recovery pass releases every rooted reply but takes up to its limit: on PostgreSQL the others,
    # released while the worker's look was skipping the rows it had locked, are the next pass's.
    taken += [msg.ts for msg in await store.take_stale(limit=len(replies))]
    assert sorted(taken) == [reply.ts for reply in replies]  # none lost


async def test_the_look_for_a_threads_waiting_replies_reads_its_index_entries(store: Store) -> None:
    """Made after every first message of a thread is handled: it must not read every reply waiting."""
    plan = await query_plan(store, released_statement(ROOT, datetime.now(UTC)))
    assert "ix_inbound_messages_state_thread" in plan, plan
