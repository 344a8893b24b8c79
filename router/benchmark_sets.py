"""The public intent sets the benchmarks score the router on, by name and split, where shared/data/intents
keeps them: HINT3's three bots, Banking77, CLINC150 and Bitext's customer-support sample.

Reading each file's format is :mod:`router.datasets`' part; this module knows only where each set lies.
"""

from __future__ import annotations

from pathlib import Path

from router.datasets import LabelledText, load_label_mapping, load_labelled
from router.errors import DatasetError

HINT3_BOTS = ("curekart", "powerplay11", "sofmattress")
BENCHMARK_SETS = (*HINT3_BOTS, "banking77", "clinc150")


def load_benchmark_split(root: Path, name: str, split: str) -> list[LabelledText]:
    """One split (``train`` or ``test``) of a benchmark set under ``root`` (shared/data/intents).

    Names: the HINT3 bots (curekart, powerplay11, sofmattress), banking77 and clinc150 (with its oos).
    """
    if split not in ("train", "test"):
        raise DatasetError(f"unknown split {split!r}; use train or test")
    if name in HINT3_BOTS:
        return load_labelled(root / "hint3" / split / f"{name}_{split}.csv")
    if name == "banking77":
        return load_labelled(root / "banking77" / f"{split}.csv")
    if name == "clinc150":
        return load_labelled(root / "clinc150" / "data_full.json", split=split)
    raise DatasetError(f"unknown benchmark set {name!r}; use one of {', '.join(BENCHMARK_SETS)}")


def load_bitext_three_categories(root: Path) -> list[LabelledText]:
    """Bitext's customer-support sample mapped onto the three default categories."""
    folder = root / "bitext"
    mapping = load_label_mapping(folder / "three_categories.json")
    return load_labelled(
        folder / "Bitext_Sample_Customer_Support_Training_Dataset.csv",
        label_map=mapping.mapping,
        text_field=mapping.text_field or "instruction",
        label_field=mapping.label_field or "intent",
    )
