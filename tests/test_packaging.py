"""An installed wheel is the whole product: its migrations travel inside it, no checkout needed."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# Left out of the copy the wheel is built from: setuptools builds in the source tree's build/, where a
# file renamed or deleted since an earlier build lingers and would go into the wheel (a migration renamed
# there made two heads).
NOT_SOURCES = shutil.ignore_patterns(
    "build", ".venv", ".git", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "routing.db*"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source") / "support-router"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (path,) = out.glob("support_router-*.whl")
    return path


def test_the_wheel_carries_every_migration(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    revisions = sorted(p.name for p in (ROOT / "bot" / "store" / "migrations" / "versions").glob("*.py"))
    assert revisions
    assert {f"bot/store/migrations/versions/{name}" for name in revisions} <= names
    shipped = {"bot/store/migrations/env.py", "bot/store/migrations/script.py.mako", "router/routes.yml"}
    assert shipped <= names


def test_an_installed_wheel_migrates_a_database_away_from_the_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    database = tmp_path / "routing.db"
    code = f"import bot.store.migrate as m; m.upgrade('sqlite:///{database}'); print(m.MIGRATIONS)"
    # The installed copy comes first on the path; the working folder is not the checkout.
    ran = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert Path(ran.stdout.strip()).is_relative_to(target)
    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"inbound_messages", "routing_decisions", "threads", "alembic_version"} <= tables
