"""A wait for an agent ends with the message it is about: ``threads.waiting_on``, ``escalation_withdrawn_at``.

A customer who deleted a message the bot had escalated (or one they wrote to the agent holding their
thread) still had the agents tagged about it ESCALATION_REMINDER_MINUTES later: nothing kept which
message a wait was about. ``waiting_on`` is its ts, while the wait is about that one message; a deletion
of it ends the wait, whichever replica Slack tells. A customer's wait (``customer_waiting_since``) ends by
being cleared, as an agent's reply ends it; an escalation's cannot (``pickup_seconds`` would say an agent
picked it up, ``reminded_at`` that they were reminded, and a failed reminder's give-back clears that), so
``escalation_withdrawn_at`` says when its message was deleted, and the partial index of the escalations
waiting for a reminder leaves those out: recreated with that condition, the look still reads only the
escalations due, never the withdrawn ones piling up.

Waits under way at the upgrade have no ``waiting_on``: a deletion does not end them.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 12:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "escalated AND pickup_seconds IS NULL AND reminded_at IS NULL AND escalated_at IS NOT NULL"
STILL_WANTED = f"{WAITING} AND escalation_withdrawn_at IS NULL"


def upgrade() -> None:
    op.add_column("threads", sa.Column("waiting_on", sa.String(length=64), nullable=True))
    op.add_column("threads", sa.Column("escalation_withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    _awaiting_agent_index(STILL_WANTED)


def downgrade() -> None:
    _awaiting_agent_index(WAITING)
    op.drop_column("threads", "escalation_withdrawn_at")
    op.drop_column("threads", "waiting_on")


def _awaiting_agent_index(condition: str) -> None:
    """``ix_threads_awaiting_agent`` again, over the escalations that meet ``condition``."""
    op.drop_index("ix_threads_awaiting_agent", table_name="threads")
    op.create_index(
        "ix_threads_awaiting_agent",
        "threads",
        ["escalated_at"],
        sqlite_where=sa.text(condition),
        postgresql_where=sa.text(condition),
    )
