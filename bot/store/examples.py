"""Learned examples: customer messages with a trusted category, for the local model to learn from."""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from sqlalchemy import delete, func, select

from bot.store.database import Database
from bot.store.tables.base import utcnow
from bot.store.tables.examples import learned_examples

ExampleSource = Literal["agent", "claude"]


class LearnedExamples(Database):
    """The learned-examples half of the store (see :class:`bot.store.Store`)."""

    async def add_example(self, category: str, text: str, source: ExampleSource, *, keep: int) -> None:
        """Keep ``text`` as an example of ``category``; only the newest ``keep`` per category stay.

        A text is an example of one category at a time: an agent's verdict replaces whatever was kept
        for the same text before (a correction after a confirmation, or Claude's guess), and Claude's
        never replaces an agent's. The same text again is not a second example.
        """
        e = learned_examples
        newest = (
            select(e.c.id)
            .where(e.c.category == category)
            .order_by(e.c.id.desc())
            .limit(keep)
            .scalar_subquery()
        )
        same_text = e.c.text == text
        async with self._transaction() as conn:
            if source == "claude":
                agents = select(e.c.id).where(same_text, e.c.source == "agent").limit(1)
                if (await conn.execute(agents)).first() is not None:
                    return
            await conn.execute(delete(e).where(same_text))
            await conn.execute(
                e.insert().values(category=category, text=text, source=source, created_at=utcnow())
            )
            await conn.execute(delete(e).where(e.c.category == category, e.c.id.not_in(newest)))

    async def learned_mark(self) -> tuple[int, int | None]:
        """What changes whenever the kept examples do (an example added, replaced or purged): their count
        and newest id. Cheap, for a running bot to look whether its model is behind the store."""
        e = learned_examples
        async with self.reading() as conn:
            count, newest = (await conn.execute(select(func.count(), func.max(e.c.id)))).one()
        return int(count), newest

    async def learned(self) -> dict[str, list[str]]:
        """Every kept example by category, oldest first."""
        e = learned_examples
        async with self.reading() as conn:
            rows = (await conn.execute(select(e.c.category, e.c.text).order_by(e.c.id))).all()
        examples: dict[str, list[str]] = defaultdict(list)
        for category, text in rows:
            examples[category].append(text)
        return dict(examples)
