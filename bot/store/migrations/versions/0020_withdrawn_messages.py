"""Messages their author deleted before the bot answered: state 'withdrawn', and the decisions marked.

A customer who deleted a question (posted in the wrong place, or answered by a colleague) still got the
bot's answer under it, and the agents an escalation. The deletion now withdraws the message: one not yet
routed is closed as 'withdrawn' (``inbound_messages.withdrawn`` says so to the worker that holds it, on
any replica), and one the bot had routed is recorded with its decision marked
``routing_decisions.withdrawn``, what it cost and nothing posted.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-28 19:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("pending", "done", "failed", "left", "waiting")


def _states(*states: str) -> None:
    listed = ", ".join(f"'{s}'" for s in states)
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_constraint(op.f("ck_inbound_messages_state"), type_="check")
        batch.create_check_constraint("state", f"state IN ({listed})")


def upgrade() -> None:
    _states(*STATES, "withdrawn")
    op.add_column(
        "inbound_messages", sa.Column("withdrawn", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        "routing_decisions", sa.Column("withdrawn", sa.Boolean(), server_default=sa.false(), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("routing_decisions", "withdrawn")
    op.drop_column("inbound_messages", "withdrawn")
    # Withdrawn messages were answered by nothing: 'left' is the older state nearest to it.
    op.execute("UPDATE inbound_messages SET state = 'left' WHERE state = 'withdrawn'")
    _states(*STATES)
