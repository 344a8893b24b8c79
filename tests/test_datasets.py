"""Reading labelled files: plain JSONL / CSV, the benchmark sets' native formats, and clear errors."""

import json
from pathlib import Path

import pytest

from router.datasets import (
    KEEP,
    OUT_OF_SCOPE,
    LabelledText,
    load_label_mapping,
    load_labelled,
)
from router.errors import DatasetError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_with_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "a.jsonl", '{"text": "refund me", "label": "r"}\n\n{"text": "hi", "label": "g"}\n')
    items = load_labelled(path, label_map={"r": "Refund Request", "g": "General Question"})
    assert items == [LabelledText("refund me", "Refund Request"), LabelledText("hi", "General Question")]


def test_unmapped_label_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n')
    with pytest.raises(DatasetError, match=r"a\.jsonl, line 2: label 'y' is not in the label mapping"):
        load_labelled(path, label_map={"x": "X"})


def test_unmapped_rule_keep_skip_or_default(tmp_path: Path) -> None:
    path = write(tmp_path, "a.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n')
    assert [i.label for i in load_labelled(path, label_map={"x": "X", "*": "<keep>"})] == ["X", "y"]
    assert [i.label for i in load_labelled(path, label_map={"x": "X", "*": "<skip>"})] == ["X"]
    assert [i.label for i in load_labelled(path, label_map={"x": "X", "*": "Other"})] == ["X", "Other"]


def test_bad_json_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.jsonl", '{"text": "a", "label": "x"}\n{oops\n')
    with pytest.raises(DatasetError, match=r"line 2: not valid JSON"):
        load_labelled(path)


def test_missing_field_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.jsonl", '{"text": "a"}\n')
    with pytest.raises(DatasetError, match=r"line 1: needs a non-empty 'text' and a non-empty 'label'"):
        load_labelled(path)


@pytest.mark.parametrize("rows", ['",Refund Request"', '"   ",Technical Support'])
def test_a_row_without_words_is_refused_not_scored(tmp_path: Path, rows: str) -> None:
    path = write(tmp_path, "a.csv", f"text,label\nfine,a\n{rows}\n")
    with pytest.raises(DatasetError, match=r"line 3: needs a non-empty 'text'"):
        load_labelled(path)


def test_an_unquoted_comma_is_refused_not_read_as_the_label(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "text,label\nI was charged twice, please refund me,Refund Request\n")
    with pytest.raises(
        DatasetError, match=r"line 2: 3 fields where the header has 2; put the text in double"
    ):
        load_labelled(path)


def test_a_byte_order_mark_and_unicode_line_separators_are_read(tmp_path: Path) -> None:
    csv_path = tmp_path / "bom.csv"
    csv_path.write_bytes("\ufefftext,label\nhello,a\n".encode())
    assert [(i.text, i.label) for i in load_labelled(csv_path)] == [("hello", "a")]
    jsonl = write(
        tmp_path, "sep.jsonl", json.dumps({"text": "one\u2028two", "label": "a"}, ensure_ascii=False)
    )
    assert [i.text for i in load_labelled(jsonl)] == ["one\u2028two"]


def test_a_field_too_long_for_csv_is_one_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", 'text,label\n"' + "x" * 140_000 + '",a\n')
    with pytest.raises(DatasetError, match=r"not readable as CSV"):
        load_labelled(path)


def test_keep_maps_a_label_to_itself_per_label_too(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "text,label\nhi,foo\nyo,bar\n")
    items = load_labelled(path, {"foo": KEEP, "bar": "Greeting"})
    assert [i.label for i in items] == ["foo", "Greeting"]


def test_csv_custom_columns_and_multiline_field(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", 'msg,cat\n"two\nlines",a\nplain,b\n')
    items = load_labelled(path, text_field="msg", label_field="cat")
    assert items == [LabelledText("two\nlines", "a"), LabelledText("plain", "b")]


def test_csv_missing_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "foo,bar\n1,2\n")
    with pytest.raises(DatasetError, match=r"a\.csv, line 1: the header .* lacks column"):
        load_labelled(path)


def test_csv_empty_label_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "text,label\nok,a\nbad,\n")
    with pytest.raises(DatasetError, match=r"line 3"):
        load_labelled(path)


def test_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="empty"):
        load_labelled(write(tmp_path, "a.csv", ""))
    with pytest.raises(DatasetError, match="no labelled rows"):
        load_labelled(write(tmp_path, "a.jsonl", "\n"))


def test_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown file type"):
        load_labelled(write(tmp_path, "a.txt", "x"))


def test_a_folder_given_for_a_file_names_the_files_in_it(tmp_path: Path) -> None:
    # `eval hint3/test` said "unknown file type (none)", as if the folder were a file of no known type.
    (tmp_path / "test").mkdir()
    write(tmp_path, "test/sofmattress_test.csv", "sentence,label\nhi,GREETING\n")
    write(tmp_path, "test/notes.txt", "x")
    with pytest.raises(DatasetError) as refused:
        load_labelled(tmp_path / "test")
    assert str(refused.value) == (
        f"{tmp_path / 'test'}: is a folder; give one of its labelled files, such as "
        f"{tmp_path / 'test' / 'sofmattress_test.csv'}"
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        DatasetError, match=r"empty: is a folder, with no \.jsonl, \.csv or \.json file in it"
    ):
        load_labelled(tmp_path / "empty")


def test_native_csv_layouts(tmp_path: Path) -> None:
    hint3 = write(tmp_path, "h.csv", "sentence,label\nhello,NO_NODES_DETECTED\norder,ORDER\n")
    assert load_labelled(hint3) == [LabelledText("hello", OUT_OF_SCOPE), LabelledText("order", "ORDER")]
    banking = write(tmp_path, "b.csv", "text,category\ncard?,card_arrival\n")
    assert load_labelled(banking) == [LabelledText("card?", "card_arrival")]


def test_clinc_json_split_includes_oos(tmp_path: Path) -> None:
    data = {
        "train": [["a", "x"]],
        "oos_train": [["b", "oos"]],
        "test": [["c", "y"]],
        "oos_test": [["d", "oos"]],
    }
    path = write(tmp_path, "data_full.json", json.dumps(data))
    assert load_labelled(path, split="train") == [LabelledText("a", "x"), LabelledText("b", OUT_OF_SCOPE)]
    assert [i.text for i in load_labelled(path)] == ["c", "d"]
    with pytest.raises(DatasetError, match="val"):
        load_labelled(path, split="val")


def test_clinc_bad_pair(tmp_path: Path) -> None:
    path = write(tmp_path, "d.json", json.dumps({"test": [["a", "x"], ["b"]]}))
    with pytest.raises(DatasetError, match=r"test\[1\]"):
        load_labelled(path)


def test_bitext_style_mapping_file(tmp_path: Path) -> None:
    spec = {"column": "intent", "text_column": "instruction", "mapping": {"get_refund": "Refund Request"}}
    mapping = load_label_mapping(write(tmp_path, "m.json", json.dumps(spec)))
    assert (mapping.text_field, mapping.label_field) == ("instruction", "intent")
    assert mapping.text_field is not None and mapping.label_field is not None
    path = write(tmp_path, "b.csv", "instruction,intent,other\nmoney back,get_refund,x\n")
    items = load_labelled(path, mapping.mapping, mapping.text_field, mapping.label_field)
    assert items == [LabelledText("money back", "Refund Request")]
