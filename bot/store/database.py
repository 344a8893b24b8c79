"""The connection side of the store: opening, health, and one transaction per operation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Self

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.redaction import TextMode
from bot.store.engine import make_engine, shown_database_url
from bot.store.errors import DatabaseError

logger = logging.getLogger(__name__)

PING_TIMEOUT = 5.0


class Database:
    """An async engine and the helpers every repository method uses."""

    def __init__(self, engine: AsyncEngine, *, message_text: TextMode = "full") -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._writers = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        # What the decision log keeps of customers' words once a message is done (STORE_MESSAGE_TEXT).
        self.message_text: TextMode = message_text

    @classmethod
    async def connect(cls, url: str, *, message_text: TextMode = "full") -> Self:
        """Open the database at ``url`` (plain or async form) and check that it answers; does not migrate.

        ``message_text``: what is kept of customers' words once answered (see :mod:`bot.redaction`).

        Raises:
            ValueError: the URL is not supported (the message names DATABASE_URL).
            DatabaseError: the database cannot be reached.
        """
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as e:
            await engine.dispose()
            shown = shown_database_url(url)
            raise DatabaseError(f"DATABASE_URL: cannot connect to {shown}: {type(e).__name__}: {e}") from e
        return cls(engine, message_text=message_text)

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine, for read-only reports (stats) and migrations of in-memory databases."""
        return self._engine

    @property
    def is_sqlite(self) -> bool:
        """Whether this is SQLite: one process owns the file, so it may take back its own leases at start."""
        return self._engine.dialect.name == "sqlite"

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    async def ping(self) -> bool:
        """Whether the database answers ``SELECT 1`` within :data:`PING_TIMEOUT` seconds (``/healthz``)."""
        try:
            async with asyncio.timeout(PING_TIMEOUT), self.reading() as conn:
                await conn.execute(text("SELECT 1"))
        except (DatabaseError, TimeoutError) as e:
            logger.warning("database ping failed: %s", e)
            return False
        return True

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        # SQLite has one writer at a time. Without this queue, a burst of writers in this process would
        # poll SQLite's busy handler while each lock holder waits for its turn on a crowded event loop,
        # and some would give up with "database is locked" after the busy timeout. In line here, they
        # wait their turn in order; the busy timeout is left for other processes (the CLI's purge).
        async with self._writers or contextlib.nullcontext():
            try:
                async with self._engine.begin() as conn:
                    yield conn
            except (SQLAlchemyError, OSError) as e:
                raise DatabaseError(f"database error: {type(e).__name__}: {e}") from e

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection for read-only queries (reports): on SQLite it takes no write lock.

        Errors are wrapped in :class:`DatabaseError`; nothing is committed.
        """
        try:
            async with self._engine.connect() as conn:
                yield await conn.execution_options(sqlite_begin="DEFERRED")
        except (SQLAlchemyError, OSError) as e:
            raise DatabaseError(f"database error: {type(e).__name__}: {e}") from e

    def _insert(self, table: Table) -> Any:
        # Both dialects' inserts offer on_conflict_do_nothing / on_conflict_do_update with `excluded`.
        return postgresql.insert(table) if self._postgres else sqlite.insert(table)
