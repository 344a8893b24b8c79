"""A customer's reply can wait for its thread's first message (state 'waiting'): Slack delivered it
before that message's event (a failed delivery sent again a minute later), so the bot had no part in the
thread yet. It is released for answering once the first message is claimed.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 09:00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("pending", "done", "failed", "left")


def _states(*states: str) -> None:
    listed = ", ".join(f"'{s}'" for s in states)
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_constraint(op.f("ck_inbound_messages_state"), type_="check")
        batch.create_check_constraint("state", f"state IN ({listed})")


def upgrade() -> None:
    _states(*STATES, "waiting")


def downgrade() -> None:
    # Replies whose first message never came: nothing the bot was asked.
    op.execute("DELETE FROM inbound_messages WHERE state = 'waiting'")
    _states(*STATES)
