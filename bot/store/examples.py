"""Learned examples: customer messages with a trusted category, for the local model to learn from."""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from sqlalchemy import delete, select

from bot.store.database import Database
from bot.store.tables import learned_examples, utcnow

ExampleSource = Literal["agent", "claude"]


class LearnedExamples(Database):
    """The learned-examples half of the store (see :class:`bot.store.Store`)."""

    async def add_example(self, category: str, text: str, source: ExampleSource, *, keep: int) -> None:
        """Keep ``text`` as an example of ``category``; only the newest ``keep`` per category stay."""
        e = learned_examples
        newest = (
            select(e.c.id)
            .where(e.c.category == category)
            .order_by(e.c.id.desc())
            .limit(keep)
            .scalar_subquery()
        )
        async with self._transaction() as conn:
            await conn.execute(
                e.insert().values(category=category, text=text, source=source, created_at=utcnow())
            )
            await conn.execute(delete(e).where(e.c.category == category, e.c.id.not_in(newest)))

    async def learned(self) -> dict[str, list[str]]:
        """Every kept example by category, oldest first."""
        e = learned_examples
        async with self.reading() as conn:
            rows = (await conn.execute(select(e.c.category, e.c.text).order_by(e.c.id))).all()
        examples: dict[str, list[str]] = defaultdict(list)
        for category, text in rows:
            examples[category].append(text)
        return dict(examples)
