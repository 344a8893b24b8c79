"""What the start says of an invalid setting: its name, the value given, what is wrong with it, and what
to write instead.

The value is shown here for the number and choice settings alone: the id and URL settings' own checks
quote theirs, and a token's or an API key's is never shown."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails

# What each number setting takes. pydantic's words say what is wrong ("Input should be greater than 0",
# "unable to parse string as a number") but not the unit, nor what 0 means: ANTHROPIC_TIMEOUT=30s or
# LEARN_MIN_CONFIDENCE=90 (for 90 %) were refused with nothing to say how to write them.
EXPECTED = {
    "anthropic_timeout": "seconds per Claude request, a number above 0, e.g. 30",
    "anthropic_max_retries": "a whole number from 0 to 10, e.g. 2",
    "port": "a whole number from 1 to 65535, e.g. 3000",
    "escalation_reminder_minutes": "minutes, e.g. 30, or 0 to turn the reminders off",
    "catch_up_hours": "hours from 0 (off) to 8760 (a year), e.g. 24",
    "late_reply_minutes": "minutes, e.g. 10, or 0 to turn the apology off",
    "max_concurrency": "a whole number of messages, 1 or more, e.g. 256",
    "claim_lease_seconds": "seconds, a number above 0, e.g. 60",
    "recovery_interval_seconds": "seconds, a number above 0, e.g. 15",
    "retry_attempts": "a whole number from 1 to 20, e.g. 6",
    "retry_base_seconds": "seconds, a number above 0, e.g. 5",
    "max_message_chars": "a whole number of characters from 100 to 40000, e.g. 4000",
    "learn_min_confidence": "a fraction from 0 to 1: 0.9 for 90 %",
    "learn_refit_seconds": "seconds, 0 or more, e.g. 60",
}
# Settings whose choices pydantic's words list ("Input should be 'auto', 'on' or 'off'"): only the value
# given is missing from them.
CHOICES = ("slack_streaming", "store_message_text", "log_level")
_SHOWN_LENGTH = 40


def describe(error: ValidationError) -> str:
    """Every invalid setting in ``error``, one after another: ``NAME: what is wrong (what to write)``."""
    return "; ".join(_problem(detail) for detail in error.errors())


def _problem(detail: ErrorDetails) -> str:
    loc = detail["loc"]
    field = str(loc[0]) if loc else ""
    # Our validators' text says it all: "Value error, " adds nothing.
    message = detail["msg"].removeprefix("Value error, ")
    if field in EXPECTED or field in CHOICES:
        given = str(detail.get("input", ""))
        shown = given if len(given) <= _SHOWN_LENGTH else f"{given[:_SHOWN_LENGTH]}…"
        message = message.replace("Input should", f"{shown!r} should", 1)
        if field in EXPECTED:
            message = f"{message} (write {EXPECTED[field]})"
    return f"{'.'.join(map(str, loc)).upper()}: {message}"
