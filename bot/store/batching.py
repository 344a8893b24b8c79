"""Group commit: calls that arrive while a batch is being written wait and go together in the next one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Writes items in batches through ``flush(items) -> results`` (one result per item, in order).

    The first item starts a batch at once; items that arrive while it is written form the next batch.
    A burst of N callers thus costs a handful of transactions instead of N, and nobody waits for a timer.
    A failed batch fails each of its callers with the same exception.
    """

    def __init__(self, flush: Callable[[Sequence[T]], Awaitable[Sequence[R]]]) -> None:
        self._flush = flush
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain(), name="group commit")
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    results = await self._flush([item for item, _ in batch])
                except Exception as e:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(e)
                    continue
                except BaseException:  # cancelled (shutdown): so are the callers still waiting
                    for _, future in [*batch, *self._queue]:
                        future.cancel()
                    self._queue = []
                    raise
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._draining = None
