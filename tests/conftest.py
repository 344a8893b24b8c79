"""Shared fixtures. Database: SQLite in a temporary folder always, PostgreSQL too when TEST_DATABASE_URL
is set (``.ci/run`` sets it); each test gets a database of its own."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import settings
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import make_url

from bot.store import Store, upgrade_async
from tests.fakes import BOT_TOKEN, FakeSlack

# No time limit on a generated example: speed is measured in benchmarks/, and on a busy shared host an
# example past hypothesis's 200 ms failed the suite for nothing the code did. The same examples on every
# run ("ci", the default): a suite that passes passes again, and CI does not fail on a case the change did
# not make. HYPOTHESIS_PROFILE=explore looks for new ones (random, five times as many); keep each it finds
# as an @example of its test.
settings.register_profile("ci", deadline=None, derandomize=True)
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
DATABASE_BACKENDS = ["sqlite", *(["postgresql"] if _POSTGRES_URL else [])]


def _run_in_thread(coroutine: Any) -> Any:
    # Fixtures may run while pytest-asyncio's loop exists; a private loop in a thread never clashes with it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A plain (sync-form) URL of an empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'routing.db'}"
        return
    assert _POSTGRES_URL is not None
    admin = make_url(_POSTGRES_URL).set(drivername="postgresql")
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin_dsn = admin.render_as_string(hide_password=False)
    _run_in_thread(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        _run_in_thread(_drop(admin_dsn, name))


async def _drop(admin_dsn: str, name: str) -> None:
    # FORCE ends sessions a test leaked, but a non-superuser may not end an autovacuum worker busy in the
    # database (InsufficientPrivilegeError); a plain DROP makes autovacuum step aside, so retry with it.
    try:
        await _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    except asyncpg.InsufficientPrivilegeError:
        pass
    for attempt in range(20):
        try:
            await _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}"')
            return
        except asyncpg.ObjectInUseError:
            if attempt == 19:
                raise
            await asyncio.sleep(0.5)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A connected Store on a database migrated to head."""
    await upgrade_async(database_url)
    connected = await Store.connect(database_url)
    try:
        yield connected
    finally:
        await connected.close()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """The fake Slack Web API (and response_url receiver) on 127.0.0.1."""
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def web_client(slack: FakeSlack) -> AsyncWebClient:
    """slack_sdk's real client, with the bot's token, against the fake Slack."""
    return AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)
