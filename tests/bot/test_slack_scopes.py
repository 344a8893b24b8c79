"""``serve`` says at start which bot scopes the installed app lacks, and what the bot cannot do without."""

from __future__ import annotations

from pathlib import Path

from bot.slack_scopes import BOT_SCOPES, missing_scopes
from tests.bot.test_serve_startup import one_line, serve_stopped_by_a_taken_port
from tests.fakes import FakeSlack


async def test_scopes_the_installed_app_lacks_are_named_at_start(tmp_path: Path, slack: FakeSlack) -> None:
    # An app made by hand, or installed before a scope joined the manifest: without users:read every
    # manager was told "try again in a minute" for ever, and nothing said why.
    slack.scopes = [scope for scope in BOT_SCOPES if scope not in ("users:read", "im:read")]
    told = await serve_stopped_by_a_taken_port(tmp_path, slack)
    assert "PORT" in one_line(*told), told[1]  # stopped by the taken port, after the Slack check
    [warning] = [line for line in told[1].splitlines() if "scope" in line]
    assert "WARNING" in warning
    assert (
        "SLACK_BOT_TOKEN: the app lacks the bot scope(s) im:read (the catch-up at start cannot find the DMs "
        "opened while the bot was away); users:read (/routing-stats cannot tell who is an admin, and members "
        "cannot be checked): update the app's manifest from manifest.yml"
    ) in warning


async def test_an_app_with_every_scope_is_not_warned_of(tmp_path: Path, slack: FakeSlack) -> None:
    slack.scopes = [*BOT_SCOPES, "channels:read"]  # one more than needed is no trouble
    told = await serve_stopped_by_a_taken_port(tmp_path, slack)
    assert "PORT" in one_line(*told), told[1]
    assert "scope" not in told[1]


def test_nothing_is_said_when_slack_does_not_say_the_scopes() -> None:
    assert missing_scopes(None) is None
    assert missing_scopes(" , ".join(BOT_SCOPES)) is None
