"""Remember the author's workspace of a message from another organisation (a Slack Connect channel),
which a streamed answer must name as its recipient's team.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 06:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("user_team_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("user_team_id")
