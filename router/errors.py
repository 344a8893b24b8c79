"""The router's error hierarchy: one base class, SDK errors wrapped with ``raise ... from e``."""

from __future__ import annotations

from router.models import Usage


class RouterError(Exception):
    """Base class of every error the router raises on purpose.

    ``usage`` is what a Claude call consumed before it failed, on ``model``: a refusal, a cut-off or an
    unreadable output, and the input of a stream that broke off are billed all the same, so the decision
    that records the failure carries them (an error response before any output costs nothing: zero).
    """

    def __init__(self, *args: object, usage: Usage | None = None, model: str | None = None) -> None:
        super().__init__(*args)
        self.usage = usage or Usage()
        self.model = model


class ConfigError(RouterError):
    """The routes file cannot be read or does not validate; the message names the file and the field."""


class ClassifierUnavailable(RouterError):
    """A classifier could not produce a classification (API error, timeout, refusal, bad output)."""


class HandlerUnavailable(RouterError):
    """A handler could not produce (or finish) an answer."""


class AnswerStopped(RouterError):
    """Raised by an answer's text sink to stop it where it is: the customer stopped it in Slack. The
    router closes the handler's request (Claude stops writing, and billing) and records what it wrote."""


class DatasetError(RouterError):
    """An evaluation file cannot be read: the message names the file, the line and the fix."""
