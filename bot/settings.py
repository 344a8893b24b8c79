"""The one settings class: environment variables and an optional ``.env`` file.

Built once in the CLI and passed down; nothing else reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CommaList = Annotated[list[str], NoDecode]


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it and says how to fix it."""


class Settings(BaseSettings):
    """Every knob of the bot. Field names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

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

    @field_validator("support_channels", "agent_users", "stats_users", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def offline(self) -> bool:
        """True when no Anthropic key is set: the local model classifies and offline replies answer."""
        return self.anthropic_api_key is None or not self.anthropic_api_key.get_secret_value()

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def require_slack(self) -> None:
        """Check what serving Slack needs.

        Raises:
            SettingsError: naming the missing setting.
        """
        missing = []
        if self.slack_bot_token is None:
            missing.append("SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-…)")
        if not self.socket_mode and self.slack_signing_secret is None:
            missing.append("SLACK_SIGNING_SECRET (Basic Information → App Credentials), or SLACK_APP_TOKEN")
        if missing:
            raise SettingsError("Missing setting(s): " + "; ".join(missing))
        if self.slack_app_token and not self.slack_app_token.get_secret_value().startswith("xapp-"):
            raise SettingsError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and ``.env``, with a readable error instead of a traceback."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])).upper()}: {err['msg']}" for err in e.errors())
        raise SettingsError(f"Invalid setting(s): {problems}") from e
