"""Thank-yous closing a conversation: ``routing_decisions.acknowledgement``, counted in the rollups.

A message that only thanks or says goodbye after an answer ("Thanks, that fixed it!") gets the routes'
``acknowledgement_reply``, written by no handler: its handling time is a stand-in of 0 ms, and its category
is whatever the classifier made of "thanks". Counted as answers, they pulled the handling time's average
and p50 down and swelled one category's share. ``acknowledgement`` marks them; the report counts them on a
line of their own ("closed with thanks"), out of the handling time and the category shares.

The rollups count them per group (``daily_rollups.acknowledgements``); the recreated trigger also leaves
them out of the handling histogram. The covering index ``ix_routing_decisions_stats`` gains the column, so
the partial days of a period are still read from it alone.

The upgrade marks the decisions already in the log that can only be thank-yous (a customer's message
answered, measured, with no handler model, not offline, in 0 ms of handling), adds them to their rollups
and takes them out of the handling histogram. Days that ``db purge`` emptied before the upgrade keep
them among the answers.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 16:00:00

"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
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


R9 = _revision("0009_unmeasured_and_follow_ups.py")
R8, R2 = R9.R8, R9.R2
OLD_STATS_COLUMNS = list(R9.STATS_COLUMNS)
STATS_COLUMNS = [*OLD_STATS_COLUMNS, "acknowledgement"]
ROLLUP_COUNTS = [*R9.ROLLUP_COUNTS, "acknowledgements"]
# What only a thank-you's decision looks like in the log: a customer's message answered with no handler
# behind the answer (an offline answer has no model either, but is marked offline).
THANK_YOU = (
    "source <> 'agent' AND NOT escalated AND measured AND NOT offline AND handler_model IS NULL "
    "AND handling_ms = 0"
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column(
        "routing_decisions",
        sa.Column("acknowledgement", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "daily_rollups",
        sa.Column("acknowledgements", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    R8._drop_trigger(postgres)
    yes = "true" if postgres else "1"
    op.execute(f"UPDATE routing_decisions SET acknowledgement = {yes} WHERE {THANK_YOU}")
    op.execute(_rollup_counts(postgres))
    for statement in _in_handling_histogram(postgres, sign=-1):
        op.execute(statement)
    for statement in _triggers(postgres):
        op.execute(statement)
    op.drop_index("ix_routing_decisions_stats", table_name="routing_decisions")
    op.create_index("ix_routing_decisions_stats", "routing_decisions", STATS_COLUMNS)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_routing_decisions_stats", table_name="routing_decisions")
    op.create_index("ix_routing_decisions_stats", "routing_decisions", OLD_STATS_COLUMNS)
    R8._drop_trigger(postgres)
    # 0009's histograms counted the thank-yous among the handling times: add back those still in the log.
    for statement in _in_handling_histogram(postgres, sign=1):
        op.execute(statement)
    op.drop_column("daily_rollups", "acknowledgements")
    op.drop_column("routing_decisions", "acknowledgement")
    for statement in R9._triggers(postgres):
        op.execute(statement)


# The SQL below is frozen with this revision on purpose: a later change to the rollups is a new revision.


def _in_handling_histogram(postgres: bool, sign: int) -> list[str]:
    """Take out of (sign -1) or put back in (+1) the handling histogram the thank-yous in the log."""
    count = "count(*)" if sign > 0 else "-count(*)"
    where = f"{R8._latency_where('handling', '')} AND measured AND acknowledgement"
    return R8._histogram_upserts(postgres, "handling", where, count)


def _rollup_counts(postgres: bool) -> str:
    """Add to ``acknowledgements`` of each rollup row the count of its thank-yous in the log."""
    key = R2._rollup_key(postgres, "")
    columns = [*R2.ADDED, *R8.ROLLUP_REPLY, *ROLLUP_COUNTS]
    values = ["count(*)" if c == "acknowledgements" else "0" for c in columns]
    select = f"SELECT {key}, {', '.join(values)} FROM routing_decisions WHERE acknowledgement GROUP BY {key}"
    return R2._upsert("daily_rollups", R2.ROLLUP_KEY, columns, select, ["acknowledgements"])


def _on_insert(postgres: bool) -> list[str]:
    values = ["1", "NEW.confidence", *(R2._conf(i, "NEW.confidence") for i in range(10))]
    values += [f"NEW.{c}" for c in R2.SUMMED]
    values += ["coalesce(NEW.reply_ms, 0)", "CASE WHEN NEW.reply_ms IS NULL THEN 0 ELSE 1 END"]
    values += ["CASE WHEN NEW.measured THEN 0 ELSE 1 END", "CASE WHEN NEW.follow_up THEN 1 ELSE 0 END"]
    values += ["CASE WHEN NEW.acknowledgement THEN 1 ELSE 0 END"]
    select = f"SELECT {R2._rollup_key(postgres, 'NEW.')}, {', '.join(values)} WHERE true"
    added = [*R2.ADDED, *R8.ROLLUP_REPLY, *ROLLUP_COUNTS]
    body = [R2._upsert("daily_rollups", R2.ROLLUP_KEY, added, select, added)]
    for metric in R8.METRICS:
        counts = ", ".join("1" if m == metric else "0" for m in R8.METRICS)
        where = R8._latency_where(metric, "NEW.") + ("" if metric == "reply" else " AND NEW.measured")
        # A thank-you's reply was written by no handler: its 0 ms is no handling time.
        where += " AND NOT NEW.acknowledgement" if metric == "handling" else ""
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
