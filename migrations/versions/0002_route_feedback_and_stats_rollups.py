"""Agent feedback on routes, and what /routing-stats reads: daily rollups kept by a trigger, and indexes.

``route_feedback`` holds one verdict per decision. ``daily_rollups`` and ``daily_latencies`` hold, per UTC
day, the sums and the latency histograms of every decision; an AFTER INSERT trigger on
``routing_decisions`` keeps them (decisions are never updated), and the upgrade fills them from the
decisions already recorded. The covering index ``ix_routing_decisions_stats`` serves the hours of the
current day, which the report reads from the decisions themselves.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:01:37

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SlackId = sa.String(length=64)
TRIGGER = "routing_decisions_rollup"
ROLLUP_KEY = "day, channel_id, category, source, escalated, escalation_reason"
CONF_COLUMNS = [f"conf_{i}" for i in range(10)]
SUMMED = ["routing_ms", "handling_ms", "total_ms", "input_tokens", "output_tokens"]
SUMMED += ["cache_read_tokens", "cache_creation_tokens", "cost_usd"]
STATS_COLUMNS = ["created_at", "channel_id", "category", "source", "escalated", "escalation_reason"]
STATS_COLUMNS += ["confidence", *SUMMED]


def upgrade() -> None:
    op.create_table(
        "route_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", SlackId, nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("routed_category", sa.Text(), nullable=False),
        sa.Column("channel_id", SlackId, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("verdict IN ('correct', 'rerouted')", name=op.f("ck_route_feedback_verdict")),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["routing_decisions.id"],
            name=op.f("fk_route_feedback_decision_id_routing_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_feedback")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_route_feedback_decision_id")),
    )
    op.create_table(
        "daily_rollups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel_id", SlackId, nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("escalation_reason", sa.String(length=32), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("confidence_sum", sa.Float(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in CONF_COLUMNS),
        *(
            sa.Column(
                name,
                sa.Float() if name.endswith("_ms") or name == "cost_usd" else sa.Integer(),
                nullable=False,
            )
            for name in SUMMED
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_rollups")),
        sa.UniqueConstraint(
            "day",
            "channel_id",
            "category",
            "source",
            "escalated",
            "escalation_reason",
            name=op.f("uq_daily_rollups_day_channel_id_category_source_escalated_escalation_reason"),
        ),
    )
    op.create_table(
        "daily_latencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel_id", SlackId, nullable=False),
        sa.Column("bucket", sa.Float(), nullable=False),
        sa.Column("routing", sa.Integer(), nullable=False),
        sa.Column("handling", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_latencies")),
        sa.UniqueConstraint(
            "day", "channel_id", "bucket", name=op.f("uq_daily_latencies_day_channel_id_bucket")
        ),
    )
    op.create_index(
        "ix_routing_decisions_channel_id_message_ts", "routing_decisions", ["channel_id", "message_ts"]
    )
    op.create_index("ix_routing_decisions_stats", "routing_decisions", STATS_COLUMNS)
    op.create_index("ix_threads_taken_over_at", "threads", ["taken_over_at"])

    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _backfill(postgres):
        op.execute(statement)
    for statement in _trigger(postgres):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON routing_decisions")
        op.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
    op.drop_index("ix_threads_taken_over_at", table_name="threads")
    op.drop_index("ix_routing_decisions_stats", table_name="routing_decisions")
    op.drop_index("ix_routing_decisions_channel_id_message_ts", table_name="routing_decisions")
    op.drop_table("daily_latencies")
    op.drop_table("daily_rollups")
    op.drop_table("route_feedback")


# The SQL below is frozen with this revision on purpose: a later change to the rollups is a new revision.


def _day(postgres: bool, created_at: str) -> str:
    # SQLite stores created_at as naive UTC text.
    return f"(({created_at} AT TIME ZONE 'UTC')::date)" if postgres else f"date({created_at})"


def _bucket(postgres: bool, ms: str) -> str:
    """The lower bound of ``ms`` at two significant digits (1234.5 -> 1200); bot.stats reads the same."""

    def whole(x: str) -> str:
        return f"floor({x})" if postgres else f"CAST({x} AS INTEGER)"

    steps = [(1, 100, "*"), (10, 10, "*"), (100, 1, "*"), (1000, 10, "/"), (10000, 100, "/")]
    steps += [(100000, 1000, "/")]
    cases = " ".join(
        f"WHEN {ms} < {limit} THEN {whole(f'{ms} {op_} {scale}')} {'/' if op_ == '*' else '*'} {scale}.0"
        for limit, scale, op_ in steps
    )
    return f"(CASE {cases} ELSE {whole(f'{ms} / 10000')} * 10000.0 END)"


def _conf(i: int, confidence: str) -> str:
    low, high = f"{i / 10:.1f}", f"{(i + 1) / 10:.1f}"
    inside = f"{confidence} >= {low}" + ("" if i == 9 else f" AND {confidence} < {high}")
    return f"(CASE WHEN {inside} THEN 1 ELSE 0 END)"


def _rollup_insert(values: str) -> str:
    columns = [*ROLLUP_KEY.split(", "), "decisions", "confidence_sum", *CONF_COLUMNS, *SUMMED]
    added = ["decisions", "confidence_sum", *CONF_COLUMNS, *SUMMED]
    changes = ", ".join(f"{c} = daily_rollups.{c} + excluded.{c}" for c in added)
    return (
        f"INSERT INTO daily_rollups ({', '.join(columns)}) {values} "
        f"ON CONFLICT ({ROLLUP_KEY}) DO UPDATE SET {changes}"
    )


def _latency_insert(metric: str, values: str) -> str:
    return (
        f"INSERT INTO daily_latencies (day, channel_id, bucket, routing, handling, total) {values} "
        f"ON CONFLICT (day, channel_id, bucket) DO UPDATE SET {metric} = daily_latencies.{metric} + "
        f"excluded.{metric}"
    )


def _latency_counts(metric: str, count: str) -> str:
    return ", ".join(count if m == metric else "0" for m in ("routing", "handling", "total"))


def _backfill(postgres: bool) -> list[str]:
    day = _day(postgres, "created_at")
    key = f"{day}, coalesce(channel_id, ''), category, source, escalated, coalesce(escalation_reason, '')"
    sums = ", ".join(
        ["count(*)", "sum(confidence)", *(f"sum{_conf(i, 'confidence')}" for i in range(10))]
        + [f"sum({c})" for c in SUMMED]
    )
    statements = [_rollup_insert(f"SELECT {key}, {sums} FROM routing_decisions WHERE true GROUP BY {key}")]
    for metric in ("routing", "handling", "total"):
        bucket = _bucket(postgres, f"{metric}_ms")
        where = "source <> 'agent'" + (" AND NOT escalated" if metric == "handling" else "")
        group = f"{day}, coalesce(channel_id, ''), {bucket}"
        select = (
            f"SELECT {group}, {_latency_counts(metric, 'count(*)')} FROM routing_decisions "
            f"WHERE {where} GROUP BY {group}"
        )
        statements.append(_latency_insert(metric, select))
    return statements


def _trigger_body(postgres: bool) -> list[str]:
    day = _day(postgres, "NEW.created_at")
    key = f"{day}, coalesce(NEW.channel_id, ''), NEW.category, NEW.source, NEW.escalated"
    key += ", coalesce(NEW.escalation_reason, '')"
    values = ", ".join(
        ["1", "NEW.confidence", *(_conf(i, "NEW.confidence") for i in range(10))]
        + [f"NEW.{c}" for c in SUMMED]
    )
    body = [_rollup_insert(f"SELECT {key}, {values} WHERE true")]
    for metric in ("routing", "handling", "total"):
        bucket = _bucket(postgres, f"NEW.{metric}_ms")
        where = "NEW.source <> 'agent'" + (" AND NOT NEW.escalated" if metric == "handling" else "")
        select = f"SELECT {day}, coalesce(NEW.channel_id, ''), {bucket}, {_latency_counts(metric, '1')}"
        body.append(_latency_insert(metric, f"{select} WHERE {where}"))
    return body


def _trigger(postgres: bool) -> list[str]:
    body = "; ".join(_trigger_body(postgres)) + ";"
    if not postgres:
        return [f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON routing_decisions BEGIN {body} END"]
    function = (
        f"CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"
    )
    trigger = f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON routing_decisions FOR EACH ROW "
    trigger += f"EXECUTE FUNCTION {TRIGGER}()"
    return [function, trigger]
