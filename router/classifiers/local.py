"""The local classifier: a linear model over static embeddings and TF-IDF n-grams, with calibrated confidence.

Features per message: wordllama's averaged token embedding (ships in its wheel, no network) beside
sublinear TF-IDF character n-grams (2–5, within words) and word uni/bigrams. A one-vs-rest linear SVM is
trained on the labelled examples; its scores become probabilities by a softmax whose scale is fitted by
cross-validation on those same examples, so a confidence of 0.7 means about 70 % right. The featuriser is
our own rather than scikit-learn's because sklearn's per-call overhead alone is over 1 ms a message.
"""

from __future__ import annotations

import math
import re
from collections import Counter, deque
from collections.abc import Mapping, Sequence
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
_SCALES = np.geomspace(0.5, 200.0, 60)


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


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def fit_scale(scores: np.ndarray, gold: np.ndarray) -> float:
    """The softmax scale minimising the negative log-likelihood of ``gold`` (class indices) given scores."""
    if len(gold) == 0:
        return float(_SCALES[len(_SCALES) // 2])
    rows = np.arange(len(gold))
    losses = [-np.log(_softmax(scores * s)[rows, gold] + 1e-12).mean() for s in _SCALES]
    return float(_SCALES[int(np.argmin(losses))])


class _LinearHead:
    """A fitted model: vectoriser, per-class weights on n-grams and embedding, bias and softmax scale."""

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
        self.gram_weights = np.ascontiguousarray(weights[:, :n_grams].T)  # row per n-gram: a cheap gather
        self.embedding_weights = np.ascontiguousarray(weights[:, n_grams:].T * config.embedding_weight)
        self.bias = bias
        self.scale = 1.0

    def scores(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        out = vectors @ self.embedding_weights + self.bias
        for row, text in enumerate(texts):
            idx, values = self.vectoriser.transform(text)
            if len(idx):
                out[row] += values @ self.gram_weights[idx]
        return out

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        return _softmax(self.scores(texts, vectors) * self.scale)


class LocalClassifier:
    """Classifies messages among labelled categories without the network, in well under 1 ms each."""

    def __init__(self, examples: Mapping[str, Sequence[str]], config: LocalModelConfig) -> None:
        """Build from ``{category: example texts}``; every category needs at least one non-blank example."""
        if not examples:
            raise ValueError("the local classifier needs at least one category with examples")
        self.config = config
        self._seed = {label: [t for t in texts if t.strip()] for label, texts in examples.items()}
        empty = [label for label, texts in self._seed.items() if not texts]
        if empty:
            raise ValueError(f"categories without a non-blank example: {', '.join(empty)}")
        self._learned: dict[str, deque[str]] = {
            label: deque(maxlen=config.max_learned_per_category) for label in self._seed
        }
        self._model = load_wordllama(config.embedding, config.dim)
        self.model_name = f"wordllama:{config.embedding}-{config.dim}"
        self._head: _LinearHead | None = None

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

    def _training_set(self) -> tuple[list[str], np.ndarray]:
        texts, labels = [], []
        for index, label in enumerate(self._seed):
            examples = self.examples(label)
            texts.extend(examples)
            labels.extend([index] * len(examples))
        return texts, np.array(labels)

    def _fit(self) -> _LinearHead:
        texts, labels = self._training_set()
        vectors = self.embed(texts)
        self._vectors, self._labels, self._texts = vectors, labels, texts
        if len(self._seed) == 1:
            labels = np.concatenate([labels, [1]])  # a single category still needs a second class to fit
            texts, vectors = [*texts, ""], np.vstack([vectors, np.zeros((1, vectors.shape[1]), np.float32)])
        head = _LinearHead(texts, labels, vectors, self.config)
        head.scale = self.config.confidence_scale or self._cross_validated_scale(texts, labels, vectors)
        return head

    def _cross_validated_scale(self, texts: list[str], labels: np.ndarray, vectors: np.ndarray) -> float:
        # Scores on the examples a model was trained on are overconfident; held-out folds are honest.
        order = np.random.default_rng(0).permutation(len(texts))[: self.config.calibration_sample]
        folds = np.array_split(order, 3)
        scores, gold = [], []
        for k, held in enumerate(folds):
            train = np.concatenate([f for j, f in enumerate(folds) if j != k])
            if len(np.unique(labels[train])) < 2:
                continue
            head = _LinearHead([texts[i] for i in train], labels[train], vectors[train], self.config)
            classes = np.unique(labels[train])
            keep = held[np.isin(labels[held], classes)]
            raw = head.scores([texts[i] for i in keep], vectors[keep])
            scores.append(raw)
            gold.append(np.searchsorted(classes, labels[keep]))
        if not scores or len({s.shape[1] for s in scores}) != 1:
            return fit_scale(np.zeros((0, 1)), np.zeros(0, dtype=int))
        return fit_scale(np.vstack(scores), np.concatenate(gold))

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Probability of each category (columns in :attr:`categories` order) for each text."""
        if self._head is None:
            self._head = self._fit()
        probs = self._head.probabilities(texts, self.embed(texts) if vectors is None else vectors)
        return probs[:, : len(self._seed)] / probs[:, : len(self._seed)].sum(axis=1, keepdims=True)

    def predict_many(self, texts: Sequence[str]) -> list[Classification]:
        """Classify many messages at once (one vectorised pass)."""
        if not texts:
            return []
        vectors = self.embed(texts)
        probs = self.probabilities(texts, vectors)
        return [self._classification(t, p, v) for t, p, v in zip(texts, probs, vectors, strict=True)]

    def predict(self, text: str) -> Classification:
        """Classify one message: the likeliest category, its probability and the nearest example."""
        return self.predict_many([text])[0]

    async def classify(self, text: str, history: Sequence[Turn] = ()) -> Classification:
        """The :class:`~router.classifiers.Classifier` protocol; the local model reads only ``text``."""
        return self.predict(text)

    def _classification(self, text: str, probs: np.ndarray, vector: np.ndarray) -> Classification:
        best = int(np.argmax(probs))
        category = self.categories[best]
        if not text.strip():
            uniform = 1.0 / len(self._seed)
            return self._make(category, uniform, "The message is empty, so there is nothing to go on.")
        members = np.flatnonzero(self._labels == best)
        similarities = self._vectors[members] @ vector
        nearest = self._texts[int(members[int(np.argmax(similarities))])]
        shown = nearest if len(nearest) <= 60 else nearest[:57] + "..."
        reason = f'Closest to the {category} example "{shown}" (similarity {float(similarities.max()):.2f}).'
        return self._make(category, float(probs[best]), reason)

    def _make(self, category: str, confidence: float, reasoning: str) -> Classification:
        return Classification(
            category=category,
            confidence=min(max(confidence, 0.0), 1.0),
            reasoning=reasoning,
            source=Source.LOCAL,
            model=self.model_name,
        )
