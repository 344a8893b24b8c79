"""Withdrawn messages and stopped answers in the rollups: ``daily_rollups.withdrawn`` and ``stopped``.

A decision on a message its author deleted before the bot answered (``routing_decisions.withdrawn``,
0020) posted nothing, yet the report counted it like any other: an escalation no agent was told of, an
answer in its category, a wait for a reply that never came. An answer the customer stopped in Slack
(``stopped_by_customer``, 0019) was counted as any answer, where a manager reads it as one the customer did
not want to read to the end. The rollups now count both per group: ``withdrawn`` every withdrawn decision,
``stopped`` the stopped answers that were posted (a deletion mid-stream stops Claude too: that is a
withdrawal, not a stop). A withdrawn thank-you closed nothing: ``acknowledgements`` no longer counts it,
and its 0 ms is a withdrawn answer's handling time like the others' (the report counts it so).

A withdrawn decision has no reply time (the customer waited for nothing): the store records none since
this revision, and the upgrade takes those already in the log out of the rollups, the reply histogram and
the decisions themselves. The covering index ``ix_routing_decisions_stats`` gains both marks, so the
partial days of a period are still read from it alone. Days that ``db purge`` emptied keep their old
counts.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-28 21:00:00

"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
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


R15 = _revision("0015_acknowledgements.py")
R8, R2 = R15.R8, R15.R2
OLD_STATS_COLUMNS = list(R15.STATS_COLUMNS)
STATS_COLUMNS = [*OLD_STATS_COLUMNS, "withdrawn", "stopped_by_customer"]
NEW_COUNTS = ["withdrawn", "stopped"]
ROLLUP_COUNTS = [*R15.ROLLUP_COUNTS, *NEW_COUNTS]
COLUMNS = [*R2.ADDED, *R8.ROLLUP_REPLY, *ROLLUP_COUNTS]
# A thank-you withdrawn before its reply: out of the thank-yous, in the handling time (0 ms, as recorded).
WITHDRAWN_THANKS = "acknowledgement AND withdrawn"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in NEW_COUNTS:
        op.add_column(
            "daily_rollups", sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    R8._drop_trigger(postgres)
    op.execute(_rollup_counts(postgres, sign=1))
    for statement in _withdrawn_in_histograms(postgres, sign=1):
        op.execute(statement)
    op.execute("UPDATE routing_decisions SET reply_ms = NULL WHERE withdrawn")
    for statement in _triggers(postgres):
        op.execute(statement)
    op.drop_index("ix_routing_decisions_stats", table_name="routing_decisions")
    op.create_index("ix_routing_decisions_stats", "routing_decisions", STATS_COLUMNS)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_routing_decisions_stats", table_name="routing_decisions")
    op.create_index("ix_routing_decisions_stats", "routing_decisions", OLD_STATS_COLUMNS)
    R8._drop_trigger(postgres)
    # The withdrawn decisions' reply times are gone from the log: only the thank-yous are put back.
    op.execute(_rollup_counts(postgres, sign=-1))
    for statement in _withdrawn_in_histograms(postgres, sign=-1):
        op.execute(statement)
    for name in reversed(NEW_COUNTS):
        op.drop_column("daily_rollups", name)
    for statement in R15._triggers(postgres):
        op.execute(statement)


# The SQL below is frozen with this revision on purpose: a later change to the rollups is a new revision.


def _rollup_counts(postgres: bool, sign: int) -> str:
    """Count (sign +1) the withdrawn decisions and stopped answers in the log in their rollups, take the
    withdrawn thank-yous out of ``acknowledgements`` and the withdrawn decisions' waits out of the reply
    sums; on a downgrade (-1) put the thank-yous back (the new columns go, the waits are gone)."""

    def count(where: str) -> str:
        return f"sum(CASE WHEN {where} THEN 1 ELSE 0 END)"

    if sign > 0:
        where, columns = "withdrawn OR stopped_by_customer", COLUMNS
        found = {
            "withdrawn": count("withdrawn"),
            "stopped": count("stopped_by_customer AND NOT withdrawn"),
            "acknowledgements": "-" + count(WITHDRAWN_THANKS),
            "reply_ms": "-sum(CASE WHEN withdrawn THEN coalesce(reply_ms, 0) ELSE 0 END)",
            "replies": "-" + count("withdrawn AND reply_ms IS NOT NULL"),
        }
    else:
        where, columns = WITHDRAWN_THANKS, [c for c in COLUMNS if c not in NEW_COUNTS]
        found = {"acknowledgements": count(WITHDRAWN_THANKS)}
    key = R2._rollup_key(postgres, "")
    values = ", ".join(found.get(c, "0") for c in columns)
    select = f"SELECT {key}, {values} FROM routing_decisions WHERE {where} GROUP BY {key}"
    return R2._upsert("daily_rollups", R2.ROLLUP_KEY, columns, select, list(found))


def _withdrawn_in_histograms(postgres: bool, sign: int) -> list[str]:
    """Take the withdrawn decisions' waits out of the reply histogram (upgrade, +1: a downgrade cannot put
    them back), and put the withdrawn thank-yous in (+1) or out of (-1) the handling histogram."""
    count = "count(*)" if sign > 0 else "-count(*)"
    thanks = f"{R8._latency_where('handling', '')} AND measured AND {WITHDRAWN_THANKS}"
    statements = R8._histogram_upserts(postgres, "handling", thanks, count)
    if sign > 0:
        waits = f"{R8._latency_where('reply', '')} AND withdrawn"
        statements += R8._histogram_upserts(postgres, "reply", waits, "-count(*)")
    return statements


def _on_insert(postgres: bool) -> list[str]:
    values = ["1", "NEW.confidence", *(R2._conf(i, "NEW.confidence") for i in range(10))]
    values += [f"NEW.{c}" for c in R2.SUMMED]
    values += ["coalesce(NEW.reply_ms, 0)", "CASE WHEN NEW.reply_ms IS NULL THEN 0 ELSE 1 END"]
    values += ["CASE WHEN NEW.measured THEN 0 ELSE 1 END", "CASE WHEN NEW.follow_up THEN 1 ELSE 0 END"]
    values += ["CASE WHEN NEW.acknowledgement AND NOT NEW.withdrawn THEN 1 ELSE 0 END"]
    values += ["CASE WHEN NEW.withdrawn THEN 1 ELSE 0 END"]
    values += ["CASE WHEN NEW.stopped_by_customer AND NOT NEW.withdrawn THEN 1 ELSE 0 END"]
    select = f"SELECT {R2._rollup_key(postgres, 'NEW.')}, {', '.join(values)} WHERE true"
    body = [R2._upsert("daily_rollups", R2.ROLLUP_KEY, COLUMNS, select, COLUMNS)]
    for metric in R8.METRICS:
        counts = ", ".join("1" if m == metric else "0" for m in R8.METRICS)
        where = R8._latency_where(metric, "NEW.") + ("" if metric == "reply" else " AND NEW.measured")
        # A thank-you's reply was written by no handler: its 0 ms is no handling time (unless withdrawn:
        # then it is one of the withdrawn answers, counted as the report counts them).
        where += " AND NOT (NEW.acknowledgement AND NOT NEW.withdrawn)" if metric == "handling" else ""
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
