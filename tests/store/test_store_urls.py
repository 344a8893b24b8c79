"""Database URLs become async-driver URLs, and SQLite engines are tuned for concurrent use."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store import Store, async_database_url, make_engine
from bot.store.engine import shown_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///routing.db", "sqlite+aiosqlite:///routing.db"),
        ("sqlite:////var/lib/bot/routing.db", "sqlite+aiosqlite:////var/lib/bot/routing.db"),
        ("sqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u:p@db:5432/bot", "postgresql+asyncpg://u:p@db:5432/bot"),
        ("postgres://u:p@db/bot", "postgresql+asyncpg://u:p@db/bot"),
        ("postgresql+asyncpg://u:p@db/bot", "postgresql+asyncpg://u:p@db/bot"),
        ("postgresql://u:p%40ss@db/bot", "postgresql+asyncpg://u:p%40ss@db/bot"),
        ("postgres://u:p@db/bot?sslmode=require", "postgresql+asyncpg://u:p@db/bot?ssl=require"),
    ],
)
def test_plain_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert async_database_url(given) == expected


@pytest.mark.parametrize(
    "given",
    ["mysql://u:p@db/bot", "postgresql+psycopg2://u@db/bot", "sqlite+pysqlite:///x.db", "routing.db", ""],
)
def test_unsupported_urls_are_refused_naming_the_setting(given: str) -> None:
    with pytest.raises(ValueError, match=r"DATABASE_URL.*accepted: sqlite:///") as raised:
        async_database_url(given)
    assert "postgresql://" in str(raised.value)


def test_a_sqlite_url_with_two_slashes_says_to_write_three() -> None:
    with pytest.raises(ValueError) as raised:
        async_database_url("sqlite://routing.db")
    assert str(raised.value).startswith(
        "DATABASE_URL: 'sqlite://routing.db' names no file path: write sqlite:///routing.db (three slashes)"
    )


def test_an_unescaped_at_in_the_password_is_told_with_its_escape_not_as_an_unknown_host() -> None:
    # SQLAlchemy reads the password up to its first "@": the host became "ret@db", and the error was a
    # name lookup failing for the host the (masked) URL seemed to name rightly.
    with pytest.raises(ValueError) as raised:
        async_database_url("postgresql://bot:s3c@ret@db:5432/bot")
    message = str(raised.value)
    assert message.startswith("DATABASE_URL: ") and "%40" in message
    assert "s3c" not in message and "ret" not in message


@pytest.mark.parametrize(
    ("query", "told"),
    [
        ("connect_timeout=10", "connect_timeout"),
        ("sslmode=require&channel_binding=require", "channel_binding"),  # as Neon's console gives it
        ("sslmode=verify-full&sslrootcert=/etc/ssl/rds.pem", "sslrootcert: set PGSSLROOTCERT"),
        ("application_name=support-router", "application_name"),
    ],
)
def test_a_libpq_option_asyncpg_does_not_take_is_refused_naming_it(query: str, told: str) -> None:
    # asyncpg is handed the query's options as arguments: each of these ended serve in a TypeError's
    # traceback ("connect() got an unexpected keyword argument"), after the Slack check.
    with pytest.raises(ValueError) as raised:
        async_database_url(f"postgresql://bot:s3cret@db:5432/bot?{query}")
    message = str(raised.value)
    assert message.startswith("DATABASE_URL: ") and told in message and "s3cret" not in message


@pytest.mark.parametrize(
    "query", ["sslmode=require", "ssl=require", "target_session_attrs=read-write", "user=bot&password=x"]
)
def test_the_options_asyncpg_takes_are_kept(query: str) -> None:
    assert async_database_url(f"postgresql://db/bot?{query}").startswith("postgresql+asyncpg://db/bot?")


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("postgresql://bot:s3cret@db:5432/bot", "postgresql://bot:***@db:5432/bot"),
        (
            "postgresql://db/bot?user=bot&password=s3cret&ssl=require",
            "postgresql://db/bot?user=bot&password=***&ssl=require",
        ),
        ("postgresql://bot:s3c@ret@db/bot", "postgresql://bot:***@db/bot"),  # an unescaped @ in it
        # base64 passwords (openssl rand -base64) hold "/" and "+"; SQLAlchemy reads them unescaped
        ("postgresql://bot:s3c/r+t==@db:5432/bot", "postgresql://bot:***@db:5432/bot"),
        ("postgresql://bot:s3c?r#t@db/bot?ssl=require", "postgresql://bot:***@db/bot?ssl=require"),
        ("postgresql://bot@db/bot?application_name=a@b", "postgresql://bot@db/bot?application_name=a@b"),
        (
            "postgresql://db:5432/bot?user=bot&password=s3c@ret",
            "postgresql://db:5432/bot?user=bot&password=***",
        ),
        ("sqlite:///routing.db", "sqlite:///routing.db"),
    ],
)
def test_a_database_url_is_shown_without_its_password(given: str, shown: str) -> None:
    assert shown_database_url(given) == shown


async def test_connect_refuses_without_showing_a_password_in_the_query_string() -> None:
    from bot.store import DatabaseError

    with pytest.raises(DatabaseError) as raised:
        await Store.connect("postgresql://127.0.0.1:1/bot?user=bot&password=s3cret")
    assert "s3cret" not in str(raised.value) and "password=***" in str(raised.value)


async def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_connect_refuses_an_unreachable_database_without_leaking_the_password() -> None:
    from bot.store import DatabaseError

    with pytest.raises(DatabaseError, match="DATABASE_URL: cannot connect") as raised:
        await Store.connect("postgresql://bot:s3cret@127.0.0.1:1/bot")
    assert "s3cret" not in str(raised.value)
