"""What the local classifier reads in a message: a wordllama embedding and TF-IDF n-grams.

wordllama's averaged token embedding ships in its wheel (no network); beside it, sublinear TF-IDF character
n-grams (2–5, within words) and word uni/bigrams, L2-normalised. Single messages are vectorised in plain
Python and numpy: scipy's per-call overhead alone would cost a millisecond.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

_WORD = re.compile(r"\w+")
# One message's n-grams: (column indices, L2-normalised TF-IDF values).
Row = tuple[np.ndarray, np.ndarray]
RARE_FROM = 2_000


# Texts tokenised and pooled together, as wordllama's own ``embed`` does: the same padding, the same sums.
EMBED_BATCH = 64


class WordEmbedding:
    """wordllama's averaged token embedding, its token table kept as the wheel ships it (float16).

    ``WordLlama.load`` widens the table to float32, 31 MB for 32,000 tokens of 256 dimensions, twice the
    file, and holds the file's copy beside it meanwhile: 47 MB at the start's peak, 16 MB more for good
    than here. Only the rows a text uses are widened, which float32 holds exactly, and pooled as wordllama
    pools them: the embeddings are its own to the bit.
    """

    def __init__(
        self, table: np.ndarray, tokenizer: Any, pool: Callable[[np.ndarray, np.ndarray], Any]
    ) -> None:
        self.table = table
        self.tokenizer = tokenizer
        self._pool = pool  # wordllama's mean over the tokens a mask keeps
        tokenizer.enable_padding()  # as wordllama sets it up
        tokenizer.no_truncation()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The mean of each text's token vectors (not normalised), one float32 row per text."""
        vectors = np.empty((len(texts), self.table.shape[1]), dtype=np.float32)
        last = self.table.shape[0] - 1
        for start in range(0, len(texts), EMBED_BATCH):
            chunk = list(texts[start : start + EMBED_BATCH])
            encoded = self.tokenizer.encode_batch(chunk, is_pretokenized=False, add_special_tokens=False)
            ids = np.array([e.ids for e in encoded], dtype=np.int32).clip(0, last)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
            tokens = self.table[ids].astype(np.float32)
            vectors[start : start + len(chunk)] = self._pool(tokens, mask)
        return vectors


@lru_cache(maxsize=4)
def load_wordllama(embedding: str, dim: int) -> WordEmbedding:
    """The wordllama model from its wheel, loaded once per process and shared by every classifier."""
    # deferred: importing wordllama costs ~0.3 s and only the local classifier needs it
    import wordllama
    from safetensors import safe_open
    from wordllama.config import WordLlamaModels
    from wordllama.inference import WordLlamaInference

    uri = getattr(WordLlamaModels, embedding)
    files = {
        kind: wordllama.WordLlama.resolve_file(
            embedding, uri, dim, False, kind, cache_dir=Path(wordllama.__file__).parent, disable_download=True
        )
        for kind in ("weights", "tokenizer")
    }
    with safe_open(files["weights"], framework="np", device="cpu") as weights:
        table = weights.get_tensor("embedding.weight")
    tokenizer = wordllama.WordLlama.load_tokenizer(files["tokenizer"], hf_model_id=uri.tokenizer_fallback)
    return WordEmbedding(np.ascontiguousarray(table), tokenizer, WordLlamaInference.avg_pool)


def embed(model: WordEmbedding, texts: Sequence[str], dim: int) -> np.ndarray:
    """Unit-length embeddings, one row per text (zeros for a blank text)."""
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    vectors = model.embed(texts)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def ngrams(text: str) -> Counter[str]:
    """Word unigrams and bigrams, and character 2–5-grams within space-padded words (marked ``#``)."""
    words = _WORD.findall(text.lower())
    grams = [*words, *(f"{a} {b}" for a, b in pairwise(words))]
    for word in words:
        padded = f" {word} "
        grams += [f"#{padded[i : i + n]}" for n in range(2, 6) for i in range(len(padded) - n + 1)]
    return Counter(grams)


class Vectoriser:
    """Sublinear TF-IDF over word and character n-grams, L2-normalised, as (indices, values) rows.

    N-grams found in a single example are left out once there are :data:`RARE_FROM` examples: they
    double the weights' size and the fit's time for no measurable accuracy.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        df: Counter[str] = Counter()
        for text in texts:
            df.update(ngrams(text).keys())
        n = len(texts)
        if n >= RARE_FROM:
            df = Counter({g: count for g, count in df.items() if count > 1})
        self.vocabulary = {gram: i for i, gram in enumerate(df)}
        # Columns that are whole words (not character n-grams, not word pairs): what coverage counts.
        self.is_word = np.array([not g.startswith("#") and " " not in g for g in df], dtype=bool)
        self.idf = np.array([math.log((1 + n) / (1 + df[g])) + 1 for g in df], dtype=np.float32)

    def transform(self, text: str) -> Row:
        """One text's row; n-grams outside the vocabulary are dropped before normalising."""
        grams = ngrams(text)
        get = self.vocabulary.get
        idx = np.array([get(g, -1) for g in grams], dtype=np.int64)
        counts = np.fromiter(grams.values(), dtype=np.float32, count=len(grams))
        known = idx >= 0
        if not known.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        idx = idx[known]
        values = (1.0 + np.log(counts[known])) * self.idf[idx]
        return idx, values / np.linalg.norm(values)

    def coverage(self, text: str) -> float:
        """The share of the message's distinct words that some training example contains (0 for none).

        Messages that fit no category are largely made of words no example uses: the confidence reads it.
        """
        words = set(_WORD.findall(text.lower()))
        return sum(w in self.vocabulary for w in words) / len(words) if words else 0.0

    def coverage_of_rows(self, matrix: sparse.csr_matrix, known: np.ndarray) -> np.ndarray:
        """:meth:`coverage` of rows vectorised with every text, as a model knowing ``known`` columns sees
        them (cross-validation's held-out messages)."""
        out = np.zeros(matrix.shape[0])
        for r in range(matrix.shape[0]):
            columns = matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]]
            words = columns[self.is_word[columns]]
            out[r] = known[words].mean() if len(words) else 0.0
        return out

    def matrix(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The rows of many texts as one CSR matrix."""
        return stack([self.transform(t) for t in texts], len(self.vocabulary))


def stack(rows: Sequence[Row], columns: int) -> sparse.csr_matrix:
    """(indices, values) rows as a CSR matrix."""
    indptr = np.cumsum([0] + [len(i) for i, _ in rows])
    indices = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, dtype=np.int64)
    data = np.concatenate([v for _, v in rows]) if rows else np.zeros(0, dtype=np.float32)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), columns), dtype=np.float32)


def restrict(matrix: sparse.csr_matrix, known: np.ndarray) -> list[Row]:
    """Rows as a model that knows only the ``known`` columns would see them: the rest dropped, renormalised.

    Cross-validation vectorises once with every training text; each fold's model must still see a held-out
    message as it would see a new one, without the n-grams only the held-out texts contain.
    """
    kept = matrix.multiply(known[None, :].astype(np.float32)).tocsr()
    kept.eliminate_zeros()
    rows = []
    for r in range(kept.shape[0]):
        start, end = kept.indptr[r], kept.indptr[r + 1]
        idx, values = kept.indices[start:end].astype(np.int64), kept.data[start:end]
        norm = float(np.linalg.norm(values))
        rows.append((idx, values / norm if norm > 0 else values))
    return rows


def csr_rows(matrix: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A CSR matrix as (row starts, column indices, values), dropping empty rows so reduceat stays exact."""
    keep = np.flatnonzero(np.diff(matrix.indptr) > 0)
    matrix = matrix[keep]
    return (
        matrix.indptr[:-1].astype(np.int64),
        matrix.indices.astype(np.int32),
        matrix.data.astype(np.float32),
    )
