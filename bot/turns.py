"""Whose turn it is in a conversation: its messages are answered one at a time, in the order claimed.

In this replica a lock per conversation (a thread, or a whole DM) queues them; across replicas the store
does: a message waits while an earlier one of its conversation is pending there (another replica answering
it, or a retry to come), and an agent's re-route holds its message in the store while it is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from bot.intake import is_direct, is_thread_reply
from bot.store.records import InboundMessage
from bot.store.repository import Store

logger = logging.getLogger(__name__)
T = TypeVar("T")

# How long a message waits for an earlier one of its conversation still pending in the store (another
# replica answering it, or waiting for a retry), polled every ORDER_POLL_SECONDS, before going ahead.
ORDER_WAIT_SECONDS = 30.0
ORDER_POLL_SECONDS = 0.2
# How long an agent's re-route waits, in claim leases, for another replica's re-route of the same message.
AGENT_WAIT_LEASES = 10


def conversation_key(msg: InboundMessage) -> tuple[str, str, str]:
    """The conversation a message belongs to: its thread, or the whole DM (customers write on at the
    top level of a DM, and each message is read with the replies before it)."""
    return (msg.team_id, msg.channel_id, "" if is_direct(msg) else msg.thread_ts)


async def _poll(attempt: Callable[[], Awaitable[T | None]], seconds: float) -> tuple[T | None, bool]:
    """Call ``attempt`` every :data:`ORDER_POLL_SECONDS` until it gives a value, for ``seconds`` at most:
    that value (None when the time ran out) and whether it had to wait for it."""
    deadline = asyncio.get_running_loop().time() + seconds
    waited = False
    while (result := await attempt()) is None:
        if asyncio.get_running_loop().time() >= deadline:
            return None, waited
        waited = True
        await asyncio.sleep(ORDER_POLL_SECONDS)
    return result, waited


class Turns:
    """The turns of the conversations with messages in this worker, kept with the store's across replicas."""

    def __init__(self, store: Store, lease_seconds: float) -> None:
        self._store = store
        self._lease = lease_seconds
        # Per conversation with messages in this worker: its lock, and the ts of those holding or awaiting it.
        self._queues: dict[tuple[str, str, str], tuple[asyncio.Lock, set[str]]] = {}
        self._agent_turns = itertools.count()

    async def after_earlier(self, msg: InboundMessage) -> bool:
        """Wait while an earlier message of ``msg``'s conversation is pending in the store: another
        replica is answering it, or it awaits a retry. This worker's own, queued on the conversation's
        turn, are left to :meth:`turn`. Bounded by :data:`ORDER_WAIT_SECONDS`; returns whether it
        waited. A message that starts its own thread in a channel has no earlier one: no query."""
        direct = is_direct(msg)
        if not (direct or is_thread_reply(msg)):
            return False
        key = conversation_key(msg)

        async def clear() -> bool | None:
            """True once no earlier message is pending (None: one still is)."""
            besides = self._queues.get(key, (None, set()))[1]
            pending = await self._store.earlier_pending(msg, whole_channel=direct, besides=besides)
            return None if pending else True

        done, waited = await _poll(clear, ORDER_WAIT_SECONDS)
        if done is None:
            logger.warning("message %s/%s goes ahead of an earlier one still pending", msg.channel_id, msg.ts)
        return waited

    @contextlib.asynccontextmanager
    async def agent_turn(self, msg: InboundMessage) -> AsyncIterator[bool]:
        """Held while an agent's re-route of ``msg`` is answered: one re-route of it at a time, in this
        replica and across replicas (a hold in the store), so two agents choosing at once get one answer,
        not two; then after the conversation's messages in flight here. Yields whether it waited.

        The hold is taken first, holding nothing here: a customer's next message in the thread does not
        wait behind a click that waits for another replica."""
        holding, waited = await self._hold_answered(msg)
        hold = [holding]
        heartbeat = asyncio.create_task(self._keep_holding(msg, hold))
        try:
            async with self.turn(msg, token=f"agent {msg.ts} {next(self._agent_turns)}") as waited_turn:
                yield waited or waited_turn
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            if hold[0] is not None:
                try:
                    await self._store.release_answered(msg, hold[0])
                except Exception as e:  # the hold runs out by itself
                    logger.warning("could not release the re-route of %s/%s: %s", msg.channel_id, msg.ts, e)

    async def _hold_answered(self, msg: InboundMessage) -> tuple[datetime | None, bool]:
        """Wait until no other re-route of ``msg`` is being answered, then hold it: the hold's end (None:
        none taken) and whether it waited. A holder that died lets go when its lease runs out; a hold that
        never ends (a bug) is waited out for :data:`AGENT_WAIT_LEASES` leases at most."""
        holding, waited = await _poll(
            lambda: self._store.hold_answered(msg, self._lease), AGENT_WAIT_LEASES * self._lease
        )
        if holding is None:
            logger.warning("re-route of %s/%s goes ahead of another one still held", msg.channel_id, msg.ts)
        return holding, waited

    async def _keep_holding(self, msg: InboundMessage, hold: list[datetime | None]) -> None:
        """Renew the re-route's hold on ``msg`` (``hold[0]``, its end) while it is answered."""
        while hold[0] is not None:
            await asyncio.sleep(self._lease / 3)
            try:
                hold[0] = await self._store.hold_answered(msg, self._lease, holding=hold[0])
            except Exception as e:
                logger.warning("could not renew the re-route of %s/%s: %s", msg.channel_id, msg.ts, e)
                continue
            if hold[0] is None:
                logger.warning("the re-route of %s/%s outlasted its hold", msg.channel_id, msg.ts)

    @contextlib.asynccontextmanager
    async def turn(self, msg: InboundMessage, token: str | None = None) -> AsyncIterator[bool]:
        """Held while ``msg`` is handled: its conversation's earlier messages go first (FIFO). Yields
        whether it had to wait for one of them."""
        key = conversation_key(msg)
        lock, queued = self._queues.setdefault(key, (asyncio.Lock(), set()))
        token = token or msg.ts
        queued.add(token)
        try:
            waited = lock.locked()
            async with lock:
                yield waited
        finally:
            queued.discard(token)
            if not queued:
                del self._queues[key]
