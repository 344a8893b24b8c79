"""The schema: SQLAlchemy declarative tables, one module per kind of row; every change needs a revision in
bot/store/migrations.

Each table is imported from its own module (``bot.store.tables.messages`` ...). This package imports them
all, so that ``metadata`` (what Alembic and ``create_all`` read) holds the whole schema whichever table was
imported first: a table missing from it would look dropped to ``alembic check``.
"""

from bot.store.tables import decisions, examples, feedback, messages, purges, rollups, threads
from bot.store.tables.base import Base

metadata = Base.metadata

__all__ = ["decisions", "examples", "feedback", "messages", "metadata", "purges", "rollups", "threads"]
