"""Classifiers behind one protocol: Claude (schema-enforced), local (embeddings), and the hybrid of both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from router.models import Classification, Turn


class Classifier(Protocol):
    """Anything that turns a customer's message into a :class:`Classification`."""

    async def classify(self, text: str, history: Sequence[Turn] = ()) -> Classification:
        """Classify ``text``; ``history`` holds the thread's earlier turns, oldest first.

        Raises:
            ClassifierUnavailable: the classification could not be produced.
        """
        ...
