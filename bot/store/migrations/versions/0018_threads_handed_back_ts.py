"""When an agent last handed a thread back to the bot: ``threads.handed_back_ts``.

An agent's message written in the thread before the hand-back (or a re-route giving it back), brought
after it (the catch-up at a restart reads the thread again, or Slack delivers an event late), took the
thread over again: the bot stayed silent after saying it would answer the customer's next message.

Threads handed back before the upgrade have none: they are as they were.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28 13:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("threads", sa.Column("handed_back_ts", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("threads", "handed_back_ts")
