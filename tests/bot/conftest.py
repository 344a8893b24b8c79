"""Fixtures for end-to-end tests of the bot: fakes, and the real bot served over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.bot.harness import RunningBot, start_bot, stop_bot
from tests.fakes import FakeAnthropic, FakeSlack


@pytest.fixture
async def anthropic_api() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic(answer_tokens=12) as fake:
        yield fake


@pytest.fixture
def bot_db_url(database_url: str) -> str:
    """The bot's database: SQLite, and PostgreSQL too when TEST_DATABASE_URL is set."""
    return database_url


BotFactory = Callable[..., Awaitable[RunningBot]]


@pytest.fixture
async def make_bot(
    slack: FakeSlack, anthropic_api: FakeAnthropic, bot_db_url: str
) -> AsyncIterator[BotFactory]:
    started: list[RunningBot] = []

    async def make(*, offline: bool = False, **extra: Any) -> RunningBot:
        running = await start_bot(slack, None if offline else anthropic_api, bot_db_url, **extra)
        started.append(running)
        return running

    yield make
    for running in reversed(started):
        await stop_bot(running)


@pytest.fixture
async def running(make_bot: BotFactory) -> RunningBot:
    return await make_bot()
