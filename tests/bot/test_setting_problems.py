"""What the start says of a setting it refuses: the setting, the value given, what is wrong, what to write."""

from __future__ import annotations

import typing

import pytest

from bot.setting_problems import CHOICES, EXPECTED
from bot.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)


def _refusal(monkeypatch: pytest.MonkeyPatch, **settings: str) -> str:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)
    return str(raised.value)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        # A unit written with the number: it said only "Input should be a valid number".
        (
            "ANTHROPIC_TIMEOUT",
            "30s",
            "ANTHROPIC_TIMEOUT: '30s' should be a valid number, unable to parse string as a number (write "
            "seconds per Claude request, a number above 0, e.g. 30)",
        ),
        # A percentage where a fraction is wanted: "Input should be less than or equal to 1".
        (
            "LEARN_MIN_CONFIDENCE",
            "90",
            "LEARN_MIN_CONFIDENCE: '90' should be less than or equal to 1 (write a fraction from 0 to 1: 0.9 "
            "for 90 %)",
        ),
        (
            "PORT",
            "70000",
            "PORT: '70000' should be less than or equal to 65535 (write a whole number from 1 to 65535, "
            "e.g. 3000)",
        ),
        (
            "CATCH_UP_HOURS",
            "inf",
            "CATCH_UP_HOURS: 'inf' should be a finite number (write hours from 0 (off) to 8760 (a year), "
            "e.g. 24)",
        ),
        (
            "STORE_MESSAGE_TEXT",
            "partial",
            "STORE_MESSAGE_TEXT: 'partial' should be 'full', 'redacted' or 'none'",
        ),
    ],
)
def test_a_refused_value_is_named_with_what_is_wrong_and_what_to_write(
    monkeypatch: pytest.MonkeyPatch, setting: str, value: str, message: str
) -> None:
    assert _refusal(monkeypatch, **{setting: value}) == f"Invalid setting(s): {message}"


def test_several_refused_settings_are_each_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    refusal = _refusal(monkeypatch, PORT="x", RETRY_ATTEMPTS="0")
    assert refusal == (
        "Invalid setting(s): PORT: 'x' should be a valid integer, unable to parse string as an integer "
        "(write a whole number from 1 to 65535, e.g. 3000); RETRY_ATTEMPTS: '0' should be greater than or "
        "equal to 1 (write a whole number from 1 to 20, e.g. 6)"
    )


def test_a_long_value_is_cut_in_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    refusal = _refusal(monkeypatch, MAX_CONCURRENCY="-" + "1" * 200)
    assert f"MAX_CONCURRENCY: '-{'1' * 39}…' should be greater than or equal to 1" in refusal


def test_every_number_and_choice_setting_says_what_to_write() -> None:
    # A number setting added without its line here would be refused in pydantic's words alone.
    for name, field in Settings.model_fields.items():
        if field.annotation in (int, float):
            assert name in EXPECTED, f"say in bot.setting_problems.EXPECTED what {name.upper()} takes"
        elif typing.get_origin(field.annotation) is typing.Literal:
            assert name in CHOICES, f"add {name} to bot.setting_problems.CHOICES"
