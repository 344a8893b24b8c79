"""``support-router db purge --older-than 90d`` as a user runs it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot.arguments import build_parser
from bot.commands.database import parse_duration
from bot.store import Store, upgrade_async
from tests.bot.test_cli import run_cli
from tests.store.samples import decision, message
from tests.store.test_store_retention import _age


async def _seed(url: str) -> None:
    await upgrade_async(url)
    store = await Store.connect(url)
    try:
        old, recent = message("1.000001"), message("2.000001")
        assert await store.claim(old)
        await store.complete(old, decision(), "1.5")
        await _age(store, 120)
        assert await store.claim(recent)
        await store.complete(recent, decision(), "2.5")
    finally:
        await store.close()


def test_purge_deletes_what_is_older_than_the_age_given(tmp_path: Path) -> None:
    asyncio.run(_seed(f"sqlite:///{tmp_path / 'cli.db'}"))
    result = run_cli(tmp_path, "db", "purge", "--older-than", "90d")
    assert result.returncode == 0, result.stderr
    assert "Deleted 1 decision(s), 1 finished message(s)" in result.stdout
    assert "older than 90 day(s)" in result.stdout
    again = run_cli(tmp_path, "db", "purge", "--older-than", "90d")
    assert "Deleted 0 decision(s)" in again.stdout


def test_the_age_is_reported_as_given(tmp_path: Path) -> None:
    asyncio.run(_seed(f"sqlite:///{tmp_path / 'cli.db'}"))
    result = run_cli(tmp_path, "db", "purge", "--older-than", "36h")
    assert result.returncode == 0, result.stderr
    assert "older than 36 hour(s)." in result.stdout
    result = run_cli(tmp_path, "db", "purge", "--older-than", "2w")
    assert "older than 2 week(s)." in result.stdout


@pytest.mark.parametrize("command", [["db", "purge", "--older-than", "90d"], ["stats", "all"]])
def test_a_sqlite_file_that_is_not_there_is_named_not_created_empty(
    tmp_path: Path, command: list[str]
) -> None:
    # Run from the wrong folder: sqlite:///cli.db is relative to it.
    result = run_cli(tmp_path, *command)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"DATABASE_URL: there is no database at {tmp_path / 'cli.db'}; run the command in the folder" in (
        result.stderr
    )
    assert not (tmp_path / "cli.db").exists()


def test_a_bad_age_is_refused_before_touching_the_database(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "db", "purge", "--older-than", "90 days")
    assert result.returncode == 2
    assert "argument --older-than: expected a positive age like 90d" in result.stderr
    assert not (tmp_path / "cli.db").exists()


def test_an_age_before_the_year_one_is_refused_before_touching_the_database(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "db", "purge", "--older-than", "99999999d")
    assert result.returncode == 2
    assert "argument --older-than: '99999999d' reaches back before the year 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cli.db").exists()


@pytest.mark.parametrize("age", ["-5d", "-90d", "-12w"])
def test_a_negative_age_written_apart_from_its_option_says_what_an_age_is(tmp_path: Path, age: str) -> None:
    # argparse takes "-5d" for an option: it said only "expected one argument".
    result = run_cli(tmp_path, "db", "purge", "--older-than", age)
    assert result.returncode == 2
    assert (
        f"argument --older-than: expected a positive age like 90d (days), 12w (weeks) or 36h (hours), "
        f"not '{age}'"
    ) in result.stderr
    assert not (tmp_path / "cli.db").exists()


@pytest.mark.parametrize(
    "age", ["90", "ninety days", "0d", "-5d", "90y", "", "99999999999w", "99999999d", "9999999999h"]
)
def test_bad_ages_get_a_clear_message(age: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["db", "purge", f"--older-than={age}"])
    assert exited.value.code == 2
    assert "argument --older-than:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12w", timedelta(weeks=12)),
        ("36h", timedelta(hours=36)),
        (" 7D ", timedelta(days=7)),
    ],
)
def test_ages(age: str, expected: timedelta) -> None:
    assert parse_duration(age) == expected


def test_an_age_prints_as_given() -> None:
    assert str(parse_duration(" 36H ")) == "36 hour(s)"
    assert str(parse_duration("90d")) == "90 day(s)"
    assert str(parse_duration("12w")) == "12 week(s)"
