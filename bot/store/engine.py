"""Database URLs and engines: the async driver is chosen for the user, SQLite is tuned for concurrent use."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from bot.settings import SettingsError

logger = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///routing.db"
# How long a SQLite writer waits for another to finish before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
_ACCEPTED = (
    "sqlite:///path/to/file.db, sqlite:///:memory:, postgresql://user:password@host:5432/name "
    "(or postgres://, or the async forms sqlite+aiosqlite:// and postgresql+asyncpg://)"
)


# aiosqlite's worker-thread function: Python names a thread after its target ("Thread-3 (<name>)").
_AIOSQLITE_WORKER = "_connection_worker_thread"


async def sqlite_workers_stopped(limit_seconds: float = 2.0) -> None:
    """Wait, at most ``limit_seconds``, for aiosqlite's worker threads to end; call it last on a loop.

    A connection that failed to open stops its thread without awaiting it, and the thread then hands
    a last result to the loop: were the loop closed first, the thread would print an "Event loop is
    closed" traceback under the command's one-line error ("cannot connect to sqlite:///…").
    """
    deadline = time.monotonic() + limit_seconds
    while any(_AIOSQLITE_WORKER in t.name and t.is_alive() for t in threading.enumerate()):
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.01)


class DatabaseURLError(SettingsError, ValueError):
    """DATABASE_URL cannot be parsed or names a database or driver this app does not support.

    A settings error (the CLI reports it in one line, like any bad setting), and a ValueError for callers
    that treat it as a bad argument.
    """


def async_database_url(url: str) -> str:
    """Turn a plain database URL into one for the async driver this app uses.

    Args:
        url: the value of DATABASE_URL, e.g. ``sqlite:///routing.db`` or ``postgresql://u:p@host/db``.

    Returns:
        The URL with ``sqlite+aiosqlite`` or ``postgresql+asyncpg`` as its driver. A libpq-style
        ``sslmode`` query parameter becomes asyncpg's ``ssl``.

    Raises:
        DatabaseURLError: the URL cannot be parsed or names a database or driver this app does not
            support; the message names DATABASE_URL and the accepted forms.
    """
    driver, rest = _driver_and_rest(url)
    # Swap the scheme as text: re-rendering a parsed URL would re-encode the path and the password.
    result = f"{driver}://{rest}"
    if driver == "postgresql+asyncpg":
        result = re.sub(r"([?&])sslmode=", r"\1ssl=", result)
    _check_parsed(result, driver)
    return result


def _driver_and_rest(url: str) -> tuple[str, str]:
    """The async driver for DATABASE_URL's scheme, and the URL after ``://``: what its text alone shows.

    Raises:
        DatabaseURLError: no scheme, one this app does not support, or a SQLite URL with no file path.
    """
    if "://" not in url:
        raise DatabaseURLError(f"DATABASE_URL: {_no_scheme(url)}; accepted: {_ACCEPTED}")
    scheme = url.partition("://")[0].lower()
    driver = _ASYNC_DRIVERS.get(scheme)
    if driver is None:
        raise DatabaseURLError(
            f"DATABASE_URL: unsupported database URL scheme {scheme!r}; accepted: {_ACCEPTED}"
        )
    rest = url.partition("://")[2]
    if driver.startswith("sqlite") and rest and not rest.startswith("/"):
        # SQLAlchemy reads "sqlite://routing.db" as a host named routing.db, and says only "Invalid".
        shown = shown_database_url(url)
        name = shown.partition("://")[2]
        raise DatabaseURLError(
            f"DATABASE_URL: {shown!r} names no file path: write sqlite:///{name} (three slashes) for a file "
            f"in the working folder, or sqlite:////var/lib/support-router/{name} (four) for an absolute path"
        )
    return driver, rest


def _check_parsed(url: str, driver: str) -> None:
    """Refuse ``url`` (the async driver's) when SQLAlchemy cannot parse it, or would read it otherwise
    than its writer meant, or hand asyncpg options it refuses.

    Raises:
        DatabaseURLError: saying what is wrong and how to write it.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as e:  # ValueError: a port that is not a number
        raise DatabaseURLError(
            f"DATABASE_URL: cannot parse the database URL ({e}); accepted: {_ACCEPTED}"
        ) from e
    if driver == "postgresql+asyncpg" and (refused := _options_asyncpg_refuses(parsed)):
        raise DatabaseURLError(f"DATABASE_URL: {refused}")
    if parsed.host and "@" in parsed.host:
        # SQLAlchemy ends the password at its first "@": the rest would be looked up as the host's name.
        raise DatabaseURLError(
            "DATABASE_URL: more than one @ before the host; write an @ in the password (or user name) "
            "as %40, e.g. postgresql://bot:p%40ss@db:5432/bot for the password p@ss"
        )


# The URL's query options SQLAlchemy hands asyncpg.connect as keyword arguments, as text, that it takes
# so (sslmode is made ssl above); libpq's others (connect_timeout, channel_binding…) end in a TypeError.
_ASYNCPG_OPTIONS = frozenset(
    {"host", "port", "user", "password", "passfile", "database", "ssl", "target_session_attrs"}
    | {"prepared_statement_cache_size"}  # SQLAlchemy's own
)
# libpq's TLS file options, which asyncpg reads from libpq's environment variables instead.
_PG_ENVIRONMENT = {
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
}


def _options_asyncpg_refuses(url: URL) -> str | None:
    """What to say of the query options in ``url`` that asyncpg does not take, or None."""
    refused = [name for name in url.query if name not in _ASYNCPG_OPTIONS]
    if not refused:
        return None
    instead = "".join(
        f"; for {name}: set {_PG_ENVIRONMENT[name]} in the environment instead, which asyncpg reads"
        for name in refused
        if name in _PG_ENVIRONMENT
    )
    return (
        f"the PostgreSQL driver (asyncpg) takes no {', '.join(refused)} option in the URL: remove "
        f"{'it' if len(refused) == 1 else 'them'}{instead}; it takes sslmode and target_session_attrs"
    )


_SECRET_PARAM = re.compile(r"([?&](?:password|passwd|pass|sslpassword)=)[^&]*", re.IGNORECASE)
# "user:password@host": the password runs to the last "@" that a host (up to "/", "?" or the end) follows,
# as SQLAlchemy reads a password holding an unescaped "/" (base64 ones do) and as a stray "@" would be.
_USERINFO = re.compile(r"(?P<user>[^:/?#@]*):.*@(?P<host>[^@/?]*)(?=[/?]|$)", re.DOTALL)


def shown_database_url(url: str) -> str:
    """DATABASE_URL as it may be printed or logged: the password (in the user part, even one with an
    unescaped ``@`` or ``/``, or in the query string) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _no_scheme(url)
    # The query's first: an "@" in a password given there is no end of a user part.
    rest = _SECRET_PARAM.sub(r"\1***", rest)
    if userinfo := _USERINFO.match(rest):
        rest = f"{userinfo['user']}:***@{userinfo['host']}{rest[userinfo.end() :]}"
    return f"{scheme}://{rest}"


def _no_scheme(url: str) -> str:
    """What is wrong with a DATABASE_URL without ``scheme://``, quoting it only when it holds no secret."""
    if not url.strip():
        return "it is empty"
    if ":" in url or "@" in url:  # may hold a password: do not echo it
        return "it is not a URL (no scheme://)"
    return f"{url!r} is not a URL (no scheme://); for a SQLite file write sqlite:///{url}"


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite DATABASE_URL names (relative to the working folder, as SQLite opens it), or
    None for another database or an in-memory one."""
    parsed = make_url(async_database_url(url))
    if parsed.get_backend_name() != "sqlite" or is_sqlite_memory(parsed) or not parsed.database:
        return None
    return Path(parsed.database)


def require_existing_database(url: str) -> None:
    """For commands that read what the bot recorded (``stats``, ``db purge``): a SQLite file that is not
    there means the wrong folder or URL (``sqlite:///routing.db`` is relative to where the command
    runs), not a database to create empty and report nothing from.

    Raises:
        DatabaseURLError: naming the full path looked for.
    """
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise DatabaseURLError(
            f"DATABASE_URL: there is no database at {path.resolve()}; run the command in the folder the "
            "bot runs in, or set DATABASE_URL to the bot's database (an absolute sqlite:////path/… URL)"
        )


def is_sqlite_memory(url: URL) -> bool:
    """Whether the URL names a private in-memory SQLite database."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for a database URL (plain or async form).

    SQLite connections use WAL, a busy timeout and enforced foreign keys, and every transaction starts
    with ``BEGIN IMMEDIATE`` so that two writers queue on the busy timeout instead of failing when a read
    turns into a write; read-only work can set the execution option ``sqlite_begin="DEFERRED"``
    (see ``Database.reading``). PostgreSQL gets a small pre-pinged pool.

    Args:
        url: the database URL; see :func:`async_database_url`.
        **kwargs: passed to :func:`sqlalchemy.ext.asyncio.create_async_engine` (e.g. ``poolclass``).

    Raises:
        DatabaseURLError: the URL is not supported.
    """
    parsed = make_url(async_database_url(url))
    # Exceptions would otherwise quote statement parameters, i.e. customers' text.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        if is_sqlite_memory(parsed):
            # One connection, kept: every new connection would open a new, empty in-memory database.
            kwargs.setdefault("poolclass", AsyncAdaptedQueuePool)
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
        # Every connection is used inside engine.begin() or engine.connect(), which commit or roll back
        # themselves; the pool's own rollback on return would be one more trip to SQLite's thread.
        kwargs.setdefault("pool_reset_on_return", None)
        engine = create_async_engine(parsed, **kwargs)
        _tune_sqlite(engine)
        return engine
    if "poolclass" not in kwargs:
        for key, value in {
            "pool_size": 10,
            "max_overflow": 10,
            "pool_pre_ping": True,
            "pool_recycle": 1800,
        }.items():
            kwargs.setdefault(key, value)
    # asyncpg waits 60 s for an unreachable host by default; fail sooner with a clear error.
    kwargs.setdefault("connect_args", {"timeout": 10})
    return create_async_engine(parsed, **kwargs)


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver; _on_begin emits our own BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Read-only work may ask for a DEFERRED transaction: in WAL it neither waits for nor blocks writers.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        if mode not in ("IMMEDIATE", "DEFERRED", "EXCLUSIVE"):
            raise ValueError(f"sqlite_begin must be IMMEDIATE, DEFERRED or EXCLUSIVE, not {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}")
