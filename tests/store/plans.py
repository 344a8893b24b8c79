"""The plan a database makes for a statement, to check that it reads through the index meant for it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from bot.store import Store


async def query_plan(store: Store, stmt: Any) -> str:
    """``stmt``'s plan as one line: SQLite's EXPLAIN QUERY PLAN, or PostgreSQL's EXPLAIN as if the
    tables were full (sequential scans off: on a test's near-empty table it would pick one)."""
    sql = str(stmt.compile(store.engine, compile_kwargs={"literal_binds": True}))
    async with store.engine.connect() as conn:
        if store.is_sqlite:
            rows = (await conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"))).all()
        else:
            await conn.execute(text("SET enable_seqscan = off"))
            rows = (await conn.execute(text(f"EXPLAIN {sql}"))).all()
    return " ".join(str(row) for row in rows)
