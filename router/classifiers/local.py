"""The local classifier: a linear model over static embeddings and TF-IDF n-grams, with a confidence that
means "probability this answer is right".

Features per message: wordllama's averaged token embedding (ships in its wheel, no network) beside
sublinear TF-IDF character n-grams (2–5, within words) and word uni/bigrams. A one-vs-rest linear SVM is
trained on the labelled examples. The confidence is a logistic model over the top score, its margin and
the similarity of the nearest example of the predicted category (embedding and n-grams), fitted on
out-of-fold predictions in which whole categories are hidden: a message far from every example (a
greeting, gibberish, another topic) gets a low confidence whatever its scores. Prediction is plain numpy,
one message at a time, because scipy's and sklearn's per-call overhead alone is about a millisecond.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import re
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.svm import LinearSVC

from router.config import LocalModelConfig, RoutesConfig
from router.models import Classification, Source, Turn

_WORD = re.compile(r"\w+")
# Confidence features: top linear score, its margin over the runner-up, and the cosine similarity of the
# nearest example of the predicted category (embedding, then n-grams).
FEATURES = ("score", "margin", "embedding_similarity", "ngram_similarity")
# Used only when there are too few examples or categories to cross-validate: the weights fitted on the
# HINT3 bots' training splits (benchmarks/quality.py), bias last.
DEFAULT_CONFIDENCE = np.array([1.0, 1.0, 2.0, 2.0, -2.0])


@lru_cache(maxsize=4)
def load_wordllama(embedding: str, dim: int) -> Any:
    """The wordllama model from its wheel, loaded once per process and shared by every classifier."""
    import wordllama  # deferred: importing it costs ~0.3 s and only the local classifier needs it

    return wordllama.WordLlama.load(
        config=embedding, dim=dim, cache_dir=Path(wordllama.__file__).parent, disable_download=True
    )


def _ngrams(text: str) -> Counter[str]:
    words = _WORD.findall(text.lower())
    grams: Counter[str] = Counter(words)
    grams.update(f"{a} {b}" for a, b in pairwise(words))
    for word in words:
        padded = f" {word} "
        grams.update([f"#{padded[i : i + n]}" for n in range(2, 6) for i in range(len(padded) - n + 1)])
    return grams


class _Vectoriser:
    """Sublinear TF-IDF over word and character n-grams, L2-normalised, as (indices, values) pairs."""

    def __init__(self, texts: Sequence[str]) -> None:
        df: Counter[str] = Counter()
        for text in texts:
            df.update(_ngrams(text).keys())
        self.vocabulary = {gram: i for i, gram in enumerate(df)}
        n = len(texts)
        self.idf = np.array([math.log((1 + n) / (1 + df[g])) + 1 for g in df], dtype=np.float32)

    def transform(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        vocabulary = self.vocabulary
        counts = [(i, c) for g, c in _ngrams(text).items() if (i := vocabulary.get(g)) is not None]
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        pairs = np.array(counts, dtype=np.int64)
        idx = pairs[:, 0]
        values = (1.0 + np.log(pairs[:, 1].astype(np.float32))) * self.idf[idx]
        return idx, values / np.linalg.norm(values)

    def matrix(self, texts: Sequence[str]) -> sparse.csr_matrix:
        rows = [self.transform(t) for t in texts]
        indptr = np.cumsum([0] + [len(i) for i, _ in rows])
        indices = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, dtype=np.int64)
        data = np.concatenate([v for _, v in rows]) if rows else np.zeros(0, dtype=np.float32)
        return sparse.csr_matrix((data, indices, indptr), shape=(len(texts), len(self.vocabulary)))


def fold_ids(labels: Sequence[object], folds: int, rng: np.random.Generator) -> np.ndarray:
    """Stratified fold numbers: each label's examples dealt round-robin after a shuffle."""
    ids = np.zeros(len(labels), dtype=int)
    by_label: dict[object, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    offset = 0
    for indices in by_label.values():
        shuffled = rng.permutation(indices)
        ids[shuffled] = (np.arange(len(shuffled)) + offset) % folds
        offset += len(shuffled)
    return ids


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))


def fit_confidence(
    features: np.ndarray, right: np.ndarray, weight: np.ndarray, l2: float = 1e-3
) -> np.ndarray:
    """Logistic regression (Newton's method, L2-penalised) of ``right`` on ``features``; bias last."""
    x = np.c_[features, np.ones(len(features))]
    w = np.zeros(x.shape[1])
    penalty = l2 * np.r_[np.ones(features.shape[1]), 0.0]
    weight = weight / weight.sum()
    for _ in range(30):
        p = _sigmoid(x @ w)
        gradient = x.T @ (weight * (p - right)) + penalty * w
        hessian = (x * (weight * p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


class _LinearHead:
    """A fitted model: vectoriser, per-class weights on n-grams and embedding, and its training examples.

    The examples stay (as n-gram rows and embeddings) for the nearest-example similarities that tell a
    message far from everything the model knows, whatever its linear scores say.
    """

    def __init__(self, texts: list[str], labels: np.ndarray, vectors: np.ndarray, config: LocalModelConfig):
        self.vectoriser = _Vectoriser(texts)
        grams = self.vectoriser.matrix(texts)
        features = sparse.hstack([grams, sparse.csr_matrix(vectors * config.embedding_weight)]).tocsr()
        svm = LinearSVC(C=config.regularisation, max_iter=5000).fit(features, labels)
        weights = svm.coef_.astype(np.float32)
        bias = svm.intercept_.astype(np.float32)
        if weights.shape[0] == 1:  # two classes: sklearn keeps one score for the second class
            weights, bias = np.vstack([-weights, weights]), np.concatenate([-bias, bias])
        n_grams = grams.shape[1]
        self.gram_weights = np.ascontiguousarray(weights[:, :n_grams].T)
        self.embedding_weights = np.ascontiguousarray(weights[:, n_grams:].T * config.embedding_weight)
        self.bias = bias
        self.labels = np.searchsorted(svm.classes_, labels)  # column of each example's class
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.members = [np.flatnonzero(self.labels == c) for c in range(len(bias))]
        self.class_grams = [_rows(grams[m]) for m in self.members]  # each class's n-gram rows

    def signals(self, texts: Sequence[str], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per text: the linear scores, the confidence features and the nearest same-class example.

        One text at a time with plain numpy: scipy's per-call overhead alone would cost a millisecond.
        """
        scores = vectors @ self.embedding_weights + self.bias
        features = np.zeros((len(texts), len(FEATURES)), dtype=np.float64)
        nearest = np.zeros(len(texts), dtype=int)
        for row, text in enumerate(texts):
            idx, values = self.vectoriser.transform(text)
            if len(idx):
                scores[row] += values @ self.gram_weights[idx]
            top, runner_up = np.argsort(scores[row])[::-1][:2] if scores.shape[1] > 1 else (0, 0)
            members = self.members[top]
            if len(members) == 0:  # the filler class of a single category
                features[row] = scores[row, top], 0.0, -1.0, 0.0
                continue
            embedding = self.vectors[members] @ vectors[row]
            closest = int(np.argmax(embedding))
            nearest[row] = members[closest]
            margin = scores[row, top] - scores[row, runner_up]
            features[row] = (
                scores[row, top],
                margin,
                embedding[closest],
                self._gram_similarity(idx, values, top),
            )
        return scores, features, nearest

    def _gram_similarity(self, idx: np.ndarray, values: np.ndarray, label: int) -> float:
        """The n-gram cosine similarity of the nearest example of class ``label`` (its rows, in numpy)."""
        starts, indices, data = self.class_grams[label]
        if len(idx) == 0 or len(data) == 0:
            return 0.0
        query = np.zeros(self.gram_weights.shape[0], dtype=np.float32)
        query[idx] = values
        return float(np.add.reduceat(data * query[indices], starts).max())


def _rows(matrix: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A CSR matrix as (row starts, column indices, values), dropping empty rows so reduceat stays exact."""
    keep = np.flatnonzero(np.diff(matrix.indptr) > 0)
    matrix = matrix[keep]
    return (
        matrix.indptr[:-1].astype(np.int64),
        matrix.indices.astype(np.int32),
        matrix.data.astype(np.float32),
    )


@dataclass(frozen=True)
class CrossValidated:
    """The out-of-fold predictions the confidence was fitted on (held-out categories count as unknown)."""

    confidence: np.ndarray
    right: np.ndarray  # the predicted category is the gold one
    unknown: np.ndarray  # the gold category was hidden from that fold's model, or out of scope


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
        self._head: _LinearHead | None = None
        self._texts: list[str] = []
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
        if not texts:
            return np.zeros((0, self.config.dim), dtype=np.float32)
        vectors = np.asarray(self._model.embed(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    def cross_validated(self) -> CrossValidated | None:
        """The out-of-fold predictions behind the confidence (None when too few examples to fold)."""
        self._fitted()
        return self._cross_validated

    def _fitted(self) -> _LinearHead:
        if self._head is None:
            texts, labels = [], []
            for index, label in enumerate(self._seed):
                examples = self.examples(label)
                texts.extend(examples)
                labels.extend([index] * len(examples))
            vectors = self.embed(texts)
            self._head = _fit_head(texts, np.array(labels), vectors, self.config)
            self._texts = texts
            self._fit_confidence(texts, np.array(labels), vectors)
            _release_freed_memory()
        return self._head

    def _fit_confidence(self, texts: list[str], labels: np.ndarray, vectors: np.ndarray) -> None:
        outside = self._out_of_scope
        records = _out_of_fold(
            [*texts, *outside],
            np.r_[labels, np.full(len(outside), -1)],
            np.vstack([vectors, self.embed(outside)]),
            self.config,
        )
        self._confidence, self._cross_validated = DEFAULT_CONFIDENCE, None
        if records is None:
            return
        features, right, unknown = records
        if right.all() or not right.any():
            return
        # Held-out categories and the rest weigh the same: how often messages fit no category is unknown.
        share = np.where(unknown, 0.5 / max(unknown.sum(), 1), 0.5 / max((~unknown).sum(), 1))
        self._confidence = fit_confidence(features, right.astype(float), share)
        confidence = _sigmoid(np.c_[features, np.ones(len(features))] @ self._confidence)
        self._cross_validated = CrossValidated(confidence, right, unknown)

    def predict_many(self, texts: Sequence[str]) -> list[Classification]:
        """Classify many messages at once (one vectorised pass)."""
        if not texts:
            return []
        head = self._fitted()
        vectors = self.embed(texts)
        scores, features, nearest = head.signals(texts, vectors)
        confidence = _sigmoid(features @ self._confidence[:-1] + self._confidence[-1])
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
        example = self._texts[int(nearest)]
        shown = example if len(example) <= 60 else example[:57] + "..."
        reason = f'Closest to the {category} example "{shown}" (similarity {float(features[2]):.2f}).'
        return self._make(category, float(confidence), reason)

    def _make(self, category: str, confidence: float, reasoning: str) -> Classification:
        return Classification(
            category=category,
            confidence=min(max(confidence, 0.0), 1.0),
            reasoning=reasoning,
            source=Source.LOCAL,
            model=self.model_name,
        )


def _fit_head(
    texts: list[str], labels: np.ndarray, vectors: np.ndarray, config: LocalModelConfig
) -> _LinearHead:
    if len(np.unique(labels)) == 1:  # a single category still needs a second class to fit
        texts = [*texts, ""]
        labels = np.r_[labels, labels[0] + 1]
        vectors = np.vstack([vectors, np.zeros((1, vectors.shape[1]), np.float32)])
        head = _LinearHead(texts, labels, vectors, config)
        head.labels[-1] = -1
        head.members[-1] = np.zeros(0, dtype=np.int64)  # the filler is nobody's nearest example
        head.class_grams[-1] = _rows(sparse.csr_matrix((0, head.gram_weights.shape[0]), dtype=np.float32))
        return head
    return _LinearHead(texts, labels, vectors, config)


def _out_of_fold(
    texts: list[str], labels: np.ndarray, vectors: np.ndarray, config: LocalModelConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Confidence features, rightness and unknown-ness of every example, each predicted by a fold model.

    Each fold also hides some categories entirely; their examples stand in for messages that fit none.
    Label -1 marks out-of-scope examples: never trained on, predicted once.
    """
    rng = np.random.default_rng(0)
    pool = rng.permutation(len(texts))[: config.calibration_sample]
    folds = config.calibration_folds
    fold = np.full(len(texts), -1)
    fold[pool] = fold_ids(labels[pool].tolist(), folds, rng)
    categories = np.unique(labels[labels >= 0])
    hidden_in = dict(
        zip(rng.permutation(categories).tolist(), np.arange(len(categories)) % folds, strict=True)
    )
    hidden_fold = np.array([hidden_in.get(int(label), -1) for label in labels])
    parts = []
    for k in range(folds):
        hidden = (hidden_fold == k) & (fold >= 0)
        train = np.flatnonzero((fold >= 0) & (fold != k) & ~hidden & (labels >= 0))
        held = np.flatnonzero((fold == k) | hidden)
        if len(train) == 0 or len(held) == 0:
            continue
        head = _fit_head([texts[i] for i in train], labels[train], vectors[train], config)
        scores, features, _ = head.signals([texts[i] for i in held], vectors[held])
        predicted = np.unique(labels[train])[
            np.argmax(scores, axis=1).clip(max=len(np.unique(labels[train])) - 1)
        ]
        unknown = hidden[held] | (labels[held] < 0)
        parts.append((features, (predicted == labels[held]) & ~unknown, unknown))
    if not parts:
        return None
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))  # type: ignore[return-value]


def _release_freed_memory() -> None:
    """Hand the fit's freed heap back to the system (glibc keeps it otherwise); a no-op elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
