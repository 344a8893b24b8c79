"""Initial schema: inbound messages (the claim), routing decisions, threads.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 17:33:48

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SlackId = sa.String(length=64)
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", SlackId, nullable=False),
        sa.Column("channel_id", SlackId, nullable=False),
        sa.Column("ts", SlackId, nullable=False),
        sa.Column("user_id", SlackId, nullable=False),
        sa.Column("thread_ts", SlackId, nullable=False),
        sa.Column("channel_type", sa.String(length=16), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", Timestamp, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("completed_at", Timestamp, nullable=True),
        sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name=op.f("ck_inbound_messages_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint(
            "team_id", "channel_id", "ts", name=op.f("uq_inbound_messages_team_id_channel_id_ts")
        ),
    )
    op.create_index("ix_inbound_messages_state_lease_until", "inbound_messages", ["state", "lease_until"])

    op.create_table(
        "routing_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbound_message_id", sa.Integer(), nullable=True),
        sa.Column("team_id", SlackId, nullable=True),
        sa.Column("channel_id", SlackId, nullable=True),
        sa.Column("user_id", SlackId, nullable=True),
        sa.Column("message_ts", SlackId, nullable=True),
        sa.Column("thread_ts", SlackId, nullable=True),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("reasoning", sa.Text(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("escalation_reason", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("classifier_model", sa.Text(), nullable=True),
        sa.Column("handler_model", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("routing_ms", sa.Float(), nullable=False),
        sa.Column("handling_ms", sa.Float(), nullable=False),
        sa.Column("total_ms", sa.Float(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_read_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_creation_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("routes_version", sa.Text(), nullable=False),
        sa.Column("reply_ts", SlackId, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_message_id"],
            ["inbound_messages.id"],
            name=op.f("fk_routing_decisions_inbound_message_id_inbound_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_decisions")),
        sa.UniqueConstraint("inbound_message_id", name=op.f("uq_routing_decisions_inbound_message_id")),
    )
    op.create_index(op.f("ix_routing_decisions_created_at"), "routing_decisions", ["created_at"])

    op.create_table(
        "threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", SlackId, nullable=False),
        sa.Column("channel_id", SlackId, nullable=False),
        sa.Column("thread_ts", SlackId, nullable=False),
        sa.Column("customer_id", SlackId, nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("bot_answered", sa.Boolean(), nullable=False),
        sa.Column("taken_over_by", SlackId, nullable=True),
        sa.Column("taken_over_at", Timestamp, nullable=True),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threads")),
        sa.UniqueConstraint(
            "team_id", "channel_id", "thread_ts", name=op.f("uq_threads_team_id_channel_id_thread_ts")
        ),
    )


def downgrade() -> None:
    op.drop_table("threads")
    op.drop_index(op.f("ix_routing_decisions_created_at"), table_name="routing_decisions")
    op.drop_table("routing_decisions")
    op.drop_index("ix_inbound_messages_state_lease_until", table_name="inbound_messages")
    op.drop_table("inbound_messages")
