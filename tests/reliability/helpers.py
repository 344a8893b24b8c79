"""Waiting on conditions (never on the clock) and reading back what the bot recorded and posted."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Table, select

from bot.reply_metadata import reply_part
from bot.store.repository import Store
from bot.store.tables.decisions import routing_decisions
from bot.store.tables.messages import inbound_messages
from tests.fakes import FakeSlack

if TYPE_CHECKING:
    from tests.bot.harness import RunningBot

# Generous: the suite runs on a shared, noisy 2-core machine. Only a real hang waits this long.
PATIENCE_SECONDS = 90.0


async def eventually(
    check: Callable[[], object | Awaitable[object]], what: str, patience: float = PATIENCE_SECONDS
) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` if it does not within ``patience`` seconds.

    ``check`` holds when what it returns (or, when that is awaitable, what it awaits to) is truthy: the
    replies found, the thread noticed, so that a test waits on the very thing it then reads.
    """
    deadline = time.monotonic() + patience
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.05)


async def rows(store: Store, table: Table = routing_decisions) -> list[dict[str, Any]]:
    async with store.reading() as conn:
        return [dict(row) for row in (await conn.execute(select(table))).mappings().all()]


async def pending_count(store: Store) -> int:
    return sum(row["state"] == "pending" for row in await rows(store, inbound_messages))


def outcomes(slack: FakeSlack, channel: str, ts: str) -> list[dict[str, Any]]:
    """The bot's answers and escalations for the message ``ts`` (a stream closed part-way is not one, and
    an answer in several messages is one: its last, once posted)."""
    found = []
    for reply in slack.thread_replies(channel, ts):
        payload = (reply.get("metadata") or {}).get("event_payload") or {}
        part = reply_part(reply) or (1, 1)
        if payload.get("message_ts") == ts and not payload.get("partial") and part[0] == part[1]:
            found.append(reply)
    return found


async def answered_later(running: RunningBot, event: dict[str, Any], what: str) -> None:
    """Wait until ``event``'s message has its answer (or escalation) in its thread and nothing is pending:
    what a failed attempt leaves for a later one to finish."""

    async def finished() -> bool:
        return bool(outcomes(running.slack, event["channel"], event["ts"])) and not await pending_count(
            running.store
        )

    await eventually(finished, what)
    await running.idle()


def unhandled_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """ERROR records (ours, Bolt's, asyncio's "Task exception was never retrieved") and any traceback."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info is not None
    ]
