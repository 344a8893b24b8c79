"""``calibrate`` refuses sets too small for its cross-validation to mean anything."""

import json
from pathlib import Path

import pytest

from router.calibrate import MIN_PER_CATEGORY_PER_FOLD, calibrate_accept_threshold
from router.datasets import LabelledText, load_labelled
from router.errors import DatasetError


def _write(path: Path, counts: dict[str, int]) -> Path:
    rows = [
        {"text": f"{label} message number {i}", "label": label}
        for label, n in counts.items()
        for i in range(n)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


def test_ten_examples_are_refused_naming_the_file_the_categories_and_the_minimum(tmp_path: Path) -> None:
    path = _write(tmp_path / "tiny.jsonl", {"refund": 4, "login": 3, "hours": 3})
    with pytest.raises(DatasetError) as caught:
        calibrate_accept_threshold(load_labelled(path), folds=5)
    message = str(caught.value)
    assert str(path) in message
    assert "'login' (3)" in message and "'hours' (3)" in message and "'refund' (4)" in message
    assert f"at least {MIN_PER_CATEGORY_PER_FOLD * 5} examples of every category" in message


def test_one_short_category_is_enough_to_refuse(tmp_path: Path) -> None:
    path = _write(tmp_path / "short.jsonl", {"refund": 10, "login": 10, "hours": 9})
    with pytest.raises(DatasetError, match=r"'hours' \(9\)") as caught:
        calibrate_accept_threshold(load_labelled(path), folds=5)
    assert "'refund'" not in str(caught.value)


def test_a_single_category_is_refused() -> None:
    examples = [LabelledText(f"refund {i}", "refund") for i in range(30)]
    with pytest.raises(DatasetError, match="only 1 category"):
        calibrate_accept_threshold(examples, folds=5)


def test_the_minimum_follows_the_folds_and_out_of_scope_rows_do_not_count(tmp_path: Path) -> None:
    counts = {"refund": 6, "login": 6, "oos": 30}  # oos is read as out of scope and left out
    examples = load_labelled(_write(tmp_path / "six.jsonl", counts))
    with pytest.raises(DatasetError, match="at least 10 examples"):
        calibrate_accept_threshold(examples, folds=5)
    result = calibrate_accept_threshold(examples, folds=3)  # 6 = 2 per fold over 3 folds: enough
    assert result.examples == 12
