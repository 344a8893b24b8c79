"""The channels customers wrote in lately, from an index: ``ix_inbound_messages_ts``.

At start the bot reads each such channel's history from the last message it took there, for messages
written while it was away longer than Slack retries an event (``bot.catch_up``). A Slack ts is when the
message was posted (fixed-width epoch seconds: it sorts as it was sent), and the index holds what the
look needs (the ts, then where), so it reads a week of claims, not the whole table. Led by ts, not by when
a claim was received: /routing-stats counts a period's unanswered messages by when they were received,
through their state, and must not be drawn to this index.

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

COLUMNS = ["ts", "team_id", "channel_id"]


def upgrade() -> None:
    op.create_index("ix_inbound_messages_ts", "inbound_messages", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_inbound_messages_ts", table_name="inbound_messages")
