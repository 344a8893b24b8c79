"""The decision store: inbound-message claims, the routing-decision log and thread states.

SQLAlchemy 2 async on SQLite (aiosqlite, the default) or PostgreSQL (asyncpg); the schema lives in
``bot.store.tables`` (a module per kind of row) and every change to it is an Alembic revision in
``bot/store/migrations/``.
"""

from bot.store.engine import DEFAULT_DATABASE_URL, async_database_url, make_engine
from bot.store.errors import DatabaseError, StoreError, UnknownMessage
from bot.store.migrate import check, check_async, upgrade, upgrade_async
from bot.store.records import InboundMessage, ThreadState
from bot.store.repository import Store

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DatabaseError",
    "InboundMessage",
    "Store",
    "StoreError",
    "ThreadState",
    "UnknownMessage",
    "async_database_url",
    "check",
    "check_async",
    "make_engine",
    "upgrade",
    "upgrade_async",
]
