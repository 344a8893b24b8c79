"""Agent feedback on routes, and what /routing-stats reads: daily rollups kept by a trigger, and indexes.

``route_feedback`` holds one verdict per decision. ``daily_rollups`` and ``daily_latencies`` hold, per UTC
day, the sums and the latency histograms of the decisions; a trigger on ``routing_decisions`` adds each
new decision to them (decisions are never updated; a purge of old decisions leaves their aggregates, which
hold no text), and the upgrade fills them from the decisions already recorded. The covering index
``ix_routing_decisions_stats`` serves the partial days at the ends of a period, which the report reads
from the decisions themselves.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:01:37

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SlackId = sa.String(length=64)
TRIGGERS = {"INSERT": "routing_decisions_rollup_insert"}
ROLLUP_KEY = ["channel_id", "category", "source", "escalated", "escalation_reason", "day"]
LATENCY_KEY = ["channel_id", "bucket", "day"]
METRICS = ["routing", "handling", "total"]
CONF_COLUMNS = [f"conf_{i}" for i in range(10)]
SUMMED = ["routing_ms", "handling_ms", "total_ms", "input_tokens", "output_tokens"]
SUMMED += ["cache_read_tokens", "cache_creation_tokens", "cost_usd"]
ADDED = ["decisions", "confidence_sum", *CONF_COLUMNS, *SUMMED]
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
        sa.Column("channel_id", SlackId, nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("escalation_reason", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("confidence_sum", sa.Float(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in CONF_COLUMNS),
        *(sa.Column(name, _sum_type(name), nullable=False) for name in SUMMED),
        sa.PrimaryKeyConstraint(*ROLLUP_KEY, name=op.f("pk_daily_rollups")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "daily_latencies",
        sa.Column("channel_id", SlackId, nullable=False),
        sa.Column("bucket", sa.Float(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(metric, sa.Integer(), nullable=False) for metric in METRICS),
        sa.PrimaryKeyConstraint(*LATENCY_KEY, name=op.f("pk_daily_latencies")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_routing_decisions_channel_id_message_ts", "routing_decisions", ["channel_id", "message_ts"]
    )
    op.create_index("ix_routing_decisions_stats", "routing_decisions", STATS_COLUMNS)
    op.create_index("ix_threads_taken_over_at", "threads", ["taken_over_at"])
    op.create_index(
        "ix_route_feedback_stats",
        "route_feedback",
        ["decided_at", "channel_id", "routed_category", "verdict"],
    )

    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in [*_backfill(postgres), *_triggers(postgres)]:
        op.execute(statement)


def downgrade() -> None:
    for name in TRIGGERS.values():
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON routing_decisions")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_route_feedback_stats", table_name="route_feedback")
    op.drop_index("ix_threads_taken_over_at", table_name="threads")
    op.drop_index("ix_routing_decisions_stats", table_name="routing_decisions")
    op.drop_index("ix_routing_decisions_channel_id_message_ts", table_name="routing_decisions")
    op.drop_table("daily_latencies")
    op.drop_table("daily_rollups")
    op.drop_table("route_feedback")


# The SQL below is frozen with this revision on purpose: a later change to the rollups is a new revision.


def _sum_type(name: str) -> sa.types.TypeEngine[Any]:
    return sa.Float() if name.endswith("_ms") or name == "cost_usd" else sa.Integer()


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


def _upsert(table: str, key: list[str], columns: list[str], select: str, added: list[str]) -> str:
    changes = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in added)
    return (
        f"INSERT INTO {table} ({', '.join(key + columns)}) {select} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {changes}"
    )


def _rollup_values(postgres: bool, row: str) -> list[str]:
    """The daily_rollups key of a decision (``row`` is "NEW.", "OLD." or "" for the table's own rows)."""
    return [
        f"coalesce({row}channel_id, '')",
        f"{row}category",
        f"{row}source",
        f"{row}escalated",
        f"coalesce({row}escalation_reason, '')",
        _day(postgres, row + "created_at"),
    ]


def _rollup_key(postgres: bool, row: str) -> str:
    return ", ".join(_rollup_values(postgres, row))


def _latency_where(metric: str, row: str) -> str:
    return f"{row}source <> 'agent'" + (f" AND NOT {row}escalated" if metric == "handling" else "")


def _backfill(postgres: bool) -> list[str]:
    key = _rollup_key(postgres, "")
    sums = ["count(*)", "sum(confidence)", *(f"sum{_conf(i, 'confidence')}" for i in range(10))]
    sums += [f"sum({c})" for c in SUMMED]
    select = f"SELECT {key}, {', '.join(sums)} FROM routing_decisions WHERE true GROUP BY {key}"
    statements = [_upsert("daily_rollups", ROLLUP_KEY, ADDED, select, ADDED)]
    for metric in METRICS:
        counts = ", ".join("count(*)" if m == metric else "0" for m in METRICS)
        for channel in ("coalesce(channel_id, '')", "'*'"):
            group = f"{_bucket(postgres, metric + '_ms')}, {_day(postgres, 'created_at')}"
            by_channel = "" if channel == "'*'" else f"{channel}, "
            select = (
                f"SELECT {channel}, {group}, {counts} FROM routing_decisions "
                f"WHERE {_latency_where(metric, '')} GROUP BY {by_channel}{group}"
            )
            statements.append(_upsert("daily_latencies", LATENCY_KEY, METRICS, select, [metric]))
    return statements


def _on_insert(postgres: bool) -> list[str]:
    values = ["1", "NEW.confidence", *(_conf(i, "NEW.confidence") for i in range(10))]
    values += [f"NEW.{c}" for c in SUMMED]
    select = f"SELECT {_rollup_key(postgres, 'NEW.')}, {', '.join(values)} WHERE true"
    body = [_upsert("daily_rollups", ROLLUP_KEY, ADDED, select, ADDED)]
    for metric in METRICS:
        counts = ", ".join("1" if m == metric else "0" for m in METRICS)
        for channel in ("coalesce(NEW.channel_id, '')", "'*'"):
            key = f"{channel}, {_bucket(postgres, f'NEW.{metric}_ms')}, {_day(postgres, 'NEW.created_at')}"
            select = f"SELECT {key}, {counts} WHERE {_latency_where(metric, 'NEW.')}"
            body.append(_upsert("daily_latencies", LATENCY_KEY, METRICS, select, [metric]))
    return body


def _triggers(postgres: bool) -> list[str]:
    statements = []
    for event, body in (("INSERT", _on_insert(postgres)),):
        name, sql = TRIGGERS[event], "; ".join(body) + ";"
        if not postgres:
            statements.append(f"CREATE TRIGGER {name} AFTER {event} ON routing_decisions BEGIN {sql} END")
            continue
        function = f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {sql} "
        statements += [
            function + "RETURN NULL; END $$",
            f"CREATE TRIGGER {name} AFTER {event} ON routing_decisions "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()",
        ]
    return statements
