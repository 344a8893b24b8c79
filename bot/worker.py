"""Runs claimed messages concurrently, retries the ones that failed, and finishes them after a crash.

Conversations run side by side, but the messages of one conversation (a thread, or a whole DM) are
answered one after another, in the order they were claimed: a customer's quick second message is
answered knowing the bot's answer to the first, or not at all if the first was handed to a person
(``bot.turns`` keeps that order).

Each message holds a lease in the store from the moment it is submitted (waiting its turn included),
renewed by a heartbeat; a message whose worker died (lease ran out) or whose reply could not be posted
is taken again by the recovery loop of any replica. A customer's reply that Slack delivered before its
thread's first message waits in the store, and the worker that handles that message starts it next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from bot.conversation import Conversations
from bot.intake import is_direct, is_thread_reply
from bot.slack_errors import failure, refused_for_good
from bot.store.errors import DatabaseError
from bot.store.records import InboundMessage
from bot.store.repository import Store
from bot.turns import Turns

logger = logging.getLogger(__name__)

MAX_RETRY_DELAY_SECONDS = 300.0


def retry_delay(attempts: int, base_seconds: float) -> float:
    """Seconds before a failed message is tried again: base, 2×base, 4×base … capped at 5 minutes."""
    return float(min(MAX_RETRY_DELAY_SECONDS, base_seconds * 2**attempts))


class Worker:
    """Schedules :meth:`Conversations.handle` for claimed messages, at most ``concurrency`` at once."""

    def __init__(
        self,
        conversations: Conversations,
        store: Store,
        *,
        concurrency: int,
        lease_seconds: float,
        recovery_interval: float,
        max_attempts: int = 6,
        retry_base_seconds: float = 5.0,
    ) -> None:
        self._conversations = conversations
        self._store = store
        self._slots = asyncio.Semaphore(concurrency)
        self._lease = lease_seconds
        self._recovery_interval = recovery_interval
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._tasks: set[asyncio.Task[Any]] = set()
        # The messages this worker is on (team, channel, ts), submitted and not yet finished.
        self._working: set[tuple[str, str, str]] = set()
        self._recovery: asyncio.Task[None] | None = None
        self.turns = Turns(store, lease_seconds)

    def submit(self, msg: InboundMessage, *, recovered: bool = False) -> asyncio.Task[None]:
        """Start working on ``msg`` in the background.

        ``recovered``: the message was taken again after a failure or a crash.
        """
        key = msg.key
        self._working.add(key)
        work = self._run(msg, recovered)
        task = asyncio.create_task(work, name=f"message {msg.channel_id}/{msg.ts}")
        self._track(task)
        task.add_done_callback(lambda _: self._working.discard(key))
        return task

    def run_aside(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` (a side task of the bot's: a note to an agent) in the background, in flight as a
        message is: :meth:`drain` waits for it. It must handle its own errors."""
        self._track(asyncio.create_task(work, name=name))

    def keep_in_flight(self) -> None:
        """Count the calling task as work in flight: a Slack listener's work after its ack (Bolt runs it in
        a task of its own) is finished by :meth:`drain` as a message's is, not cut off by the shutdown
        that closes the database under it."""
        task = asyncio.current_task()
        if task is not None:
            self._track(task)

    def _track(self, task: asyncio.Task[Any]) -> None:
        """In flight until it ends: :attr:`in_flight` counts it and :meth:`drain` waits for it."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, msg: InboundMessage, recovered: bool) -> None:
        # The lease is renewed while the message waits too, so no recovery pass takes it meanwhile.
        heartbeat = asyncio.create_task(self._heartbeat(msg))
        try:
            # The store first, holding nothing: an earlier message waiting there for a retry must be
            # able to take this conversation's turn when it comes back.
            waited_elsewhere = await self.turns.after_earlier(msg)
            async with self.turns.turn(msg) as waited_turn:
                waited_slot = self._slots.locked()
                async with self._slots:
                    waited = waited_turn or waited_elsewhere or waited_slot or msg.after_its_root
                    await self._conversations.handle(msg, recovered=recovered, waited=waited)
        except Exception as e:  # the one catch-all: nothing claimed is ever dropped
            await self._failed(msg, e)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        if not (is_thread_reply(msg) or is_direct(msg)):
            await self._release_replies(msg)

    async def _release_replies(self, root: InboundMessage) -> None:
        """Answer now the customer's replies in ``root``'s thread that Slack delivered before it and that
        waited for it (``Intake._before_its_root``), if ``root`` is handled (still pending, it awaits a
        retry: they wait on). Submitted from ``root``'s task, they are in flight before it ends. Should
        this fail, or the process stop first, a recovery pass releases them (``Store.take_stale``)."""
        try:
            replies = await self._store.take_released(root, self._lease)
        except Exception as e:
            logger.warning("could not release the replies waiting for %s/%s: %s", root.channel_id, root.ts, e)
            return
        for reply in replies:
            self.submit(reply)

    async def _heartbeat(self, msg: InboundMessage) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await self._store.extend_lease(msg, self._lease)
            except Exception as e:
                logger.warning("could not renew the lease of %s/%s: %s", msg.channel_id, msg.ts, e)

    async def _failed(self, msg: InboundMessage, error: Exception) -> None:
        description = failure(error)[:500]
        attempts = msg.attempts + 1
        try:
            if attempts >= self._max_attempts or refused_for_good(error):
                # A message Slack refuses for its size or shape would be refused again: a person now,
                # not after every retry's back-off.
                logger.error(
                    "giving up on %s/%s after %d attempt(s): %s",
                    msg.channel_id,
                    msg.ts,
                    attempts,
                    description,
                )
                await self._give_up(msg, description)
            else:
                delay = retry_delay(msg.attempts, self._retry_base)
                logger.warning(
                    "message %s/%s failed (%s); retrying in %.0f s",
                    msg.channel_id,
                    msg.ts,
                    description,
                    delay,
                )
                await self._store.fail(msg, description, delay)
        except Exception:
            # The lease will run out and the recovery loop will take the message again.
            logger.exception("could not record the failure of %s/%s", msg.channel_id, msg.ts)

    async def _give_up(self, msg: InboundMessage, description: str) -> None:
        # A person still hears about it; only if even that cannot be posted is the message abandoned.
        try:
            await self._conversations.give_up(msg, description)
        except Exception as e:
            logger.error("could not escalate %s/%s either: %s", msg.channel_id, msg.ts, type(e).__name__)
            await self._store.abandon(msg, description)

    async def recover(self, *, include_leased: bool = False) -> int:
        """Take every pending message whose lease ran out and start it; returns how many."""
        taken = await self._store.take_stale(
            limit=500, lease_seconds=self._lease, include_leased=include_leased
        )
        # One whose lease lapsed while this worker is still on it (its heartbeat was late: a stalled loop)
        # is left to the task answering it, whose heartbeat renews the new lease. Started again, it waited
        # behind itself for its conversation's turn, then read its thread for the reply once more (a
        # second answer if that read missed it), and the turn's bookkeeping failed it with a KeyError.
        messages = [msg for msg in taken if msg.key not in self._working]
        for msg in messages:
            self.submit(msg, recovered=True)
        if messages:
            logger.info("resuming %d pending message(s)", len(messages))
        return len(messages)

    async def start(self, *, sole_worker: bool) -> None:
        """Resume pending messages, then keep looking for stale ones.

        Call before taking new messages: a sole worker (SQLite: one process) also resumes messages
        still leased by its previous, dead self, which must not include any it is about to claim.
        """
        await self.recover(include_leased=sole_worker)
        self._recovery = asyncio.create_task(self._recovery_loop(), name="recovery")

    async def _recovery_loop(self) -> None:
        # A database down (DatabaseError at every pass) is told once, and its end once: a traceback at
        # every pass buried the log for as long as the outage lasted. Anything else keeps its traceback.
        database_down = False
        while True:
            await asyncio.sleep(self._recovery_interval)
            try:
                await self.recover()
            except DatabaseError as e:
                if not database_down:
                    logger.warning(
                        "the recovery pass cannot read the database (%s); pending messages wait until it "
                        "can, looked for every %g s",
                        e,
                        self._recovery_interval,
                    )
                database_down = True
            except Exception:
                logger.exception("the recovery pass failed; trying again later")
            else:
                if database_down:
                    logger.info("the recovery pass reads the database again")
                database_down = False

    async def drain(self, grace_seconds: float = 30.0) -> None:
        """Stop the recovery loop and wait (up to ``grace_seconds``) for the messages in flight."""
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_seconds)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)
