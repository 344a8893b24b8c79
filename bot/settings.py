"""The one settings class: environment variables and an optional ``.env`` file.

Built once in the CLI and passed down; nothing else reads the environment.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.env_file import unreadable_lines
from bot.setting_problems import describe
from bot.slack_ids import CHANNEL_ID, USER_ID, USERGROUP_ID

CommaList = Annotated[list[str], NoDecode]
_URL_EXAMPLES = {"slack_api_url": "https://slack.com/api/", "anthropic_base_url": "https://api.anthropic.com"}


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it and says how to fix it."""


class Settings(BaseSettings):
    """Every knob of the bot. Field names are the environment variables, upper-cased."""

    # env_ignore_empty: `PORT=` (in the environment or in .env) is unset, so the default applies.
    # allow_inf_nan off: `CATCH_UP_HOURS=inf` is refused at start, not a traceback (or a feature turned
    # off unsaid) later.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        allow_inf_nan=False,
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_streaming: Literal["auto", "on", "off"] = "auto"

    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    anthropic_timeout: float = Field(default=30.0, gt=0)
    anthropic_max_retries: int = Field(default=2, ge=0, le=10)

    database_url: str = "sqlite:///routing.db"
    routes_file: Path | None = None
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=1, le=65535)

    support_channels: CommaList = []
    agent_users: CommaList = []
    agent_usergroup: str | None = None
    # Where agents are told of an escalated direct message (they cannot see the customer's DM with the bot),
    # with the customer's words; when unset, the first of SUPPORT_CHANNELS, without them (customers read it).
    escalation_channel: str | None = None
    # An escalation in a channel that no agent has answered after this many minutes is brought up again
    # in its thread, once, with the agents tagged; 0 turns the reminders off.
    escalation_reminder_minutes: float = Field(default=30.0, ge=0.0)
    # At start, customer messages of the last this many hours that no event brought (the bot was away
    # for longer than Slack retries an event) are found in the channels' history and answered; 0: off.
    # At most a year: further back than any support thread is still waiting (and than date arithmetic goes).
    catch_up_hours: float = Field(default=24.0, ge=0.0, le=8760.0)
    # A reply posted this many minutes or more after the customer's message begins with the routes
    # file's late_reply_note (an apology); 0: never.
    late_reply_minutes: float = Field(default=10.0, ge=0.0)
    stats_users: CommaList = []
    stats_usergroup: str | None = None

    # How many messages are worked on at once; beyond it, messages wait (durably claimed) for a slot.
    max_concurrency: int = Field(default=256, ge=1)
    # A claimed message's lease, renewed while it is worked on; a crashed worker's messages are
    # resumed by another replica once it runs out.
    claim_lease_seconds: float = Field(default=60.0, gt=0)
    recovery_interval_seconds: float = Field(default=15.0, gt=0)
    # A message whose handling fails (Slack unreachable, say) is retried with exponential back-off
    # from retry_base_seconds; after retry_attempts it is escalated to a person instead.
    retry_attempts: int = Field(default=6, ge=1, le=20)
    retry_base_seconds: float = Field(default=5.0, gt=0)
    max_message_chars: int = Field(default=4000, ge=100, le=40000)
    store_message_text: Literal["full", "redacted", "none"] = "full"
    # Claude's decisions at or above this confidence (not escalated) teach the local model; so do agents'.
    learn_min_confidence: float = Field(default=0.9, ge=0.0, le=1.0)
    # The local model is refitted on new examples at most this often (a fit costs CPU the bot needs).
    learn_refit_seconds: float = Field(default=60.0, ge=0.0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object, info: ValidationInfo) -> object:
        # A `.env` line such as `SLACK_APP_TOKEN=` means "not set", not an empty token or port: a blank
        # value gets the setting's default. (env_ignore_empty drops exactly empty ones from the environment
        # and .env; this also covers spaces, and values passed in.)
        field = cls.model_fields.get(info.field_name or "")
        blank = isinstance(value, str | SecretStr) and not _text(value).strip()
        return field.get_default(call_default_factory=True) if blank and field is not None else value

    @field_validator("support_channels", "agent_users", "stats_users", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("support_channels")
    @classmethod
    def _channel_ids(cls, value: list[str]) -> list[str]:
        return _each_once(CHANNEL_ID.check(item) for item in value)

    @field_validator("escalation_channel")
    @classmethod
    def _escalation_channel_id(cls, value: str | None) -> str | None:
        return None if value is None else CHANNEL_ID.check(value, single=True)

    @field_validator("agent_users", "stats_users")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        # An agent listed twice (or once as U… and once as <@U…>) was tagged twice in every escalation.
        return _each_once(USER_ID.check(item) for item in value)

    @field_validator("agent_usergroup", "stats_usergroup")
    @classmethod
    def _usergroup_id(cls, value: str | None) -> str | None:
        return None if value is None else USERGROUP_ID.check(value, single=True)

    @field_validator("slack_api_url", "anthropic_base_url")
    @classmethod
    def _http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Taken as given, "127.0.0.1:8080" was only a connection error at each request, and Claude's
        # answers quietly fell back to the local model or a person.
        url = urlsplit(value.strip()) if value is not None else None
        if url is None or (url.scheme.lower() in ("http", "https") and url.hostname):
            return value
        example = _URL_EXAMPLES[info.field_name or ""]
        raise ValueError(
            f"{value!r} is not an http:// or https:// URL with a host; write it whole, e.g. {example}"
        )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        # LOG_LEVEL=debug is as clear as DEBUG; logging's own names are upper case, and it takes WARN too.
        level = value.strip().upper() if isinstance(value, str) else value
        return "WARNING" if level == "WARN" else level

    @field_validator("routes_file")
    @classmethod
    def _home_folder(cls, value: Path | None) -> Path | None:
        # ROUTES_FILE=~/routes.yml in a .env: no shell expanded the ~ there.
        return None if value is None else value.expanduser()

    @field_validator("slack_streaming", "store_message_text", mode="before")
    @classmethod
    def _lower_case_word(cls, value: object) -> object:
        # STORE_MESSAGE_TEXT=Redacted is as clear as redacted.
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def offline(self) -> bool:
        """True when no Anthropic key is set: the local model classifies and offline replies answer."""
        return self.anthropic_api_key is None or not self.anthropic_api_key.get_secret_value()

    @property
    def direct_message_escalations(self) -> str | None:
        """The channel where escalated direct messages reach the agents, if there is one. Only
        ``ESCALATION_CHANNEL`` is told the customer's words (see :attr:`quotes_direct_messages`)."""
        return self.escalation_channel or next(iter(self.support_channels), None)

    @property
    def quotes_direct_messages(self) -> bool:
        """Whether an escalated DM's words may be quoted where agents are told of it: in the agents' own
        ``ESCALATION_CHANNEL``, not in a support channel, which customers read (a DM is private)."""
        return self.escalation_channel is not None

    @property
    def socket_mode(self) -> bool:
        """True when SLACK_APP_TOKEN is set (and not blank): ``serve`` then uses Socket Mode, not HTTP."""
        return _is_set(self.slack_app_token)

    def require_slack(self) -> None:
        """Check what serving Slack needs.

        Raises:
            SettingsError: naming each missing setting, where Slack shows it, and where to set it.
        """
        missing = []
        if not _is_set(self.slack_bot_token):
            missing.append("SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-…, under OAuth & Permissions)")
        if not self.socket_mode and not _is_set(self.slack_signing_secret):
            missing.append(
                "SLACK_SIGNING_SECRET (Basic Information → App Credentials) to serve over HTTP, "
                "or SLACK_APP_TOKEN (an app-level token, xapp-…) to serve over Socket Mode"
            )
        if missing:
            raise SettingsError(
                "Missing setting(s) for serve: "
                + "; ".join(missing)
                + ". Set them in the environment or in .env (an empty value counts as unset)."
            )
        if problem := _misplaced_token(self.slack_bot_token, self.slack_app_token):
            raise SettingsError(problem)


# What each prefix is, for telling an operator which token was pasted where. A user token (xoxp-) would
# pass auth.test and the bot would then post as the person who installed the app.
_TOKEN_KINDS = {
    "xoxb-": "a Bot User OAuth Token (xoxb-…), which belongs in SLACK_BOT_TOKEN",
    "xoxp-": "a User OAuth Token (xoxp-…): the bot would post as that person",
    "xapp-": "an app-level token (xapp-…), which belongs in SLACK_APP_TOKEN",
}


def _misplaced_token(bot_token: SecretStr | None, app_token: SecretStr | None) -> str | None:
    """What is wrong with the tokens' kinds (by prefix), or None: SLACK_BOT_TOKEN must be xoxb-…,
    SLACK_APP_TOKEN xapp-…."""
    for setting, token, prefix, where in (
        ("SLACK_BOT_TOKEN", bot_token, "xoxb-", "the Bot User OAuth Token under OAuth & Permissions"),
        (
            "SLACK_APP_TOKEN",
            app_token,
            "xapp-",
            "Basic Information → App-Level Tokens, scope connections:write; or unset it to serve over HTTP",
        ),
    ):
        value = token.get_secret_value().strip() if token is not None else ""
        if not value or value.startswith(prefix):
            continue
        kind = next((k for p, k in _TOKEN_KINDS.items() if value.startswith(p)), "not a Slack token")
        return f"{setting} must start with {prefix} ({where}); the value given is {kind}"
    return None


def _each_once(ids: Iterable[str]) -> list[str]:
    """The ids in the order given, a repeated one kept at its first place."""
    return list(dict.fromkeys(ids))


def _text(value: str | SecretStr) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _is_set(value: SecretStr | None) -> bool:
    return value is not None and bool(value.get_secret_value().strip())


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and ``.env``, with a readable error instead of a traceback."""
    env_file = overrides.get("_env_file", Settings.model_config.get("env_file"))
    try:
        if env_file is not None and (problem := unreadable_lines(Path(str(env_file)))):
            raise SettingsError(problem)
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        raise SettingsError(f"Invalid setting(s): {describe(e)}") from e
    except UnicodeDecodeError as e:
        # Only the .env file is decoded here (the environment is text already).
        from router.routes_file import not_utf8

        raise SettingsError(f"{Path(str(env_file)).absolute()}: {not_utf8(e)}") from e


def dotenv_near_misses(env_file: Path = Path(".env")) -> list[str]:
    """What to warn of in ``env_file``: each name that is no setting but nearly one, with the setting
    meant (``STORE_MESSAGE_TXT``: did you mean STORE_MESSAGE_TEXT?). Such a line is ignored, leaving the
    default in force (every customer's text kept, where ``none`` was asked for). A warning, not a refusal:
    other tools' names share the file (``TEST_DATABASE_URL``, ``PGHOST``, ``WEB_CONCURRENCY``), and only
    one that begins as a setting does and holds none whole is taken for a slip."""
    if not env_file.is_file():
        return []
    names = [name.upper() for name in Settings.model_fields]
    warnings = []
    try:
        keys = list(dotenv_values(env_file, encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return []  # the settings' own reading of it said so already
    for key in keys:
        upper = key.upper()
        if upper in names or any(name in upper for name in names):
            continue
        close = [
            name
            for name in difflib.get_close_matches(upper, names, n=3, cutoff=0.8)
            if name.split("_")[0] == upper.split("_")[0]
        ]
        if close:
            warnings.append(
                f"{env_file.absolute()}: {key} is no setting and is ignored; did you mean {close[0]}?"
            )
    return warnings
