"""The command line's grammar as a user meets it: what a usage error says, and what each --help says."""

from __future__ import annotations

import pytest

from bot.arguments import parse_command_line


def _usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exited:
        parse_command_line(list(argv))
    assert exited.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "choices"),
    [
        ((), "{classify,eval,calibrate,demo,serve,chat,stats,db}"),
        (("db",), "{upgrade,purge}"),
    ],
)
def test_a_missing_command_is_named_by_its_choices(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], choices: str
) -> None:
    # It said "the following arguments are required: db_command", a name from the code.
    error = _usage_error(capsys, *argv)
    assert f"error: the following arguments are required: {choices}" in error
    assert "db_command" not in error and "required: command" not in error


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exited:
        parse_command_line([*argv, "--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_stats_help_says_the_cli_s_own_records_are_left_out_unless_asked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # It said "default: all", while the report leaves out what demo and chat recorded.
    shown = _help(capsys, "stats")
    assert "default: all" not in shown
    assert "[--channel ID]" in shown
    assert "Without it: every Slack channel, leaving out demo and console" in shown
    assert "(UTC, both days included)" in shown


def test_classify_help_names_everything_it_prints(capsys: pytest.CaptureFixture[str]) -> None:
    shown = _help(capsys, "classify")
    assert "category, confidence, reasoning, source (local model or Claude) and whether it would be " in shown
    assert "escalated" in shown
