"""The local classifier: a linear model over static embeddings and TF-IDF n-grams, with a confidence that
means "probability this answer is right".

Features (:mod:`router.classifiers.features`): wordllama's averaged token embedding beside TF-IDF character
and word n-grams. Head (:mod:`router.classifiers.linear`): a one-vs-rest linear SVM fitted in numpy
(:mod:`router.classifiers.svm`). Confidence (:mod:`router.classifiers.confidence`): a logistic model over the
top score, its margin, the similarity of the nearest example of the predicted category and the share of
the message's words that some example contains, fitted on out-of-fold predictions in which whole categories
are hidden. Prediction is plain numpy, one message at a
time, in well under a millisecond.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections import deque
from collections.abc import Mapping, Sequence

import numpy as np

from router.classifiers.confidence import (
    DEFAULT_CONFIDENCE,
    CrossValidated,
    confidence_of,
    fit_confidence,
    fit_from_folds,
    fold_ids,
)
from router.classifiers.features import Vectoriser, embed, load_wordllama
from router.classifiers.linear import LinearHead, fit_head
from router.config import LocalModelConfig, RoutesConfig
from router.models import Classification, Source, Turn

__all__ = ["CrossValidated", "LocalClassifier", "fit_confidence", "fold_ids", "load_wordllama"]


class LocalClassifier:
    """Classifies messages among labelled categories without the network, in well under 1 ms each."""

    def __init__(
        self,
        examples: Mapping[str, Sequence[str]],
        config: LocalModelConfig,
        out_of_scope: Sequence[str] = (),
    ) -> None:
        """Build from ``{category: example texts}``; every category needs at least one non-blank example.

        ``out_of_scope`` messages (belonging to no category) are never learned as a category; they only
        teach the confidence what a message that fits nothing looks like.
        """
        if not examples:
            raise ValueError("the local classifier needs at least one category with examples")
        self.config = config
        self._seed = {label: [t for t in texts if t.strip()] for label, texts in examples.items()}
        empty = [label for label, texts in self._seed.items() if not texts]
        if empty:
            raise ValueError(f"categories without a non-blank example: {', '.join(empty)}")
        self._out_of_scope = [t for t in out_of_scope if t.strip()]
        self._learned: dict[str, deque[str]] = {
            label: deque(maxlen=config.max_learned_per_category) for label in self._seed
        }
        self._model = load_wordllama(config.embedding, config.dim)
        self.model_name = f"wordllama:{config.embedding}-{config.dim}"
        self._head: LinearHead | None = None
        self._texts: list[str] = []
        # Per example: whether the reasoning may quote it (the routes file's, not a customer's words).
        self._quotable: list[bool] = []
        self._confidence = DEFAULT_CONFIDENCE
        self._cross_validated: CrossValidated | None = None

    @classmethod
    def from_routes(cls, routes: RoutesConfig) -> LocalClassifier:
        """A classifier over the routes file's categories: each one's examples and its description."""
        examples = {c.name: [*c.examples, c.description] for c in routes.categories}
        return cls(examples, routes.classifier.local)

    @property
    def categories(self) -> list[str]:
        return list(self._seed)

    def examples(self, label: str) -> list[str]:
        """The examples ``label`` is learned from: the seed ones, then the learned ones, oldest first."""
        return [*self._seed[label], *self._learned[label]]

    def add_examples(self, label: str, texts: Sequence[str]) -> None:
        """Learn from confirmed decisions; only the newest ``max_learned_per_category`` are kept per category.

        The model is refitted lazily, on the next prediction.
        """
        if label not in self._learned:
            raise ValueError(f"unknown category {label!r}; expected one of {', '.join(self._seed)}")
        added = [t for t in texts if t.strip()]
        self._learned[label].extend(added)
        if added:
            self._head = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text (zeros for a blank text)."""
        return embed(self._model, texts, self.config.dim)

    def cross_validated(self) -> CrossValidated | None:
        """The out-of-fold predictions behind the confidence (None when too few examples to fold)."""
        self._fitted()
        return self._cross_validated

    def _fitted(self) -> LinearHead:
        if self._head is None:
            texts, labels, quotable = [], [], []
            for index, label in enumerate(self._seed):
                examples = self.examples(label)
                texts.extend(examples)
                labels.extend([index] * len(examples))
                quotable.extend([True] * len(self._seed[label]) + [False] * len(self._learned[label]))
            outside = self._out_of_scope
            vectoriser = Vectoriser(texts)
            grams = vectoriser.matrix([*texts, *outside])
            vectors = self.embed([*texts, *outside])
            inside = len(texts)
            self._head = fit_head(vectoriser, grams[:inside], np.array(labels), vectors[:inside], self.config)
            self._texts = texts
            self._quotable = quotable
            every = np.r_[labels, np.full(len(outside), -1)].astype(int)
            self._confidence, self._cross_validated = fit_from_folds(
                vectoriser, grams, every, vectors, self.config
            )
            _release_freed_memory()
        return self._head

    def predict_many(self, texts: Sequence[str]) -> list[Classification]:
        """Classify many messages at once (one vectorised pass)."""
        if not texts:
            return []
        head = self._fitted()
        vectors = self.embed(texts)
        scores, features, nearest = head.signals(texts, vectors)
        confidence = confidence_of(self._confidence, features)
        top = np.argmax(scores, axis=1)
        return [
            self._classification(*row) for row in zip(texts, top, confidence, nearest, features, strict=True)
        ]

    def predict(self, text: str) -> Classification:
        """Classify one message: the likeliest category, the probability it is right, the nearest example."""
        return self.predict_many([text])[0]

    async def classify(self, text: str, history: Sequence[Turn] = ()) -> Classification:
        """The :class:`~router.classifiers.Classifier` protocol; the local model reads only ``text``."""
        return self.predict(text)

    def _classification(
        self, text: str, best: int, confidence: float, nearest: int, features: np.ndarray
    ) -> Classification:
        category = self.categories[min(int(best), len(self._seed) - 1)]
        if not text.strip():
            uniform = 1.0 / len(self._seed)
            return self._make(category, uniform, "The message is empty, so there is nothing to go on.")
        if features[2] < 0:  # the winning class has no example (the filler class of a single category)
            return self._make(category, float(confidence), "No example of any category resembles it.")
        similarity = f"similarity {float(features[2]):.2f}"
        if not self._quotable[int(nearest)]:
            # A learned example is another customer's words: the reasoning is shown in escalations,
            # in threads the whole channel reads.
            reason = f"Closest to a message routed to {category} before ({similarity})."
            return self._make(category, float(confidence), reason)
        example = self._texts[int(nearest)]
        shown = example if len(example) <= 60 else example[:57] + "..."
        reason = f'Closest to the {category} example "{shown}" ({similarity}).'
        return self._make(category, float(confidence), reason)

    def _make(self, category: str, confidence: float, reasoning: str) -> Classification:
        return Classification(
            category=category,
            confidence=min(max(confidence, 0.0), 1.0),
            reasoning=reasoning,
            source=Source.LOCAL,
            model=self.model_name,
        )


def _release_freed_memory() -> None:
    """Hand the fit's freed heap back to the system (glibc keeps it otherwise); a no-op elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
