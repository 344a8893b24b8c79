"""A claimed message can be left to the agents (state 'left'): its thread was escalated or taken over
while it waited for the bot's answer to the message before it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 06:50:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("pending", "done", "failed")


def _states(*states: str) -> None:
    listed = ", ".join(f"'{s}'" for s in states)
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_constraint(op.f("ck_inbound_messages_state"), type_="check")
        batch.create_check_constraint("state", f"state IN ({listed})")


def upgrade() -> None:
    _states(*STATES, "left")


def downgrade() -> None:
    op.execute("UPDATE inbound_messages SET state = 'done' WHERE state = 'left'")
    _states(*STATES)
