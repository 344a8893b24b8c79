"""Local first, Claude second, local again when Claude is down.

A confident local answer (at or above ``accept_threshold``) skips the Claude call, unless the message
is a follow-up or may ask for a person; anything else goes to Claude; when Claude is unavailable after
the SDK's own retries, the local answer stands in, marked ``Source.FALLBACK`` with the error, so the
policy escalates it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from router.classifiers import Classifier
from router.errors import ClassifierUnavailable
from router.models import Classification, Source, Turn
from router.policy import mentions_person

logger = logging.getLogger(__name__)


class HybridClassifier:
    """Combines a fast local classifier with Claude."""

    def __init__(self, local: Classifier, claude: Classifier, accept_threshold: float | None) -> None:
        self._local = local
        self._claude = claude
        self._accept_threshold = accept_threshold

    async def classify(self, text: str, history: Sequence[Turn] = ()) -> Classification:
        """Classify ``text``; never raises unless the local classifier itself fails."""
        local = await self._local.classify(text, history)
        # Follow-ups depend on the thread, which the local model does not read: Claude decides those, and
        # messages that may ask for a person, which only Claude's answer says.
        confident = self._accept_threshold is not None and local.confidence >= self._accept_threshold
        if confident and not history and not mentions_person(text):
            return local
        try:
            return await self._claude.classify(text, history)
        except ClassifierUnavailable as e:
            logger.warning("Claude classification unavailable, falling back to the local model: %s", e)
            # The failed call's tokens (a refusal, an unreadable output) are billed: the stand-in keeps them.
            update = {"source": Source.FALLBACK, "error": str(e), "usage": e.usage, "usage_model": e.model}
            return local.model_copy(update=update)
