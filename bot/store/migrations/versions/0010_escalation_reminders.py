"""Escalations and the agents who pick them up: ``threads.escalated_at``, ``pickup_seconds``, ``reminded_at``.

``escalated_at`` is when the thread last went to a person (kept while it stays escalated, set again by an
escalation after a hand-back); ``pickup_seconds`` how long after it an agent first acted on it (wrote in
the thread, re-routed it or handed it back; null while nobody has); ``reminded_at`` when the agents were
reminded of it, once per escalation. The partial index holds only the escalations waiting for a first
reminder, so the bot's look for those waiting too long reads a handful of rows whatever the size of the
table; the other lets /routing-stats count a period's escalations and how soon they were picked up from
the index alone.

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

WAITING = "escalated AND pickup_seconds IS NULL AND reminded_at IS NULL AND escalated_at IS NOT NULL"
PICKUP_COLUMNS = ["escalated_at", "channel_id", "escalated", "pickup_seconds"]


def upgrade() -> None:
    op.add_column("threads", sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("threads", sa.Column("pickup_seconds", sa.Float(), nullable=True))
    op.add_column("threads", sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_threads_escalations", "threads", PICKUP_COLUMNS)
    op.create_index(
        "ix_threads_awaiting_agent",
        "threads",
        ["escalated_at"],
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_threads_awaiting_agent", table_name="threads")
    op.drop_index("ix_threads_escalations", table_name="threads")
    op.drop_column("threads", "reminded_at")
    op.drop_column("threads", "pickup_seconds")
    op.drop_column("threads", "escalated_at")
