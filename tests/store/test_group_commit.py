"""Claims arriving together share one transaction (group commit), on every database backend."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import event

from bot.store import Store
from bot.store.batching import Batcher
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
    assert commits <= 3  # the first claim's own, then everything that queued behind it
    assert await asyncio.gather(*(store.claim(m) for m in msgs)) == [False] * 100


async def test_the_same_message_twice_in_one_batch_is_claimed_by_its_first_delivery(store: Store) -> None:
    msg = message()
    other = message(channel_id="C0OTHER")
    results = await asyncio.gather(store.claim(other), store.claim(msg), store.claim(msg))
    assert results == [True, True, False]


async def test_items_that_arrive_during_a_flush_form_the_next_batch() -> None:
    batches: list[list[int]] = []
    release = asyncio.Event()

    async def flush(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            await release.wait()
        return [i * 10 for i in items]

    batcher: Batcher[int, int] = Batcher(flush)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    later = [asyncio.create_task(batcher.submit(i)) for i in (2, 3, 4)]
    await asyncio.sleep(0)
    release.set()
    assert await first == 10
    assert await asyncio.gather(*later) == [20, 30, 40]
    assert batches == [[1], [2, 3, 4]]


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
