"""Where an escalated DM was announced to the agents: ``threads.notice_channel_id``, ``notice_ts``.

Agents cannot write in a customer's DM with the bot, so the DM's own thread can never show that one took
it up; the notice of it in their channel can. A reply there is the agents' pick-up, the one reminder is
posted there, and what the customer adds under the escalated message follows there. The first notice of
a thread is kept. ``ix_threads_notice`` finds the DM a reply in the agents' channel is about;
``ix_threads_escalations`` gains the column, so that /routing-stats still counts the pick-ups of a
period (those of DMs announced to the agents now among them) from the index alone.

Escalated DMs announced before the upgrade have no notice: they are neither reminded of nor counted.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 02:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PICKUP_COLUMNS = ["escalated_at", "channel_id", "escalated", "pickup_seconds"]
NOTICED = "notice_ts IS NOT NULL"


def upgrade() -> None:
    op.add_column("threads", sa.Column("notice_channel_id", sa.String(length=64), nullable=True))
    op.add_column("threads", sa.Column("notice_ts", sa.String(length=64), nullable=True))
    op.drop_index("ix_threads_escalations", table_name="threads")
    op.create_index("ix_threads_escalations", "threads", [*PICKUP_COLUMNS, "notice_ts"])
    op.create_index(
        "ix_threads_notice",
        "threads",
        ["team_id", "notice_channel_id", "notice_ts"],
        sqlite_where=sa.text(NOTICED),
        postgresql_where=sa.text(NOTICED),
    )


def downgrade() -> None:
    op.drop_index("ix_threads_notice", table_name="threads")
    op.drop_index("ix_threads_escalations", table_name="threads")
    op.create_index("ix_threads_escalations", "threads", PICKUP_COLUMNS)
    op.drop_column("threads", "notice_ts")
    op.drop_column("threads", "notice_channel_id")
