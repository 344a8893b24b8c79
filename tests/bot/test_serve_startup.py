"""``support-router serve`` start-up failures, as a user runs it: one line saying what to check, no traceback.

The CLI runs in a subprocess against the fake Slack served by this test's event loop.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sys
from pathlib import Path

import pytest

from bot.commands.serving import sole_server
from bot.server import events_url
from bot.settings import SettingsError
from router.routes_file import default_routes_path
from tests.fakes import FakeSlack

UNREACHABLE = "http://127.0.0.1:1/api/"


async def serve(tmp_path: Path, slack: FakeSlack, **env: str) -> tuple[int, str]:
    """Run ``serve`` until it exits (it must: each case here is a start-up failure)."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTHROPIC_", "SLACK_", "DATABASE_", "ROUTES_", "HOST", "PORT"))
    }
    environment |= {
        "SLACK_API_URL": slack.base_url,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": "secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "HOST": "127.0.0.1",
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return process.returncode or 0, stderr.decode()


async def serve_stopped_by_a_taken_port(tmp_path: Path, slack: FakeSlack, **env: str) -> tuple[int, str]:
    """Run ``serve`` with its PORT taken: it stops there, after the Slack checks and before the database,
    so what those checks said can be read."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        return await serve(tmp_path, slack, PORT=str(taken.getsockname()[1]), **env)


def one_line(code: int, stderr: str) -> str:
    assert code == 2, stderr
    assert "Traceback" not in stderr and "Unclosed" not in stderr, stderr
    [line] = [line for line in stderr.splitlines() if line.startswith("support-router")]
    return line


@pytest.mark.parametrize("app_token", [None, "xapp-1-A111-test"], ids=["http", "socket-mode"])
async def test_slack_unreachable(tmp_path: Path, slack: FakeSlack, app_token: str | None) -> None:
    env = {"SLACK_API_URL": UNREACHABLE} | ({"SLACK_APP_TOKEN": app_token} if app_token else {})
    line = one_line(*await serve(tmp_path, slack, **env))
    assert line.startswith(f"support-router: cannot reach Slack at {UNREACHABLE}")
    assert "SLACK_API_URL" in line and "proxy" in line


async def test_a_refused_bot_token(tmp_path: Path, slack: FakeSlack) -> None:
    line = one_line(*await serve(tmp_path, slack, SLACK_BOT_TOKEN="xoxb-wrong"))
    assert line.startswith("support-router: SLACK_BOT_TOKEN was refused by Slack (invalid_auth)")


async def test_a_refused_app_token_stops_instead_of_retrying_for_ever(
    tmp_path: Path, slack: FakeSlack
) -> None:
    line = one_line(*await serve(tmp_path, slack, SLACK_APP_TOKEN="xapp-1-wrong"))
    assert line.startswith("support-router: SLACK_APP_TOKEN was refused by Slack")
    assert "connections:write" in line


async def test_port_in_use(tmp_path: Path, slack: FakeSlack) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(*await serve(tmp_path, slack, PORT=str(port)))
    assert line == (
        f"support-router: PORT: 127.0.0.1:{port} is already in use; stop the program using it, "
        "or set PORT to a free port"
    )
    # Told before the database was opened: nothing migrated, no pending message resumed.
    assert not (tmp_path / "serve.db").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
async def test_a_second_server_on_the_same_sqlite_file_stops_before_resuming_anything(
    tmp_path: Path, slack: FakeSlack
) -> None:
    # As if another `serve` held the file: it would be answering the messages pending in it.
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with sole_server(f"sqlite:///{tmp_path / 'serve.db'}"):
        line = one_line(*await serve(tmp_path, slack, PORT=str(port)))
    assert line == (
        f"support-router: DATABASE_URL: another support-router (pid {os.getpid()}) is already serving "
        f"{tmp_path / 'serve.db'}; stop it first. Several replicas need one PostgreSQL database "
        "(DATABASE_URL=postgresql://…)"
    )
    assert not (tmp_path / "serve.db").exists()
    with sole_server(f"sqlite:///{tmp_path / 'serve.db'}"):  # freed with its holder
        pass


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
async def test_a_lock_file_serve_cannot_create_is_named_with_what_to_check(
    tmp_path: Path, slack: FakeSlack
) -> None:
    # Something in the lock file's place that this user cannot open for writing (tests run as root, who
    # may write anywhere: a folder stands in for a read-only folder or another user's file).
    lock = tmp_path / "serve.db.serve-lock"
    lock.mkdir()
    line = one_line(*await serve(tmp_path, slack))
    assert line.startswith(f"support-router: DATABASE_URL: cannot open {lock}, the lock that keeps")
    assert "folder" in line and "owner" in line
    assert not (tmp_path / "serve.db").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_a_read_only_folder_is_told_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def read_only(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
        if str(path).endswith(".serve-lock"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(SettingsError) as refused, sole_server(f"sqlite:///{tmp_path / 'routing.db'}"):
        pass
    told = str(refused.value)
    assert told.startswith(f"DATABASE_URL: cannot open {tmp_path / 'routing.db.serve-lock'}")
    assert "(Read-only file system)" in told and f"may write to {tmp_path}" in told


@pytest.mark.parametrize("key", ["sk-ant-test", None], ids=["online", "offline"])
async def test_a_routes_file_without_prices_is_warned_of_at_start(
    tmp_path: Path, slack: FakeSlack, key: str | None
) -> None:
    # Accepted (a partial block is refused, a missing one is not), but every cost would read $0.
    shipped = default_routes_path().read_text(encoding="utf-8")
    routes = tmp_path / "routes.yml"
    routes.write_text(shipped[: shipped.index("\nprices:")] + "\n", encoding="utf-8")
    env = {"ROUTES_FILE": str(routes), "SLACK_BOT_TOKEN": "xoxb-wrong"}
    code, stderr = await serve(tmp_path, slack, **env, **({"ANTHROPIC_API_KEY": key} if key else {}))
    one_line(code, stderr)  # stopped by the refused token, after the warnings
    warned = f"{routes}: no prices for claude-haiku-5-5, claude-sonnet-5-5: cost estimates read $0"
    # Offline nothing is spent: $0 is right.
    assert (warned in stderr) is (key is not None), stderr


async def test_database_unreachable(tmp_path: Path, slack: FakeSlack) -> None:
    code, stderr = await serve(tmp_path, slack, DATABASE_URL="postgresql://bot:s3cret@127.0.0.1:1/bot")
    line = one_line(code, stderr)
    assert line.startswith(
        "support-router: DATABASE_URL: cannot connect to postgresql://bot:***@127.0.0.1:1/bot"
    )
    assert "s3cret" not in stderr


@pytest.mark.parametrize(
    ("env", "told"),
    [
        ({"ROUTES_FILE": "routes.yml"}, "support-router: routes.yml: not valid YAML at line 3"),
        ({"DATABASE_URL": "mysql://bot@db/bot"}, "support-router: DATABASE_URL: unsupported database URL"),
    ],
    ids=["malformed-routes-file", "database-url-of-another-kind"],
)
async def test_what_the_operator_wrote_is_checked_before_slack_and_the_database(
    tmp_path: Path, slack: FakeSlack, env: dict[str, str], told: str
) -> None:
    (tmp_path / "routes.yml").write_text("categories:\n  - name: [General Question\n")
    line = one_line(*await serve(tmp_path, slack, **env))
    assert line.startswith(told)
    # Before Slack was asked and before a migration (minutes on a large log) ran: the typo is told at once.
    assert slack.calls_to("auth.test") == []
    assert not (tmp_path / "serve.db").exists()


async def test_a_configured_channel_the_bot_is_not_in_is_warned_of_at_start(
    tmp_path: Path, slack: FakeSlack
) -> None:
    # Not invited, the bot hears nothing from a support channel, and cannot post an escalated DM's notice
    # in the agents' channel: the customer's first escalation would fail, retried for minutes, unseen.
    slack.fail_next("conversations.history", error="not_in_channel", channel="C0AGENTS")
    slack.fail_next("conversations.history", error="channel_not_found", channel="C0PRIVATE")
    # Not waited out (slack_sdk would, three times): the start matters more than the warning.
    slack.fail_next("conversations.history", status=429, retry_after=60, count=3, channel="C0SUPPORT")
    env = {"ESCALATION_CHANNEL": "C0AGENTS", "SUPPORT_CHANNELS": "C0SUPPORT,C0PRIVATE"}
    one_line(*(told := await serve_stopped_by_a_taken_port(tmp_path, slack, **env)))
    warnings = [line for line in told[1].splitlines() if "WARNING" in line and "invite" in line]
    assert len(warnings) == 2, told[1]
    assert "ESCALATION_CHANNEL: the bot is not in C0AGENTS" in warnings[0]
    assert "/invite @support-router" in warnings[0]
    assert "SUPPORT_CHANNELS: Slack shows the bot no channel C0PRIVATE" in warnings[1]


@pytest.mark.parametrize("setting", ["AGENT_USERGROUP", "STATS_USERGROUP"])
async def test_a_user_group_slack_does_not_know_stops_the_start_naming_the_setting(
    tmp_path: Path, slack: FakeSlack, setting: str
) -> None:
    # A mistyped group id: escalations would tag a group that notifies no one (or nobody could read the
    # stats), and the log would say only "cannot list user group S0TYPO123: no_such_subteam", on every read.
    line = one_line(*await serve(tmp_path, slack, **{setting: "S0TYPO123"}))
    assert line.startswith(f"support-router: {setting}: Slack knows no user group S0TYPO123"), line
    assert "usergroups:read" not in line  # the scope is fine: the id is wrong
    assert not (tmp_path / "serve.db").exists()  # told before any migration


@pytest.mark.parametrize("setting", ["AGENT_USERS", "STATS_USERS"])
async def test_a_member_id_slack_does_not_know_stops_the_start_naming_the_setting(
    tmp_path: Path, slack: FakeSlack, setting: str
) -> None:
    # A mistyped member id (a letter off): escalations tagged someone who does not exist, who alone
    # could use the agent controls, or /routing-stats was refused to the manager meant, with no word why.
    slack.workspace.auto_users = False
    slack.workspace.add_user("U0AGENT01", name="alice")
    line = one_line(*await serve(tmp_path, slack, **{setting: "U0AGENT01,U0AGENTO1"}))
    assert line == (
        f"support-router: {setting}: Slack knows no member U0AGENTO1; use the member id (U…, from the "
        "profile's ⋮ menu → Copy member ID), or leave it out"
    )
    assert not (tmp_path / "serve.db").exists()  # told before any migration


async def test_a_deactivated_agent_is_warned_of_and_slacks_trouble_does_not_stop_the_start(
    tmp_path: Path, slack: FakeSlack
) -> None:
    slack.workspace.add_user("U0GONE001", name="bob", deleted=True)
    slack.fail_next("users.info", status=500, count=10, skip=1)  # the agent is read, not the manager
    env = {"AGENT_USERS": "U0GONE001", "STATS_USERS": "U0MANAGER"}
    told = await serve_stopped_by_a_taken_port(tmp_path, slack, **env)
    assert "PORT" in one_line(*told), told[1]  # stopped by the taken port, after the check
    warnings = [line for line in told[1].splitlines() if "WARNING" in line and "U0" in line]
    assert len(warnings) == 1, told[1]
    assert "AGENT_USERS: U0GONE001 is deactivated in Slack" in warnings[0]


async def test_an_empty_agents_group_is_warned_of_at_start(tmp_path: Path, slack: FakeSlack) -> None:
    # Nobody in it: escalations tag a group that notifies no one, and nobody may use the agent controls.
    slack.workspace.usergroups["S0AGENTS1"] = []
    slack.workspace.usergroups["S0STATS1"] = ["U0MANAGER"]
    env = {"AGENT_USERGROUP": "S0AGENTS1", "STATS_USERGROUP": "S0STATS1"}
    one_line(*(told := await serve_stopped_by_a_taken_port(tmp_path, slack, **env)))
    warnings = [line for line in told[1].splitlines() if "WARNING" in line and "S0" in line]
    assert len(warnings) == 1, told[1]
    assert "AGENT_USERGROUP: the user group S0AGENTS1 has no members" in warnings[0]


async def test_a_user_group_slack_cannot_list_now_does_not_stop_the_start(
    tmp_path: Path, slack: FakeSlack
) -> None:
    # Slack's trouble is not the operator's mistake: warned, and the group is read again later.
    slack.workspace.usergroups["S0AGENTS1"] = ["U0AGENT"]
    slack.fail_next("usergroups.users.list", status=500, count=10)
    told = await serve_stopped_by_a_taken_port(tmp_path, slack, AGENT_USERGROUP="S0AGENTS1")
    line = one_line(*told)
    assert "PORT" in line, told[1]  # stopped by the taken port, after the check
    assert any("AGENT_USERGROUP" in w and "WARNING" in w for w in told[1].splitlines()), told[1]


@pytest.mark.parametrize(
    ("host", "shown"),
    [("0.0.0.0", "http://0.0.0.0:3000/slack/events"), ("::", "http://[::]:3000/slack/events")],
)
def test_the_address_serve_says_it_listens_on_can_be_pasted(host: str, shown: str) -> None:
    # HOST=:: (every IPv6 address) was shown as http://:::3000/slack/events.
    assert events_url(host, 3000) == shown
