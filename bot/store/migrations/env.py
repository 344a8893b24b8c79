"""Alembic environment (async template) for SQLite via aiosqlite and PostgreSQL via asyncpg.

The database is, in order: a connection handed over by ``bot.store.migrate`` (``config.attributes``), the
``sqlalchemy.url`` main option (set programmatically), the DATABASE_URL environment variable, or
``sqlite:///routing.db``. Plain ``sqlite://`` and ``postgresql://`` URLs get their async driver.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from bot.store.engine import DEFAULT_DATABASE_URL, async_database_url, make_engine
from bot.store.tables import metadata
from bot.store.tables.base import UTCDateTime

config = context.config
target_metadata = metadata


def database_url() -> str:
    # With only pyproject.toml there is no [alembic] ini section, and get_main_option would raise.
    section, option = config.config_ini_section, "sqlalchemy.url"
    url = config.file_config.get(section, option) if config.file_config.has_option(section, option) else None
    url = url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    return async_database_url(url)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render the app's column types as plain SQLAlchemy ones: a revision must not import bot code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        render_item=render_item,
        # bot.store.engine gives SQLite real transactions (BEGIN IMMEDIATE): the upgrade is all or nothing.
        transactional_ddl=True,
    )
    if not sqlite:
        with context.begin_transaction():
            context.run_migrations()
        return
    # Batch migrations copy and drop tables; with foreign keys on, dropping a parent would cascade to its
    # children. The pragma is ignored inside a transaction, so it goes to the driver before BEGIN.
    _pragma(connection, "foreign_keys=OFF")
    try:
        with context.begin_transaction():
            context.run_migrations()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:5]}")
    finally:
        _pragma(connection, "foreign_keys=ON")


def _pragma(connection: Connection, setting: str) -> None:
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {setting}")
    finally:
        cursor.close()


async def run_async_migrations() -> None:
    engine = make_engine(database_url(), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(run_async_migrations())
    else:
        do_run_migrations(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
