"""Keep the decision of an attempt whose reply Slack would not take: ``inbound_messages.kept_decision``.

Claude's answer (or the escalation) is made; only posting it failed. The next attempt posts the kept
decision instead of asking Claude for the message again: the customer waits for Slack alone, and Claude
is paid once. It is kept while the message is pending and cleared when it is done, like the message's
own text.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 02:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("inbound_messages", sa.Column("kept_decision", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("inbound_messages", "kept_decision")
