"""The router's error hierarchy: one base class, SDK errors wrapped with ``raise ... from e``."""


class RouterError(Exception):
    """Base class of every error the router raises on purpose."""


class ConfigError(RouterError):
    """The routes file cannot be read or does not validate; the message names the file and the field."""


class ClassifierUnavailable(RouterError):
    """A classifier could not produce a classification (API error, timeout, refusal, bad output)."""


class HandlerUnavailable(RouterError):
    """A handler could not produce (or finish) an answer."""


class DatasetError(RouterError):
    """An evaluation file cannot be read: the message names the file, the line and the fix."""
