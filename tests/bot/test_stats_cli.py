"""``support-router stats`` as a user runs it in a terminal: its usage, its channels, demo's decisions."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from bot.commands.stats import USAGE, print_stats
from bot.settings import Settings
from bot.store import Store
from tests.bot.stats_samples import seed
from tests.bot.test_cli import run_cli


def _settings(url: str) -> Settings:
    return Settings(_env_file=None, database_url=url)


async def _stats(url: str, period: str | None, *channels: str) -> tuple[int, str]:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    code = await print_stats(_settings(url), period, channels, console)
    out = console.file
    assert isinstance(out, io.StringIO)
    return code, out.getvalue()


@pytest.mark.parametrize("period", ["1d", "last-week", "2026-02-30..2026-03-01"])
async def test_a_wrong_period_gets_the_whole_terminal_usage(
    period: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = await _stats(f"sqlite:///{tmp_path / 'never.db'}", period)
    assert (code, out) == (2, "")
    err = capsys.readouterr().err
    assert err.startswith(
        f"support-router stats: {period!r}" if ".." in period else "support-router stats: I"
    )
    assert "Usage: support-router stats [PERIOD] [--channel ID]" in err
    assert "24h, 7d (the default), 30d, all, or a date range" in err
    assert "/routing-stats" not in err and "Slack's list" not in err
    assert not (tmp_path / "never.db").exists()  # refused before the database is opened


@pytest.mark.parametrize(("channel", "shown"), [("#support", "'#support'"), ("general", "'general'")])
async def test_a_channel_name_is_explained_in_terminal_terms(
    channel: str, shown: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _ = await _stats(f"sqlite:///{tmp_path / 'never.db'}", "7d", channel)
    err = capsys.readouterr().err
    assert code == 2
    assert f"--channel takes a channel's id, like C0123ABCD, not {shown}" in err
    assert "#support's details" in err or "#general's details" in err
    assert "Usage: support-router stats" in err


async def test_a_channel_given_as_the_period_is_pointed_to_channel(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _ = await _stats(f"sqlite:///{tmp_path / 'never.db'}", "#support")
    assert code == 2
    assert "give the channel with --channel, by its id (not '#support')" in capsys.readouterr().err


async def test_a_second_channel_is_refused_not_silently_preferred(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = await _stats(f"sqlite:///{tmp_path / 'never.db'}", "7d", "C0GENERAL", "C0BILLING")
    assert (code, out) == (2, "")
    assert "give --channel once: the report covers one channel or all of them" in capsys.readouterr().err


async def test_a_lower_case_channel_id_is_read_in_upper_case(store: Store, database_url: str) -> None:
    await seed(store)
    code, out = await _stats(database_url, "all", "c0general")
    assert code == 0
    assert "Routing stats: all time in C0GENERAL" in out and "2 messages routed" in out


async def test_help_prints_the_terminal_usage(tmp_path: Path) -> None:
    code, out = await _stats(f"sqlite:///{tmp_path / 'never.db'}", "help")
    assert (code, out.strip()) == (0, USAGE)


def test_demo_runs_are_left_out_until_asked_for(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "demo").returncode == 0
    everything = run_cli(tmp_path, "stats", "all")
    assert everything.returncode == 0, everything.stderr
    assert "0 messages routed" in everything.stdout
    assert "Decisions recorded by support-router demo and chat are left out" in everything.stdout
    demo = run_cli(tmp_path, "stats", "all", "--channel", "demo")
    assert demo.returncode == 0, demo.stderr
    assert "Routing stats: all time in support-router demo" in demo.stdout
    assert "17 messages routed" in demo.stdout
