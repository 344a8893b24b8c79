"""The channels customers wrote in lately, from an index: ``ix_inbound_messages_received``.

At start the bot reads each such channel's history from the last message it saw there, for messages
written while it was away longer than Slack retries an event (``bot.catch_up``). The index holds what
that needs (when, where, the message's ts), so the look reads a week of claims, not the whole table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 02:30:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["received_at", "team_id", "channel_id", "ts"]


def upgrade() -> None:
    op.create_index("ix_inbound_messages_received", "inbound_messages", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_inbound_messages_received", table_name="inbound_messages")
