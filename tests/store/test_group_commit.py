"""Claims arriving together share one transaction (group commit), on every database backend."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import event

from bot.store import Store
from bot.store.batching import MAX_SETTLE_ROUNDS, Batcher
from tests.store.samples import message


async def test_a_burst_of_claims_is_written_in_a_few_transactions(store: Store) -> None:
    commits = 0

    def count(_connection: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(store.engine.sync_engine, "commit", count)
    try:
        msgs = [message(ts=f"1712345678.{i:06d}") for i in range(100)]
        results = await asyncio.gather(*(store.claim(m) for m in msgs))
    finally:
        event.remove(store.engine.sync_engine, "commit", count)
    assert results == [True] * 100
    assert commits == 1  # the whole burst in one transaction
    assert await asyncio.gather(*(store.claim(m) for m in msgs)) == [False] * 100


async def test_the_same_message_twice_in_one_batch_is_claimed_by_its_first_delivery(store: Store) -> None:
    msg = message()
    other = message(channel_id="C0OTHER")
    results = await asyncio.gather(store.claim(other), store.claim(msg), store.claim(msg))
    assert results == [True, True, False]


async def test_items_that_arrive_during_a_flush_form_the_next_batch() -> None:
    batches: list[list[int]] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def flush(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        started.set()
        if len(batches) == 1:
            await release.wait()
        return [i * 10 for i in items]

    batcher: Batcher[int, int] = Batcher(flush)
    first = asyncio.create_task(batcher.submit(1))
    await started.wait()
    later = [asyncio.create_task(batcher.submit(i)) for i in (2, 3, 4)]
    await asyncio.sleep(0)
    release.set()
    assert await first == 10
    assert await asyncio.gather(*later) == [20, 30, 40]
    assert batches == [[1], [2, 3, 4]]


def _echoing_batcher() -> tuple[Batcher[int, int], list[list[int]]]:
    """A batcher whose flush returns its items, and the batches it was given, in order."""
    batches: list[list[int]] = []

    async def flush(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        return list(items)

    return Batcher(flush), batches


async def test_items_that_arrive_over_a_few_turns_of_the_loop_share_one_batch() -> None:
    # As a burst's requests are parsed: the first reaches the batcher a few turns before the last.
    batcher, batches = _echoing_batcher()

    async def caller(turns: int) -> int:
        for _ in range(turns):
            await asyncio.sleep(0)
        return await batcher.submit(turns)

    assert await asyncio.gather(*(caller(turns) for turns in range(6))) == list(range(6))
    assert batches == [list(range(6))]


async def test_a_steady_stream_of_items_is_still_written_in_bounded_batches() -> None:
    batcher, batches = _echoing_batcher()
    pending = []
    for i in range(4 * MAX_SETTLE_ROUNDS):  # a new item at every turn of the loop
        pending.append(asyncio.create_task(batcher.submit(i)))
        await asyncio.sleep(0)
    assert await asyncio.gather(*pending) == list(range(4 * MAX_SETTLE_ROUNDS))
    assert len(batches) > 1 and batches[0][0] == 0
    assert max(len(batch) for batch in batches) <= MAX_SETTLE_ROUNDS + 1


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_still_runs() -> None:
    calls = 0

    async def flush(items: Sequence[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk gone")
        return [item.upper() for item in items]

    batcher: Batcher[str, str] = Batcher(flush)
    failed = await asyncio.gather(batcher.submit("a"), batcher.submit("b"), return_exceptions=True)
    assert [type(e) for e in failed] == [OSError, OSError]
    assert await batcher.submit("c") == "C"


async def test_a_caller_that_gives_up_does_not_stop_the_others() -> None:
    release = asyncio.Event()

    async def flush(items: Sequence[int]) -> list[int]:
        await release.wait()
        return list(items)

    batcher: Batcher[int, int] = Batcher(flush)
    quitter = asyncio.create_task(batcher.submit(1))
    stayer = asyncio.create_task(batcher.submit(2))
    await asyncio.sleep(0)
    quitter.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert await stayer == 2
