"""/routing-stats' waits read from indexes: ``ix_threads_customers_waiting_now``, and the withdrawn
escalations in ``ix_threads_escalations``.

``/routing-stats`` says how many customers wait right now on the agent holding their thread, and since
when the longest has (``bot.stats.waiting_now``). Reminded waits count too, so the partial index of 0023,
which holds only the waits not reminded of yet, cannot answer it: without a channel the count read the
whole of ``threads`` (42-54 ms over 700,000 threads on SQLite, beside the report's other reads). The new
partial index holds every wait, with its channel, so the count and the oldest wait come from it alone.

The report's pick-ups leave out the escalations whose message the customer deleted before any agent
acted (``escalation_withdrawn_at``, 0024): not a miss, and no one still waiting. The covering index of the
escalations gains that column, so the report still reads them from the index alone.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01 12:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "customer_waiting_since IS NOT NULL"
ESCALATIONS = ["escalated_at", "channel_id", "escalated", "pickup_seconds", "notice_ts"]


def upgrade() -> None:
    op.create_index(
        "ix_threads_customers_waiting_now",
        "threads",
        ["customer_waiting_since", "channel_id"],
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )
    op.drop_index("ix_threads_escalations", table_name="threads")
    op.create_index("ix_threads_escalations", "threads", [*ESCALATIONS, "escalation_withdrawn_at"])


def downgrade() -> None:
    op.drop_index("ix_threads_escalations", table_name="threads")
    op.create_index("ix_threads_escalations", "threads", ESCALATIONS)
    op.drop_index("ix_threads_customers_waiting_now", table_name="threads")
