"""Answers cut short out of the handling and total times: ``daily_rollups.cut_short``.

An answer the customer stopped (``stopped_by_customer``, 0019; a message deleted while its answer
streamed stops Claude too) has a handling time that ends where the stop came, not where the answer would
have: counted, the handling and total times' average, p50 and p95 read faster than the bot writes its
answers, the more so the more customers stop them. Its routing time is whole and still counts.

The rollup trigger now leaves those answers' handling and total times out of the sums and the latency
histograms, and counts them per group in ``cut_short`` (those with the router's times on record: a reply
found after a restart has stand-ins of 0, which ``unmeasured`` already leaves out), so the report takes
them out of each time's count too. The upgrade does the same for the answers already in the log; days
that ``db purge`` emptied keep their old sums.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29 10:00:00

"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
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


R21 = _revision("0021_withdrawn_and_stopped_in_rollups.py")
R8, R2 = R21.R8, R21.R2
ROLLUP_COUNTS = [*R21.ROLLUP_COUNTS, "cut_short"]
COLUMNS = [*R2.ADDED, *R8.ROLLUP_REPLY, *ROLLUP_COUNTS]
# The times a stop cuts short; the routing time was over before the answer began.
CUT_TIMES = ["handling", "total"]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column(
        "daily_rollups", sa.Column("cut_short", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    R8._drop_trigger(postgres)
    for statement in _cut_short_in_log(postgres, sign=-1):
        op.execute(statement)
    for statement in _triggers(postgres):
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    R8._drop_trigger(postgres)
    for statement in _cut_short_in_log(postgres, sign=1):
        op.execute(statement)
    op.drop_column("daily_rollups", "cut_short")
    for statement in R21._triggers(postgres):
        op.execute(statement)


# The SQL below is frozen with this revision on purpose: a later change to the rollups is a new revision.

CUT = "stopped_by_customer"


def _cut_short_in_log(postgres: bool, sign: int) -> list[str]:
    """Take the cut-short answers in the log out of (sign -1) or put them back in (+1) the handling and
    total sums and histograms; count them in ``cut_short`` on the way out (the downgrade drops it)."""
    minus = "" if sign > 0 else "-"
    found = {f"{m}_ms": f"{minus}sum({m}_ms)" for m in CUT_TIMES}
    if sign < 0:
        found["cut_short"] = "sum(CASE WHEN measured THEN 1 ELSE 0 END)"
    columns = COLUMNS if sign < 0 else [c for c in COLUMNS if c != "cut_short"]
    key = R2._rollup_key(postgres, "")
    values = ", ".join(found.get(c, "0") for c in columns)
    select = f"SELECT {key}, {values} FROM routing_decisions WHERE {CUT} GROUP BY {key}"
    statements = [R2._upsert("daily_rollups", R2.ROLLUP_KEY, columns, select, list(found))]
    for metric in CUT_TIMES:
        where = f"{_latency_where(metric, '')} AND {CUT}"
        statements += R8._histogram_upserts(postgres, metric, where, f"{minus}count(*)")
    return statements


def _latency_where(metric: str, row: str) -> str:
    """The decisions whose ``metric`` the 0021 trigger counted in its histogram."""
    where = f"{R8._latency_where(metric, row)} AND {row}measured"
    if metric == "handling":
        where += f" AND NOT ({row}acknowledgement AND NOT {row}withdrawn)"
    return where


def _on_insert(postgres: bool) -> list[str]:
    values = ["1", "NEW.confidence", *(R2._conf(i, "NEW.confidence") for i in range(10))]
    cut = {f"{m}_ms" for m in CUT_TIMES}
    values += [f"CASE WHEN NEW.{CUT} THEN 0 ELSE NEW.{c} END" if c in cut else f"NEW.{c}" for c in R2.SUMMED]
    values += ["coalesce(NEW.reply_ms, 0)", "CASE WHEN NEW.reply_ms IS NULL THEN 0 ELSE 1 END"]
    values += ["CASE WHEN NEW.measured THEN 0 ELSE 1 END", "CASE WHEN NEW.follow_up THEN 1 ELSE 0 END"]
    values += ["CASE WHEN NEW.acknowledgement AND NOT NEW.withdrawn THEN 1 ELSE 0 END"]
    values += ["CASE WHEN NEW.withdrawn THEN 1 ELSE 0 END"]
    values += [f"CASE WHEN NEW.{CUT} AND NOT NEW.withdrawn THEN 1 ELSE 0 END"]
    values += [f"CASE WHEN NEW.{CUT} AND NEW.measured THEN 1 ELSE 0 END"]
    select = f"SELECT {R2._rollup_key(postgres, 'NEW.')}, {', '.join(values)} WHERE true"
    body = [R2._upsert("daily_rollups", R2.ROLLUP_KEY, COLUMNS, select, COLUMNS)]
    for metric in R8.METRICS:
        counts = ", ".join("1" if m == metric else "0" for m in R8.METRICS)
        where = R8._latency_where(metric, "NEW.") if metric == "reply" else _latency_where(metric, "NEW.")
        where += f" AND NOT NEW.{CUT}" if metric in CUT_TIMES else ""
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
