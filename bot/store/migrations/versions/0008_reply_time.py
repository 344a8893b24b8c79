"""The customer's wait: ``routing_decisions.reply_ms``, summed in the rollups and in the latency histograms.

``reply_ms`` is the time from the customer's message (its Slack ts) to the record of the bot's reply,
answer or escalation: queueing, posting to Slack and retries with back-off included, which the routing,
handling and total times (measured inside the router) leave out. None for an agent's re-route (not a
customer's message) and for decisions without a Slack ts (the CLI's demo and chat).

The upgrade computes it for the decisions already in the log (their created_at less their message_ts),
adds it to ``daily_rollups`` (a sum and a count) and ``daily_latencies`` (a fourth histogram), and
recreates the trigger of migration 0002 to keep them. The new trigger also leaves files sent alone and
give-ups (placeholders no classifier decided, with times of 0) out of the routing, handling and total
histograms, as the report's exact figures do, but counts them in the reply histogram: their customer
waited. The histograms are corrected from the decisions still in the log; the days that ``db purge``
emptied keep their old counts and have no reply times.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 13:10:00

"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision_0002() -> ModuleType:
    """Migration 0002, for its SQL helpers (bucket, day, upsert, trigger); loaded from its file as
    Alembic loads it: a revision imports no bot code."""
    path = Path(__file__).with_name("0002_route_feedback_and_stats_rollups.py")
    spec = importlib.util.spec_from_file_location("_support_router_revision_0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


R2 = _revision_0002()
TRIGGER = R2.TRIGGERS["INSERT"]
METRICS = ["routing", "handling", "total", "reply"]
ROLLUP_REPLY = ["reply_ms", "replies"]
OLD_STATS_COLUMNS = list(R2.STATS_COLUMNS)
STATS_COLUMNS = [*OLD_STATS_COLUMNS, "reply_ms"]
FEEDBACK_STATS_COLUMNS = ["decided_at", "channel_id", "routed_category", "verdict", "classified"]
# Decisions no classifier made (bot.stats.queries.not_classified): a file alone, and a give-up.
PLACEHOLDER = (
    "(source = 'none' OR (source = 'fallback' AND coalesce(escalation_reason, '') = 'handler_error'))"
)
# A Slack ts: digits, a dot and digits ("1712345678.000100").
SQLITE_TS = "message_ts GLOB '[0-9]*' AND message_ts NOT GLOB '*[^0-9.]*' AND message_ts NOT GLOB '*.*.*'"
POSTGRES_TS = "message_ts ~ '^[0-9]+(\\.[0-9]+)?$'"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("routing_decisions", sa.Column("reply_ms", sa.Float(), nullable=True))
    op.add_column(
        "daily_rollups", sa.Column("reply_ms", sa.Float(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(
        "daily_rollups", sa.Column("replies", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(
        "daily_latencies", sa.Column("reply", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    _drop_trigger(postgres)
    op.execute(_backfill_reply(postgres))
    for statement in _rebuild(postgres):
        op.execute(statement)
    for statement in _triggers(postgres):
        op.execute(statement)
    op.drop_index("ix_routing_decisions_stats", table_name="routing_decisions")
    op.create_index("ix_routing_decisions_stats", "routing_decisions", STATS_COLUMNS)
    # Verdicts on placeholders say nothing of the classifier: marked on the verdict itself, so that the
    # report counts verdicts from this table's index alone (joining each one to its decision cost 95 ms
    # over 20,000 verdicts in the 1,000,000-decision bench).
    op.add_column(
        "route_feedback", sa.Column("classified", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.execute(
        "UPDATE route_feedback SET classified = " + ("false" if postgres else "0") + " WHERE decision_id IN "
        f"(SELECT id FROM routing_decisions WHERE NOT ({_classified('')}))"
    )
    op.drop_index("ix_route_feedback_stats", table_name="route_feedback")
    op.create_index("ix_route_feedback_stats", "route_feedback", FEEDBACK_STATS_COLUMNS)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_route_feedback_stats", table_name="route_feedback")
    op.create_index("ix_route_feedback_stats", "route_feedback", FEEDBACK_STATS_COLUMNS[:-1])
    op.drop_column("route_feedback", "classified")
    _drop_trigger(postgres)
    # 0002's histograms counted the files alone and give-ups in every time: add back those still in the log.
    for statement in _placeholders(postgres, sign=1):
        op.execute(statement)
    op.drop_index("ix_routing_decisions_stats", table_name="routing_decisions")
    op.create_index("ix_routing_decisions_stats", "routing_decisions", OLD_STATS_COLUMNS)
    op.drop_column("daily_latencies", "reply")
    op.drop_column("daily_rollups", "replies")
    op.drop_column("daily_rollups", "reply_ms")
    op.drop_column("routing_decisions", "reply_ms")
    for statement in R2._triggers(postgres):
        op.execute(statement)


def _drop_trigger(postgres: bool) -> None:
    if postgres:
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON routing_decisions")
        op.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")


# The SQL below is frozen with this revision on purpose: a later change to the rollups is a new revision.


def _reply_ms(postgres: bool, ts: str, created_at: str) -> str:
    """``created_at`` less ``ts`` (epoch seconds) in ms, at least 0."""
    if postgres:
        return f"greatest(0.0, (extract(epoch FROM {created_at}) - CAST({ts} AS double precision)) * 1000.0)"
    # SQLite keeps created_at as naive UTC text; julianday's double keeps it to about 50 µs.
    return f"max(0.0, ((julianday({created_at}) - 2440587.5) * 86400.0 - CAST({ts} AS REAL)) * 1000.0)"


def _backfill_reply(postgres: bool) -> str:
    """Every customer's decision in the log whose message_ts is a Slack ts gets its reply time."""
    numeric = POSTGRES_TS if postgres else SQLITE_TS
    return (
        f"UPDATE routing_decisions SET reply_ms = {_reply_ms(postgres, 'message_ts', 'created_at')} "
        f"WHERE source <> 'agent' AND message_ts IS NOT NULL AND {numeric}"
    )


def _classified(row: str) -> str:
    """SQL: ``row`` is a customer's decision made by a classifier (not an agent's, nor a placeholder)."""
    placeholder = PLACEHOLDER.replace("source", f"{row}source").replace(
        "coalesce(escalation", f"coalesce({row}escalation"
    )
    return f"{row}source <> 'agent' AND NOT {placeholder}"


def _latency_where(metric: str, row: str) -> str:
    if metric == "reply":
        return f"{row}source <> 'agent' AND {row}reply_ms IS NOT NULL"
    return _classified(row) + (f" AND NOT {row}escalated" if metric == "handling" else "")


def _histogram_upserts(postgres: bool, metric: str, where: str, count: str) -> list[str]:
    """Add ``count`` per bucket of the decisions matching ``where`` to ``metric``'s histogram."""
    statements = []
    for channel in ("coalesce(channel_id, '')", "'*'"):
        group = f"{R2._bucket(postgres, metric + '_ms')}, {R2._day(postgres, 'created_at')}"
        by_channel = "" if channel == "'*'" else f"{channel}, "
        counts = ", ".join(count if m == metric else "0" for m in METRICS)
        select = f"SELECT {channel}, {group}, {counts} FROM routing_decisions WHERE {where} "
        select += f"GROUP BY {by_channel}{group}"
        statements.append(R2._upsert("daily_latencies", R2.LATENCY_KEY, METRICS, select, [metric]))
    return statements


def _placeholders(postgres: bool, sign: int) -> list[str]:
    """Take out of (sign -1) or put back in (+1) the routing, handling and total histograms the files
    alone and give-ups still in the log, as 0002's trigger counted them (every decision but an agent's)."""
    count = "count(*)" if sign > 0 else "-count(*)"
    statements = []
    for metric in METRICS[:3]:
        where = PLACEHOLDER + (" AND NOT escalated" if metric == "handling" else "")
        statements += _histogram_upserts(postgres, metric, where, count)
    return statements


def _rebuild(postgres: bool) -> list[str]:
    """The rollups and histograms brought in line with the decisions in the log: their reply times
    added, the placeholders taken out of the other times."""
    key = R2._rollup_key(postgres, "")
    zeros = ["0"] * (len(R2.ADDED))
    select = (
        f"SELECT {key}, {', '.join(zeros)}, sum(reply_ms), count(*) FROM routing_decisions "
        f"WHERE reply_ms IS NOT NULL GROUP BY {key}"
    )
    columns = [*R2.ADDED, *ROLLUP_REPLY]
    statements = [R2._upsert("daily_rollups", R2.ROLLUP_KEY, columns, select, ROLLUP_REPLY)]
    statements += _histogram_upserts(postgres, "reply", _latency_where("reply", ""), "count(*)")
    return statements + _placeholders(postgres, sign=-1)


def _on_insert(postgres: bool) -> list[str]:
    values = ["1", "NEW.confidence", *(R2._conf(i, "NEW.confidence") for i in range(10))]
    values += [f"NEW.{c}" for c in R2.SUMMED]
    values += ["coalesce(NEW.reply_ms, 0)", "CASE WHEN NEW.reply_ms IS NULL THEN 0 ELSE 1 END"]
    select = f"SELECT {R2._rollup_key(postgres, 'NEW.')}, {', '.join(values)} WHERE true"
    added = [*R2.ADDED, *ROLLUP_REPLY]
    body = [R2._upsert("daily_rollups", R2.ROLLUP_KEY, added, select, added)]
    for metric in METRICS:
        counts = ", ".join("1" if m == metric else "0" for m in METRICS)
        for channel in ("coalesce(NEW.channel_id, '')", "'*'"):
            bucket, day = R2._bucket(postgres, f"NEW.{metric}_ms"), R2._day(postgres, "NEW.created_at")
            key = f"{channel}, {bucket}, {day}"
            select = f"SELECT {key}, {counts} WHERE {_latency_where(metric, 'NEW.')}"
            body.append(R2._upsert("daily_latencies", R2.LATENCY_KEY, METRICS, select, [metric]))
    return body


def _triggers(postgres: bool) -> list[str]:
    sql = "; ".join(_on_insert(postgres)) + ";"
    if not postgres:
        return [f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON routing_decisions BEGIN {sql} END"]
    function = f"CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {sql} "
    return [
        function + "RETURN NULL; END $$",
        f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON routing_decisions "
        f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()",
    ]
