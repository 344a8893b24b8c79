"""A customer who wrote again in a thread an agent holds: ``threads.customer_waiting_since``.

Once an agent had replied in a thread (or taken a DM's customer up under its notice), the escalation's
wait was over, and the bot stays out of the thread; a customer who then wrote again, to an agent who never
came back, waited with nothing to remind anyone. ``customer_waiting_since`` is when they first wrote with
no agent's reply since (an agent's reply, a hand-back or a re-route clears it); the wait gets one reminder,
claimed by ``reminded_at`` as an escalation's is. The partial index holds only the waits not reminded of
yet, so the bot's look for those waiting too long reads a handful of rows whatever the size of the table.

Threads at the upgrade have none: a customer who wrote before it is not reminded of.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-29 12:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "customer_waiting_since IS NOT NULL AND reminded_at IS NULL"


def upgrade() -> None:
    op.add_column("threads", sa.Column("customer_waiting_since", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_threads_customer_waiting",
        "threads",
        ["customer_waiting_since"],
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_threads_customer_waiting", table_name="threads")
    op.drop_column("threads", "customer_waiting_since")
