"""Label mappings (inline or in a file, both forms), named columns, and labels that are no category."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router.datasets import (
    LabelledText,
    describe_labels_outside,
    labels_outside,
    load_label_mapping,
    load_labelled,
    parse_label_mapping,
)
from router.errors import DatasetError


def test_an_inline_mapping_reads_like_a_file(tmp_path: Path) -> None:
    spec = {"column": "intent", "text_column": "instruction", "mapping": {"get_refund": "Refund Request"}}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    assert parse_label_mapping(json.dumps(spec), "--label-map") == load_label_mapping(path)
    plain = parse_label_mapping('{"bug": "Technical Support"}', "--label-map")
    assert plain.mapping == {"bug": "Technical Support"} and plain.text_field is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", r"--label-map, line 1: not valid JSON"),
        ('["a", "b"]', r"--label-map: expected a JSON object mapping each gold label"),
        ('{"a": 1}', r"--label-map: expected an object mapping each gold label to a category name"),
    ],
)
def test_a_bad_mapping_is_named(text: str, expected: str) -> None:
    with pytest.raises(DatasetError, match=expected):
        parse_label_mapping(text, "--label-map")


def test_named_columns_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("text,category\ncard?,card_arrival\n", encoding="utf-8")
    # Unnamed: Banking77's own layout is recognised.
    assert load_labelled(path) == [LabelledText("card?", "card_arrival")]
    # Named but absent: refused, not silently replaced by a native layout.
    with pytest.raises(DatasetError, match=r"lacks column\(s\) 'intent'; name the text and label columns"):
        load_labelled(path, label_field="intent")


def test_named_keys_in_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"q": "hi", "y": "General Question"}), encoding="utf-8")
    assert load_labelled(path, text_field="q", label_field="y") == [LabelledText("hi", "General Question")]


def test_labels_outside_the_categories_leave_out_of_scope_aside() -> None:
    items = [
        LabelledText("a", "Refund Request"),
        LabelledText("b", "zeta"),
        LabelledText("c", "out_of_scope"),
    ]
    items.append(LabelledText("d", "alpha"))
    assert labels_outside(items, ["Refund Request", "General Question"]) == ["alpha", "zeta"]


def test_the_description_lists_a_few_labels_and_counts_the_rest() -> None:
    assert describe_labels_outside(["a", "b"]) == "labels that are not categories of the routes file: a, b"
    many = [f"L{i:02}" for i in range(15)]
    text = describe_labels_outside(many, shown=3)
    assert text == "labels that are not categories of the routes file: L00, L01, L02 and 12 more"
