"""Index a thread's unfinished messages: before answering a follow-up, the worker asks whether an
earlier message of its thread is still pending (another replica answering it), and without this index
SQLite answered from the channel's whole history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 07:35:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_inbound_messages_state_thread",
        "inbound_messages",
        ["state", "team_id", "channel_id", "thread_ts", "ts"],
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_messages_state_thread", table_name="inbound_messages")
