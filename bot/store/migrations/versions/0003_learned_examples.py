"""Learned examples: what the local model learns from the bot's history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 18:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learned_examples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('agent', 'claude')", name=op.f("ck_learned_examples_source")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learned_examples")),
    )
    op.create_index("ix_learned_examples_category_id", "learned_examples", ["category", "id"])


def downgrade() -> None:
    op.drop_index("ix_learned_examples_category_id", table_name="learned_examples")
    op.drop_table("learned_examples")
