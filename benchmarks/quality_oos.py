"""Out-of-scope threshold rules compared on training splits only (never a test split).

Each seed splits a set's *training* split: a quarter of the intents become unseen (out-of-scope stand-ins
the classifier never meets), a quarter of the remaining examples are held out as in-scope queries, and for
CLINC150 half of ``oos_train`` is held out as real out-of-scope queries (the other half is given to the
classifier). The classifier is fitted on the rest; its threshold is chosen on its own cross-validation, by
count or at the fixed out-of-scope prior, with held-out intents as out-of-scope stand-ins or (CLINC150) on
the given real out-of-scope queries alone; the held-out parts score it.

    python -m benchmarks.quality_oos [--sets sofmattress,curekart] [--seeds 3] [--unknown-weights 0.5,0.3]

Score: (1 - prior) × thresholded in-scope accuracy + prior × out-of-scope recall (unseen intents, and real
out-of-scope queries where the set has them).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.quality import DEFAULT_DATA
from router.benchmark_sets import load_benchmark_split
from router.classifiers.local import LocalClassifier, fold_ids
from router.config import LocalModelConfig
from router.datasets import OUT_OF_SCOPE
from router.out_of_scope import (
    MIN_REAL_OUT_OF_SCOPE,
    OUT_OF_SCOPE_PRIOR,
    OUT_OF_SCOPE_RECALL_FLOOR,
    out_of_scope_threshold,
)


def _split(data: Path, name: str, seed: int) -> tuple[dict[str, list[str]], list, list[str], list[str], list]:
    train = load_benchmark_split(data, name, "train")
    inside = [t for t in train if t.label != OUT_OF_SCOPE]
    outside = [t.text for t in train if t.label == OUT_OF_SCOPE]
    rng = np.random.default_rng(100 + seed)
    categories = sorted({t.label for t in inside})
    unseen = set(rng.permutation(categories)[: len(categories) // 4].tolist())
    seen = [t for t in inside if t.label not in unseen]
    fold = fold_ids([t.label for t in seen], 4, rng)
    fit: dict[str, list[str]] = defaultdict(list)
    for example, k in zip(seen, fold, strict=True):
        if k != 0:
            fit[example.label].append(example.text)
    held_in = [t for t, k in zip(seen, fold, strict=True) if k == 0]
    order = rng.permutation(len(outside))
    given = [outside[i] for i in order[: len(outside) // 2]]
    held_out = [outside[i] for i in order[len(outside) // 2 :]]
    return fit, held_in, [t.text for t in inside if t.label in unseen], held_out, given


def score(data: Path, name: str, seed: int, unknown_weight: float) -> list[dict[str, float | str]]:
    """One seed of one set: the figures of each threshold rule."""
    fit, held_in, unseen, real, given = _split(data, name, seed)
    classifier = LocalClassifier(fit, LocalModelConfig(unknown_weight=unknown_weight), out_of_scope=given)
    results = classifier.predict_many([t.text for t in held_in])
    inside = np.array([r.confidence for r in results])
    right = np.array([r.category == t.label for r, t in zip(results, held_in, strict=True)])
    away = np.array([r.confidence for r in classifier.predict_many(unseen)])
    real_away = np.array([r.confidence for r in classifier.predict_many(real)]) if real else None
    rows: list[dict[str, float | str]] = []
    rules: list[tuple[str, float | None, bool, float | None]] = [
        ("by count", None, False, None),
        (f"prior {OUT_OF_SCOPE_PRIOR}", OUT_OF_SCOPE_PRIOR, False, None),
    ]
    if len(given) >= MIN_REAL_OUT_OF_SCOPE:
        rules.append((f"prior {OUT_OF_SCOPE_PRIOR}, real oos", OUT_OF_SCOPE_PRIOR, True, None))
        floor = OUT_OF_SCOPE_RECALL_FLOOR
        rules.append((f"real oos, recall floor {floor}", OUT_OF_SCOPE_PRIOR, True, floor))
    for rule, prior, real_only, recall_floor in rules:
        threshold = out_of_scope_threshold(classifier, prior, real_only, recall_floor).threshold
        in_scope = float(np.mean(right & (inside >= threshold)))
        recall = float(np.mean(away < threshold))
        row: dict[str, float | str] = {"rule": rule, "threshold": threshold, "in_scope": in_scope}
        row |= {"unseen_recall": recall, "score": 0.7 * in_scope + 0.3 * recall}
        if real_away is not None:
            real_recall = float(np.mean(real_away < threshold))
            row |= {"real_recall": real_recall, "real_score": 0.7 * in_scope + 0.3 * real_recall}
        rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared/data/intents folder")
    parser.add_argument("--sets", default="sofmattress,curekart,powerplay11")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--unknown-weights", default="0.5", help="comma-separated confidence-fit weights")
    args = parser.parse_args(argv)
    for name in args.sets.split(","):
        for weight in [float(w) for w in args.unknown_weights.split(",")]:
            runs = [score(args.data, name, seed, weight) for seed in range(args.seeds)]
            for index, first in enumerate(runs[0]):
                mean = {k: np.mean([run[index][k] for run in runs]) for k in first if k != "rule"}
                figures = "  ".join(f"{k} {v:.3f}" for k, v in mean.items())
                print(f"{name}  unknown_weight {weight}  {first['rule']:<22} {figures}", flush=True)


if __name__ == "__main__":
    main()
