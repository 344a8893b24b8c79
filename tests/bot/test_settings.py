"""Settings as a user writes them: blank lines in ``.env``, lower-case levels, ids, what ``serve`` needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.mark.parametrize("blank", ["", " ", "\t"])
def test_blank_optional_settings_are_unset(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    for name in (
        "SLACK_APP_TOKEN",
        "SLACK_BOT_TOKEN",
        "ANTHROPIC_API_KEY",
        "ROUTES_FILE",
        "ESCALATION_CHANNEL",
    ):
        monkeypatch.setenv(name, blank)
    settings = Settings(_env_file=None)
    assert settings.slack_app_token is None and settings.slack_bot_token is None
    assert settings.anthropic_api_key is None and settings.offline
    assert settings.routes_file is None and settings.escalation_channel is None
    assert not settings.socket_mode


def test_a_blank_app_token_in_dotenv_keeps_http_mode(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("SLACK_APP_TOKEN=\nSLACK_BOT_TOKEN=xoxb-1\nSLACK_SIGNING_SECRET=s\n", encoding="utf-8")
    settings = Settings(_env_file=env)
    assert settings.slack_app_token is None and not settings.socket_mode
    settings.require_slack()  # HTTP mode has what it needs


def test_socket_mode_needs_a_token() -> None:
    assert Settings(_env_file=None, slack_app_token="xapp-1").socket_mode
    assert not Settings(_env_file=None).socket_mode


def _defaults() -> dict[str, object]:
    return Settings(_env_file=None).model_dump()


def test_a_blank_value_in_the_environment_means_the_default_for_every_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `PORT=` used to stop the start with "unable to parse string as an integer".
    for name in Settings.model_fields:
        monkeypatch.setenv(name.upper(), "")
    assert Settings(_env_file=None).model_dump() == _defaults()
    for name in Settings.model_fields:
        monkeypatch.setenv(name.upper(), " ")
    assert Settings(_env_file=None).model_dump() == _defaults()


def test_a_blank_value_in_dotenv_means_the_default_for_every_setting(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("".join(f"{name.upper()}=\n" for name in Settings.model_fields), encoding="utf-8")
    assert Settings(_env_file=env).model_dump() == _defaults()
    env.write_text("PORT=\nMAX_CONCURRENCY=\nSTORE_MESSAGE_TEXT=\nLOG_LEVEL=''\n", encoding="utf-8")
    settings = load_settings(_env_file=env)
    assert (settings.port, settings.max_concurrency, settings.store_message_text) == (3000, 256, "full")
    assert settings.log_level == "INFO"


def test_a_blank_environment_variable_leaves_the_dotenv_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty environment variable is unset too: it does not override .env with the default.
    env = tmp_path / ".env"
    env.write_text("PORT=4000\n", encoding="utf-8")
    monkeypatch.setenv("PORT", "")
    assert Settings(_env_file=env).port == 4000


def test_a_bad_value_is_still_refused() -> None:
    with pytest.raises(SettingsError, match="PORT"):
        load_settings(_env_file=None, port="not-a-port")


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (
            "SUPPORT_CHANNELS",
            "#support",
            "SUPPORT_CHANNELS: '#support' is a channel name; use the channel id (C…, shown at the bottom "
            "of the channel's details)",
        ),
        ("SUPPORT_CHANNELS", "C0SUPPORT, support", "SUPPORT_CHANNELS: 'support' is a channel name"),
        ("SUPPORT_CHANNELS", "C12", "SUPPORT_CHANNELS: 'C12' is not a channel id; use the channel id (C…"),
        (
            "ESCALATION_CHANNEL",
            "#agents",
            "ESCALATION_CHANNEL: '#agents' is a channel name; use the channel id",
        ),
        (
            "AGENT_USERS",
            "@alice",
            "AGENT_USERS: '@alice' is a user name; use the member id (U…, from the profile's ⋮ menu → "
            "Copy member ID)",
        ),
        ("STATS_USERS", "U0MANAGER,bob", "STATS_USERS: 'bob' is a user name; use the member id"),
        ("STATS_USERS", "<@alice>", "STATS_USERS: '<@alice>' is not a member id; use the member id"),
        (
            "AGENT_USERGROUP",
            "@support-team",
            "AGENT_USERGROUP: '@support-team' is a user group handle; use the group's id (S…",
        ),
        ("STATS_USERGROUP", "U0MANAGER", "STATS_USERGROUP: 'U0MANAGER' is not a user group id"),
        # Ids right, separator wrong: "use the channel id" would send the installer after ids they have.
        (
            "SUPPORT_CHANNELS",
            "C0SUPPORT C0BILLING",
            "SUPPORT_CHANNELS: 'C0SUPPORT C0BILLING' is 2 ids; separate them with commas: "
            "C0SUPPORT,C0BILLING",
        ),
        ("AGENT_USERS", "U0AGENT; U0OTHER", "AGENT_USERS: 'U0AGENT; U0OTHER' is 2 ids; separate them with"),
        (
            "AGENT_USERGROUP",
            "S0SUPPORT,S0BILLING",
            "AGENT_USERGROUP: 'S0SUPPORT,S0BILLING' is 2 ids; it takes one",
        ),
        (
            "ESCALATION_CHANNEL",
            "C0AGENTS,C0LEADS",
            "ESCALATION_CHANNEL: 'C0AGENTS,C0LEADS' is 2 ids; it takes one",
        ),
    ],
)
def test_a_name_where_slack_wants_an_id_is_refused_with_where_to_find_the_id(
    monkeypatch: pytest.MonkeyPatch, setting: str, value: str, message: str
) -> None:
    # "#support" matched no channel id in the events: every message was silently dropped; "@alice"
    # was tagged as text and pinged nobody.
    monkeypatch.setenv(setting, value)
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)
    assert str(raised.value).startswith(f"Invalid setting(s): {message}")
    assert "Value error" not in str(raised.value)


def test_ids_are_accepted_and_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_CHANNELS", "C0SUPPORT, G0PRIVATE1")
    monkeypatch.setenv("ESCALATION_CHANNEL", " C0AGENTS ")
    monkeypatch.setenv("AGENT_USERS", "U0AGENT,W0ENTERPRISE")
    monkeypatch.setenv("STATS_USERS", "U0MANAGER")
    monkeypatch.setenv("AGENT_USERGROUP", "S0SUPPORT")
    monkeypatch.setenv("STATS_USERGROUP", " S0MANAGERS")
    settings = load_settings(_env_file=None)
    assert settings.support_channels == ["C0SUPPORT", "G0PRIVATE1"]
    assert settings.escalation_channel == "C0AGENTS"
    assert settings.agent_users == ["U0AGENT", "W0ENTERPRISE"] and settings.stats_users == ["U0MANAGER"]
    assert (settings.agent_usergroup, settings.stats_usergroup) == ("S0SUPPORT", "S0MANAGERS")


def test_a_dotenv_not_saved_as_utf8_names_the_file_the_byte_and_the_fix(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    text = "LOG_LEVEL=info\n# agents: Renée\n"
    env.write_bytes(text.encode("latin-1"))
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=env)
    offset = text.encode("latin-1").index(b"\xe9")
    assert str(raised.value) == (
        f"{env}: not UTF-8 text: byte 0xe9 at offset {offset} cannot be read; save it as UTF-8"
    )


def test_a_dotenv_in_the_forms_python_dotenv_reads_is_not_refused(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "# the bot\n\nexport LOG_LEVEL=debug\n  PORT = 3001  # behind the proxy\nOTHER_TOOLS_FLAG\n"
        'STORE_MESSAGE_TEXT="redacted"\nPGPASSWORD="two\nlines"\n'
    )
    settings = load_settings(_env_file=env)
    assert (settings.log_level, settings.port, settings.store_message_text) == ("DEBUG", 3001, "redacted")


@pytest.mark.parametrize(
    ("setting", "value", "example"),
    [
        ("ANTHROPIC_BASE_URL", "127.0.0.1:8080", "https://api.anthropic.com"),
        ("ANTHROPIC_BASE_URL", "htps://gateway.example.com", "https://api.anthropic.com"),
        ("SLACK_API_URL", "slack.example.com/api/", "https://slack.com/api/"),
        ("SLACK_API_URL", "https:///api/", "https://slack.com/api/"),
    ],
)
def test_a_url_setting_that_is_no_http_url_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, setting: str, value: str, example: str
) -> None:
    # Taken as it was, ANTHROPIC_BASE_URL only warned "Connection error" at start, and every message then
    # fell back to the local model or a person; SLACK_API_URL sent the installer to check the network.
    monkeypatch.setenv(setting, value)
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)
    assert str(raised.value) == (
        f"Invalid setting(s): {setting}: {value!r} is not an http:// or https:// URL with a host; "
        f"write it whole, e.g. {example}"
    )


@pytest.mark.parametrize("value", ["http://127.0.0.1:8080", "HTTPS://llm-gateway.internal/anthropic"])
def test_a_url_setting_to_a_local_or_gateway_address_is_taken(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", value)
    assert load_settings(_env_file=None).anthropic_base_url == value


def test_require_slack_names_every_missing_setting_and_where_to_set_it() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings(_env_file=None, slack_bot_token="", slack_signing_secret="").require_slack()
    message = str(raised.value)
    assert "SLACK_BOT_TOKEN" in message and "SLACK_SIGNING_SECRET" in message
    assert "SLACK_APP_TOKEN" in message and ".env" in message


def test_socket_mode_needs_no_signing_secret_but_an_app_level_token() -> None:
    Settings(_env_file=None, slack_bot_token="xoxb-1", slack_app_token="xapp-1").require_slack()
    with pytest.raises(SettingsError) as raised:
        Settings(_env_file=None, slack_bot_token="xoxb-1", slack_app_token="xoxb-2").require_slack()
    assert str(raised.value) == (
        "SLACK_APP_TOKEN must start with xapp- (Basic Information → App-Level Tokens, scope "
        "connections:write; or unset it to serve over HTTP); the value given is a Bot User OAuth Token "
        "(xoxb-…), which belongs in SLACK_BOT_TOKEN"
    )


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("xapp-1-A1-2", "an app-level token (xapp-…), which belongs in SLACK_APP_TOKEN"),
        # A user token passes auth.test: without this check the bot would post as that person.
        ("xoxp-1-2", "a User OAuth Token (xoxp-…): the bot would post as that person"),
        ("Bearer xoxb-1", "not a Slack token"),
    ],
)
def test_a_bot_token_of_another_kind_is_refused_naming_what_was_pasted(given: str, said: str) -> None:
    settings = Settings(_env_file=None, slack_bot_token=given, slack_signing_secret="s")
    with pytest.raises(SettingsError) as raised:
        settings.require_slack()
    assert str(raised.value) == (
        "SLACK_BOT_TOKEN must start with xoxb- (the Bot User OAuth Token under OAuth & Permissions); "
        f"the value given is {said}"
    )


@pytest.mark.parametrize("given", ["debug", "Debug", " warning ", "INFO"])
def test_log_level_in_any_case(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    monkeypatch.setenv("LOG_LEVEL", given)
    assert Settings(_env_file=None).log_level == given.strip().upper()


@pytest.mark.parametrize("given", ["WARN", "warn", "Warn"])
def test_warn_is_the_warning_level(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    # Python's logging itself takes WARN for WARNING; an operator who writes it is not wrong.
    monkeypatch.setenv("LOG_LEVEL", given)
    assert Settings(_env_file=None).log_level == "WARNING"


@pytest.mark.parametrize(
    ("name", "given", "read"),
    [
        ("STORE_MESSAGE_TEXT", "Redacted", "redacted"),
        ("STORE_MESSAGE_TEXT", " NONE ", "none"),
        ("SLACK_STREAMING", "Off", "off"),
    ],
)
def test_word_settings_in_any_case(monkeypatch: pytest.MonkeyPatch, name: str, given: str, read: str) -> None:
    # As LOG_LEVEL is: "Redacted" in a .env is as clear as "redacted", and was refused.
    monkeypatch.setenv(name, given)
    assert getattr(Settings(_env_file=None), name.lower()) == read


def test_an_unknown_log_level_is_still_refused() -> None:
    with pytest.raises(SettingsError, match="LOG_LEVEL"):
        load_settings(_env_file=None, log_level="verbose")


def test_a_routes_file_under_the_home_folder_written_with_a_tilde(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A shell expands ~ in `export ROUTES_FILE=~/routes.yml`; a .env line is not read by a shell.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ROUTES_FILE", "~/routes.yml")
    assert Settings(_env_file=None).routes_file == tmp_path / "routes.yml"


@pytest.mark.parametrize(
    ("name", "given", "read"),
    [
        ("AGENT_USERS", "<@U0123ABCD>,<@U0456EFGH|alice>", ["U0123ABCD", "U0456EFGH"]),
        ("SUPPORT_CHANNELS", "<#C0123ABCD|support>", ["C0123ABCD"]),
        ("AGENT_USERGROUP", "<!subteam^S0123ABCD|@support>", "S0123ABCD"),
    ],
)
def test_an_id_pasted_in_slacks_own_markup_is_read_as_the_id(
    monkeypatch: pytest.MonkeyPatch, name: str, given: str, read: object
) -> None:
    # What a message's raw text or a copied mention holds: the id is inside, and plain to read.
    monkeypatch.setenv(name, given)
    assert getattr(Settings(_env_file=None), name.lower()) == read


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("catch_up_hours", "inf"),
        ("catch_up_hours", "1e9"),
        ("claim_lease_seconds", "nan"),
        ("escalation_reminder_minutes", "Infinity"),
    ],
)
def test_an_endless_or_absurd_time_setting_is_refused_at_start(setting: str, value: str) -> None:
    # Taken, CATCH_UP_HOURS=inf (or 1e9) failed the catch-up at every start with a traceback, and a
    # lease of nan made every claim fail.
    with pytest.raises(SettingsError, match=setting.upper()):
        load_settings(_env_file=None, **{setting: value})


def test_an_id_given_twice_is_kept_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Once as an id and once pasted from a mention: the same agent, who would be tagged twice.
    monkeypatch.setenv("AGENT_USERS", "U0AGENT,<@U0AGENT|alice>,U0OTHER,U0AGENT")
    monkeypatch.setenv("SUPPORT_CHANNELS", "C0SUPPORT,<#C0SUPPORT|support>")
    settings = Settings(_env_file=None)
    assert settings.agent_users == ["U0AGENT", "U0OTHER"] and settings.support_channels == ["C0SUPPORT"]
