"""Decisions without the router's figures, and follow-ups: ``routing_decisions.measured`` and ``follow_up``.

``measured`` is false when a decision's times and tokens are stand-ins of 0: a reply found already posted
after a restart (the attempt that wrote it took its figures with it), and a message given up on after
every retry. Counted as 0 ms and $0 they pulled the averages, the percentiles and the cost per message
down. ``follow_up`` is true for a customer's message in a thread where the bot had already replied: a
manager reads "messages routed" as new conversations and follow-ups apart.

The rollups count both per group (``daily_rollups.unmeasured``, ``follow_ups``); the recreated trigger also
leaves unmeasured decisions out of the routing, handling and total histograms, as the report's exact
figures do. The covering index ``ix_routing_decisions_stats`` gains both columns, so the partial days of a
period are still read from it alone.

The upgrade marks the decisions already in the log: the give-ups (their rollups on every day too, purged
or not: their key says what they are), the replies recovered after a restart (by the error they were
recorded with; taken out of the histograms), and the follow-ups (a customer's decision with an earlier one
in its thread). Days that ``db purge`` emptied before the upgrade keep their recovered replies in the
times and count their follow-ups as conversations.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 15:30:00

"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision(name: str) -> ModuleType:
    """An earlier revision, for its SQL helpers; loaded from its file as Alembic loads it: a revision
    imports no bot code."""
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"_support_router_revision_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


R8 = _revision("0008_reply_time.py")
R2 = R8.R2
OLD_STATS_COLUMNS = list(R8.STATS_COLUMNS)
STATS_COLUMNS = [*OLD_STATS_COLUMNS, "measured", "follow_up"]
ROLLUP_COUNTS = ["unmeasured", "follow_ups"]
GAVE_UP = "source = 'fallback' AND coalesce(escalation_reason, '') = 'handler_error'"
# What bot.conversation recorded on a reply found in Slack after a restart.
RECOVERED = "error LIKE 'recovered after restart%'"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column(
        "routing_decisions", sa.Column("measured", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.add_column(
        "routing_decisions", sa.Column("follow_up", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    for name in ROLLUP_COUNTS:
        op.add_column(
            "daily_rollups", sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    R8._drop_trigger(postgres)
    no = "false" if postgres else "0"
    op.execute(
        f"UPDATE routing_decisions SET measured = {no} "
        f"WHERE source <> 'agent' AND (({GAVE_UP}) OR {RECOVERED})"
    )
    for statement in _recovered_in_histograms(postgres, sign=-1):
        op.execute(statement)
    op.execute(f"UPDATE daily_rollups SET unmeasured = decisions WHERE {GAVE_UP}")
    op.execute(_rollup_counts(postgres, "unmeasured", f"NOT measured AND NOT ({GAVE_UP})"))
    op.execute(_backfill_follow_ups(postgres))
    op.execute(_rollup_counts(postgres, "follow_ups", "follow_up"))
    for statement in _triggers(postgres):
        op.execute(statement)
    op.drop_index("ix_routing_decisions_stats", table_name="routing_decisions")
    op.create_index("ix_routing_decisions_stats", "routing_decisions", STATS_COLUMNS)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_routing_decisions_stats", table_name="routing_decisions")
    op.create_index("ix_routing_decisions_stats", "routing_decisions", OLD_STATS_COLUMNS)
    R8._drop_trigger(postgres)
    # 0008's histograms counted the recovered replies in every time: add back those still in the log.
    for statement in _recovered_in_histograms(postgres, sign=1):
        op.execute(statement)
    for name in reversed(ROLLUP_COUNTS):
        op.drop_column("daily_rollups", name)
    op.drop_column("routing_decisions", "follow_up")
    op.drop_column("routing_decisions", "measured")
    for statement in R8._triggers(postgres):
        op.execute(statement)


# The SQL below is frozen with this revision on purpose: a later change to the rollups is a new revision.


def _recovered_in_histograms(postgres: bool, sign: int) -> list[str]:
    """Take out of (sign -1) or put back in (+1) the routing, handling and total histograms the replies
    recovered after a restart that a classifier decided (the other stand-ins are out of them since 0008)."""
    count = "count(*)" if sign > 0 else "-count(*)"
    statements = []
    for metric in R8.METRICS[:3]:
        where = f"{R8._latency_where(metric, '')} AND {RECOVERED}"
        statements += R8._histogram_upserts(postgres, metric, where, count)
    return statements


def _rollup_counts(postgres: bool, column: str, where: str) -> str:
    """Add to ``column`` of each rollup row the count of its decisions in the log matching ``where``."""
    key = R2._rollup_key(postgres, "")
    columns = [*R2.ADDED, *R8.ROLLUP_REPLY, *ROLLUP_COUNTS]
    values = ["count(*)" if c == column else "0" for c in columns]
    select = f"SELECT {key}, {', '.join(values)} FROM routing_decisions WHERE {where} GROUP BY {key}"
    return R2._upsert("daily_rollups", R2.ROLLUP_KEY, columns, select, [column])


def _backfill_follow_ups(postgres: bool) -> str:
    """A customer's decision is a follow-up when an earlier customer's decision is in its thread (the bot
    records a decision once its reply is posted: it had replied there)."""
    yes = "true" if postgres else "1"
    ranked = (
        "SELECT id, row_number() OVER (PARTITION BY team_id, channel_id, thread_ts ORDER BY created_at, id)"
        " AS n FROM routing_decisions WHERE source <> 'agent' AND thread_ts IS NOT NULL"
    )
    later = f"SELECT id FROM ({ranked}) r WHERE n > 1"
    return f"UPDATE routing_decisions SET follow_up = {yes} WHERE id IN ({later})"


def _on_insert(postgres: bool) -> list[str]:
    values = ["1", "NEW.confidence", *(R2._conf(i, "NEW.confidence") for i in range(10))]
    values += [f"NEW.{c}" for c in R2.SUMMED]
    values += ["coalesce(NEW.reply_ms, 0)", "CASE WHEN NEW.reply_ms IS NULL THEN 0 ELSE 1 END"]
    values += ["CASE WHEN NEW.measured THEN 0 ELSE 1 END", "CASE WHEN NEW.follow_up THEN 1 ELSE 0 END"]
    select = f"SELECT {R2._rollup_key(postgres, 'NEW.')}, {', '.join(values)} WHERE true"
    added = [*R2.ADDED, *R8.ROLLUP_REPLY, *ROLLUP_COUNTS]
    body = [R2._upsert("daily_rollups", R2.ROLLUP_KEY, added, select, added)]
    for metric in R8.METRICS:
        counts = ", ".join("1" if m == metric else "0" for m in R8.METRICS)
        where = R8._latency_where(metric, "NEW.") + ("" if metric == "reply" else " AND NEW.measured")
        for channel in ("coalesce(NEW.channel_id, '')", "'*'"):
            bucket, day = R2._bucket(postgres, f"NEW.{metric}_ms"), R2._day(postgres, "NEW.created_at")
            select = f"SELECT {channel}, {bucket}, {day}, {counts} WHERE {where}"
            body.append(R2._upsert("daily_latencies", R2.LATENCY_KEY, R8.METRICS, select, [metric]))
    return body


def _triggers(postgres: bool) -> list[str]:
    sql = "; ".join(_on_insert(postgres)) + ";"
    if not postgres:
        return [f"CREATE TRIGGER {R8.TRIGGER} AFTER INSERT ON routing_decisions BEGIN {sql} END"]
    function = f"CREATE FUNCTION {R8.TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {sql} "
    return [
        function + "RETURN NULL; END $$",
        f"CREATE TRIGGER {R8.TRIGGER} AFTER INSERT ON routing_decisions "
        f"FOR EACH ROW EXECUTE FUNCTION {R8.TRIGGER}()",
    ]
