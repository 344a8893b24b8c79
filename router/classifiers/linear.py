"""The local classifier's linear head: per-category weights on n-grams and embedding, plus the examples.

The examples stay (as n-gram rows and embeddings) for the nearest-example similarities that tell a message
far from everything the model knows, whatever its linear scores say.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from router.classifiers.features import Row, Vectoriser, csr_rows
from router.classifiers.svm import fit_linear_svm
from router.config import LocalModelConfig

# Confidence features: top linear score, its margin over the runner-up, the cosine similarity of the
# nearest example of the predicted category (embedding, then n-grams), and the share of the message's words
# that the training examples contain.
FEATURES = ("score", "margin", "embedding_similarity", "ngram_similarity", "word_coverage")


class LinearHead:
    """A fitted model over ``vectoriser``'s n-grams and the embedding; classes are ``0..k-1``.

    Args:
        vectoriser: turns a message into n-gram rows.
        grams: the training examples' n-gram rows.
        labels: each example's class, ``0..k-1``; -1 marks a filler row that is nobody's nearest example.
        vectors: the examples' unit embeddings.
        config: regularisation and the embedding's weight beside the n-grams.
    """

    def __init__(
        self,
        vectoriser: Vectoriser,
        grams: sparse.csr_matrix,
        labels: np.ndarray,
        vectors: np.ndarray,
        config: LocalModelConfig,
    ) -> None:
        classes = int(labels.max()) + 1
        fit_labels = np.where(labels < 0, classes, labels)
        if (labels < 0).any():
            classes += 1
        scale = config.embedding_weight
        gram_weights, embedding_weights, bias = fit_linear_svm(
            grams, vectors * scale, fit_labels, classes, config.regularisation
        )
        self.vectoriser = vectoriser
        self.gram_weights = np.ascontiguousarray(gram_weights, dtype=np.float32)
        self.embedding_weights = np.ascontiguousarray(embedding_weights * scale, dtype=np.float32)
        self.bias = bias.astype(np.float32)
        self.members = [np.flatnonzero(labels == c) for c in range(classes)]
        # Each class's examples side by side (embeddings, n-gram rows) for the nearest-example similarity.
        self.class_vectors = [np.ascontiguousarray(vectors[m], dtype=np.float32) for m in self.members]
        self.class_grams = [csr_rows(grams[m]) for m in self.members]
        self._query = np.zeros(grams.shape[1], dtype=np.float32)  # reused: one message's n-grams, dense

    def signals(self, texts: Sequence[str], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per text: the linear scores, the confidence features and the nearest same-class example."""
        rows = [self.vectoriser.transform(t) for t in texts]
        return self.signals_of_rows(rows, vectors, np.array([self.vectoriser.coverage(t) for t in texts]))

    def signals_of_rows(
        self, rows: Sequence[Row], vectors: np.ndarray, coverage: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`signals` for messages already vectorised (and their word coverage); one at a time, in
        plain numpy."""
        scores = vectors @ self.embedding_weights + self.bias
        features = np.zeros((len(rows), len(FEATURES)), dtype=np.float64)
        nearest = np.zeros(len(rows), dtype=int)
        for row, (idx, values) in enumerate(rows):
            if len(idx):
                scores[row] += values @ self.gram_weights[idx]
            top, runner_up = np.argsort(scores[row])[::-1][:2] if scores.shape[1] > 1 else (0, 0)
            members = self.members[top]
            if len(members) == 0:  # the filler class of a single category
                features[row] = scores[row, top], 0.0, -1.0, 0.0, coverage[row]
                continue
            embedding = self.class_vectors[top] @ vectors[row]
            closest = int(np.argmax(embedding))
            nearest[row] = members[closest]
            margin = scores[row, top] - scores[row, runner_up]
            features[row] = (
                scores[row, top],
                margin,
                embedding[closest],
                self._gram_similarity(idx, values, top),
                coverage[row],
            )
        return scores, features, nearest

    def _gram_similarity(self, idx: np.ndarray, values: np.ndarray, label: int) -> float:
        """The n-gram cosine similarity of the nearest example of class ``label`` (its rows, in numpy)."""
        starts, indices, data = self.class_grams[label]
        if len(idx) == 0 or len(data) == 0:
            return 0.0
        query = self._query
        query[idx] = values
        similarity = float(np.add.reduceat(data * query[indices], starts).max())
        query[idx] = 0.0
        return similarity


def fit_head(
    vectoriser: Vectoriser,
    grams: sparse.csr_matrix,
    labels: np.ndarray,
    vectors: np.ndarray,
    config: LocalModelConfig,
) -> LinearHead:
    """A head over classes ``0..k-1``; a single category gets an empty filler class to be told from."""
    if len(np.unique(labels)) == 1:
        grams = sparse.vstack([grams, sparse.csr_matrix((1, grams.shape[1]), dtype=np.float32)]).tocsr()
        labels = np.r_[np.zeros(len(labels), dtype=int), -1]
        vectors = np.vstack([vectors, np.zeros((1, vectors.shape[1]), np.float32)])
    return LinearHead(vectoriser, grams, labels, vectors, config)
