"""Putting a Router together from a routes file and, when there is one, an Anthropic client."""

from __future__ import annotations

import anthropic

from router.classifiers.claude import ClaudeClassifier
from router.classifiers.hybrid import HybridClassifier
from router.classifiers.local import LocalClassifier
from router.classifiers.swappable import Swappable
from router.config import RoutesConfig
from router.handlers import ClaudeHandler, OfflineHandler
from router.router import DEFAULT_MAX_QUERY_CHARS, Router


def build_router(
    routes: RoutesConfig,
    client: anthropic.AsyncAnthropic | None,
    *,
    local: LocalClassifier | None = None,
    max_query_chars: int = DEFAULT_MAX_QUERY_CHARS,
) -> Router:
    """A Router over ``routes``: Claude-backed when ``client`` is given, the offline model otherwise.

    Args:
        routes: the validated routes file.
        client: the Anthropic client (its timeout and retries set by the caller), or None for offline.
        local: a prepared local classifier (for instance one that has learnt from history).
        max_query_chars: longer messages are cut to this many characters before routing.
    """
    # Swappable, so that a model refitted on the bot's history replaces it while the bot runs.
    swappable = Swappable(local or LocalClassifier.from_routes(routes))
    if client is None:
        return Router(routes, swappable, OfflineHandler(), max_query_chars=max_query_chars, local=swappable)
    classifier = HybridClassifier(
        swappable, ClaudeClassifier(client, routes), routes.classifier.local.accept_threshold
    )
    return Router(routes, classifier, ClaudeHandler(client), max_query_chars=max_query_chars, local=swappable)
