"""Answers the customer stopped in Slack: ``routing_decisions.stopped_by_customer``.

Pressing Stop on a streamed answer ended what Slack showed, but Claude went on writing the whole answer
(billed, and holding the thread's next message back until it was done). The bot now closes Claude's
request at the stop and records the answer as far as it went, marked, with the tokens reported until then.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28 18:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "routing_decisions",
        sa.Column("stopped_by_customer", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("routing_decisions", "stopped_by_customer")
