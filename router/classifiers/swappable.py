"""A classifier whose model can be replaced while the bot runs (the local model, refitted on history)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from router.classifiers import Classifier
from router.models import Classification, Turn

C = TypeVar("C", bound=Classifier)


class Swappable(Generic[C]):
    """Delegates to ``current``; :meth:`replace` swaps in a new model for the next message on.

    The swap is one assignment, so a message being classified finishes on the model it started with.
    """

    def __init__(self, current: C) -> None:
        self.current = current

    def replace(self, new: C) -> None:
        self.current = new

    async def classify(self, text: str, history: Sequence[Turn] = ()) -> Classification:
        return await self.current.classify(text, history)
