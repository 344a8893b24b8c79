"""A reminder whose post failed without saying whether Slack posted it: ``threads.reminder_maybe_posted``.

A 5xx or a timeout on ``chat.postMessage`` may come after Slack posted the message. The reminder was given
back all the same, and the next look posted it again: the agents were tagged twice. Now it is given back
marked, and the next look first reads the thread for it (its message metadata names the escalation).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28 12:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "threads",
        sa.Column("reminder_maybe_posted", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("threads", "reminder_maybe_posted")
