"""Escalations no agent has answered: ``threads.escalated_at`` and ``reminded_at``.

``escalated_at`` is when the thread last went to a person (kept while it stays escalated, set again by an
escalation after a hand-back); ``reminded_at`` when the agents were reminded of it, once per escalation.
The partial index holds only the escalations waiting for a first reminder, so the bot's look for those
waiting too long reads a handful of rows whatever the size of the table.

Escalations made before the upgrade have no ``escalated_at``: they are never reminded of (an upgrade must
not tag the agents in every old thread at once).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 23:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "escalated AND taken_over_by IS NULL AND reminded_at IS NULL AND escalated_at IS NOT NULL"


def upgrade() -> None:
    op.add_column("threads", sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("threads", sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_threads_awaiting_agent",
        "threads",
        ["escalated_at"],
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_threads_awaiting_agent", table_name="threads")
    op.drop_column("threads", "reminded_at")
    op.drop_column("threads", "escalated_at")
