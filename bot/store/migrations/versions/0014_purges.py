"""Each run of ``db purge``, with its cutoff: whether a purge reached into a report's period.

/routing-stats counts a period that starts within a day from the decisions of that day from its start
on. When ``db purge`` had deleted decisions of that day, it read the whole day from the daily rollups
instead (from midnight: they cannot be split by the hour), even when the purge took only the hours
before the period (a daily ``--older-than 7d`` run in the morning, a 7d report in the afternoon), which
every day counted up to a day's messages too many. With the cutoff recorded, the report widens only when
the purge reached past the period's start. Purges run before this revision left no row: for them the
report widens as before.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 07:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "purges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purges")),
    )


def downgrade() -> None:
    op.drop_table("purges")
