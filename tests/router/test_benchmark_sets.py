"""The benchmarks' public intent sets, found by name and split where shared/data/intents keeps them."""

from pathlib import Path

import pytest

from router.benchmark_sets import BENCHMARK_SETS, load_benchmark_split, load_bitext_three_categories
from router.datasets import OUT_OF_SCOPE
from router.errors import DatasetError
from router.routes_file import load_routes

INTENTS = Path(__file__).resolve().parents[3] / "shared" / "data" / "intents"
needs_data = pytest.mark.skipif(not INTENTS.is_dir(), reason="../shared/data/intents is not present")


@needs_data
@pytest.mark.parametrize("name", BENCHMARK_SETS)
def test_every_set_has_both_splits_and_they_differ(name: str) -> None:
    train, test = load_benchmark_split(INTENTS, name, "train"), load_benchmark_split(INTENTS, name, "test")
    assert train and test and train != test
    assert {item.label for item in test} - {OUT_OF_SCOPE} <= {item.label for item in train}


@needs_data
def test_clinc150_brings_its_out_of_scope_messages() -> None:
    labels = {item.label for item in load_benchmark_split(INTENTS, "clinc150", "test")}
    assert OUT_OF_SCOPE in labels and "oos" not in labels


@needs_data
def test_bitext_is_mapped_onto_the_default_categories() -> None:
    labels = {item.label for item in load_bitext_three_categories(INTENTS)}
    assert labels == set(load_routes().names)


@pytest.mark.parametrize(
    ("name", "split", "said"),
    [("sofmattress", "val", "unknown split 'val'"), ("hint3", "test", "unknown benchmark set 'hint3'")],
)
def test_an_unknown_set_or_split_is_named(name: str, split: str, said: str) -> None:
    with pytest.raises(DatasetError, match=said):
        load_benchmark_split(INTENTS, name, split)
