"""The look at Claude before ``serve`` (or ``demo``, ``classify``, ``eval``, ``chat``) starts: the key and
every model the routes file names.

A refused key or a misspelt model id would not stop the bot otherwise: every message would fall back
to the local model and be escalated, and the log would name neither the setting nor the model; a
terminal command would print a 401 warning per message and record the failures as decisions. Anthropic
being down or slow does not stop the start (the bot works on without Claude, and says so); a model the
SDK lists as deprecated is warned about with its retirement date.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import anthropic

from bot.clients import anthropic_client
from bot.settings import Settings, SettingsError
from router.config import RoutesConfig
from router.routes_file import default_routes_path

logger = logging.getLogger(__name__)

MODELS_PAGE = "https://docs.claude.com/en/docs/about-claude/models/overview"
# Seconds the start waits on Anthropic for each model's check.
CHECK_TIMEOUT = 10.0


async def check_claude_at_start(settings: Settings, routes: RoutesConfig) -> None:
    """:func:`check_claude` once, quickly, on a client of its own: no retries, a short timeout (Anthropic
    down does not hold the start up for minutes; the router falls back to the local model meanwhile).
    Nothing to do offline."""
    client = anthropic_client(settings)
    if client is None:
        return
    try:
        quick = client.with_options(max_retries=0, timeout=min(settings.anthropic_timeout, CHECK_TIMEOUT))
        await check_claude(quick, routes, settings.routes_file)
    finally:
        await client.close()


async def check_claude(
    client: anthropic.AsyncAnthropic | None, routes: RoutesConfig, routes_file: Path | None
) -> None:
    """Ask Anthropic for each model the routes name (``models.retrieve``, which needs the key too).

    Raises:
        SettingsError: the key was refused, or a model id is not one Anthropic serves: one line naming
            the setting or the routes file's field, and what to do.
    """
    if client is None:
        return  # offline: said already
    where = routes_file or default_routes_path()
    for model, fields in routes.models.items():
        try:
            await client.models.retrieve(model)
        except anthropic.AuthenticationError as e:
            raise SettingsError(
                f"ANTHROPIC_API_KEY was refused by Anthropic ({_error_type(e)}): create a key in the "
                "Claude Console (Settings → API keys), or unset it to run offline"
            ) from e
        except anthropic.PermissionDeniedError as e:
            raise SettingsError(
                f"ANTHROPIC_API_KEY may not use {model} ({_error_type(e)}): check the key's workspace "
                "and its model access in the Claude Console"
            ) from e
        except anthropic.NotFoundError as e:
            if not _names_model(e, model):
                # A gateway behind ANTHROPIC_BASE_URL that serves /v1/messages alone: nothing to learn.
                _cannot_check(e)
                return
            raise SettingsError(
                f"{where}: {', '.join(fields)}: {model!r} is not a model Anthropic serves "
                f"({_error_type(e)}); use a current model id ({MODELS_PAGE})"
            ) from e
        except anthropic.APIError as e:
            # Down, overloaded, rate limited, unreachable: the bot still starts, and falls back locally.
            _cannot_check(e)
            return
        _warn_if_deprecated(model, where, fields)


def _cannot_check(error: anthropic.APIError) -> None:
    logger.warning(
        "Could not check the Claude models at start (%s: %s); check ANTHROPIC_BASE_URL and the network if "
        "Claude's answers fail too. Until Claude answers, the local model classifies and messages that need "
        "an answer go to a person.",
        type(error).__name__,
        error,
    )


def _names_model(error: anthropic.APIStatusError, model: str) -> bool:
    """Whether a 404 is Anthropic's about ``model`` (``not_found_error``, "model: claude-…"), not a proxy's
    for a path it does not serve."""
    detail = _error_detail(error)
    return detail.get("type") == "not_found_error" and model in str(detail.get("message") or "")


def _warn_if_deprecated(model: str, where: Path, fields: list[str]) -> None:
    """Warn of a model the SDK lists as deprecated, with the date Anthropic retires it."""
    try:
        from anthropic._data.deprecated_models import DEPRECATED_MODELS
    except ImportError:  # a private table of the SDK's: gone in another version, nothing to say
        return
    retires = DEPRECATED_MODELS.get(model)
    if retires:
        logger.warning(
            "%s: %s: %s is deprecated and %s. Move to a current model (%s).",
            where,
            ", ".join(fields),
            model,
            retirement(retires, datetime.now(UTC).date()),
            MODELS_PAGE,
        )


def retirement(retires: str, today: date) -> str:
    """When a deprecated model retires (the SDK's date, "June 30th, 2026"), as of ``today``: still to come
    ("retires on …; after that its requests fail"), or past ("retired on …: its requests fail")."""
    try:
        day = datetime.strptime(re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", retires), "%B %d, %Y").date()
    except ValueError:  # a date written otherwise: said as the SDK has it
        day = None
    if day is not None and day <= today:
        return f"retired on {retires}: its requests fail"
    return f"retires on {retires}; after that its requests fail"


def _error_type(error: anthropic.APIStatusError) -> str:
    """The ``error.type`` of Anthropic's error body (``authentication_error``), or the HTTP status."""
    return str(_error_detail(error).get("type") or f"HTTP {error.status_code}")


def _error_detail(error: anthropic.APIStatusError) -> dict[str, Any]:
    """The ``error`` object of Anthropic's error body; empty for a body of another shape (a proxy's)."""
    body = error.body
    detail = body.get("error") if isinstance(body, dict) else None
    return detail if isinstance(detail, dict) else {}
