"""Labelled messages from evaluation files: plain JSONL / CSV and the benchmark sets' native formats.

``load_labelled`` reads any of them by suffix and by the columns it finds, so ``support-router eval`` takes
HINT3's, Banking77's, CLINC150's and Bitext's files as they are published. Every problem becomes a
:class:`DatasetError` naming the file, the line and the fix.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from router.errors import DatasetError

# The label of a message that belongs to no category (HINT3's NO_NODES_DETECTED, CLINC150's oos).
OUT_OF_SCOPE = "out_of_scope"
NATIVE_OUT_OF_SCOPE = frozenset({"NO_NODES_DETECTED", "oos"})
# In a label mapping, the key whose value says what to do with labels the mapping does not name:
# a label to use for all of them, or KEEP / SKIP.
UNMAPPED = "*"
KEEP = "<keep>"
SKIP = "<skip>"
# The text and label columns / keys of a plain file, when none are named.
TEXT_FIELD, LABEL_FIELD = "text", "label"
# Native CSV layouts (text column, label column): HINT3, Banking77, Bitext.
NATIVE_CSV_COLUMNS = (("sentence", "label"), ("text", "category"), ("instruction", "intent"))
# The files load_labelled reads.
SUFFIXES = (".jsonl", ".csv", ".json")
CLINC_SPLITS = {"train": ("train", "oos_train"), "val": ("val", "oos_val"), "test": ("test", "oos_test")}


@dataclass(frozen=True, slots=True)
class LabelledText:
    """One message and its gold label, and the file it was read from (for error messages; not compared)."""

    text: str
    label: str
    source: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class LabelMapping:
    """A label mapping read from a file, with the columns it applies to when the file names them."""

    mapping: dict[str, str]
    text_field: str | None = None
    label_field: str | None = None


def load_mapped(
    path: Path,
    labels: LabelMapping | None,
    text_field: str | None = None,
    label_field: str | None = None,
) -> list[LabelledText]:
    """:func:`load_labelled` with a label-mapping file's mapping, reading the columns it names unless
    ``text_field`` / ``label_field`` name others (the ``eval`` and ``calibrate`` commands' options)."""
    return load_labelled(
        path,
        labels.mapping if labels else None,
        text_field or (labels.text_field if labels else None),
        label_field or (labels.label_field if labels else None),
    )


def load_labelled(
    path: Path,
    label_map: Mapping[str, str] | None = None,
    text_field: str | None = None,
    label_field: str | None = None,
    split: str = "test",
) -> list[LabelledText]:
    """Read labelled messages from a JSONL, CSV or CLINC150-style JSON file.

    Args:
        path: the file; ``.jsonl`` (one object a line), ``.csv`` (with a header) or ``.json`` (a CLINC150
            ``data_full.json``-style object of splits, or a list of objects).
        label_map: optional gold-label mapping; a label it does not name is an error unless the mapping
            has an ``"*"`` entry (a label for all others, ``"<keep>"`` or ``"<skip>"``).
        text_field: the text column / key (default ``text``). When neither column is named and a CSV
            lacks ``text`` or ``label``, the native layouts of HINT3 (sentence, label), Banking77
            (text, category) and Bitext (instruction, intent) are tried; a named column must exist.
        label_field: the label column / key (default ``label``).
        split: which split of a CLINC150-style JSON file to read (its out-of-scope part included).

    Returns:
        The messages in file order; native out-of-scope labels become :data:`OUT_OF_SCOPE`.

    Raises:
        DatasetError: unreadable file, bad row, missing column, unmapped label or no rows at all.
    """
    if path.is_dir():
        raise DatasetError(_a_folder(path))
    suffix = path.suffix.lower()
    text_key, label_key = text_field or TEXT_FIELD, label_field or LABEL_FIELD
    if suffix == ".jsonl":
        rows: Iterable[tuple[str, str, str]] = _jsonl_rows(path, text_key, label_key)
    elif suffix == ".csv":
        rows = _csv_rows(path, text_field, label_field)
    elif suffix == ".json":
        rows = _json_rows(path, text_key, label_key, split)
    else:
        raise DatasetError(f"{path}: unknown file type {suffix or '(none)'}; use .jsonl, .csv or .json")
    items = [
        LabelledText(text, mapped, str(path))
        for where, text, label in rows
        if (mapped := _map_label(path, where, label, label_map)) != SKIP
    ]
    if not items:
        raise DatasetError(f"{path}: no labelled rows found; the file needs at least one text and label")
    return items


def _a_folder(path: Path) -> str:
    """What to say of a folder given for a file: which of its files can be read (HINT3's test files sit
    in a folder of their own, and `eval hint3/test` told only of an unknown file type "(none)")."""
    readable = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
    if not readable:
        return f"{path}: is a folder, with no .jsonl, .csv or .json file in it; give a labelled file"
    more = f" (and {len(readable) - 3} more)" if len(readable) > 3 else ""
    return f"{path}: is a folder; give one of its labelled files, such as {', '.join(readable[:3])}{more}"


def _map_label(path: Path, where: str, label: str, label_map: Mapping[str, str] | None) -> str:
    if label in NATIVE_OUT_OF_SCOPE and (label_map is None or label not in label_map):
        return OUT_OF_SCOPE
    if label_map is None:
        return label
    if label in label_map:
        return label if label_map[label] == KEEP else label_map[label]
    fallback = label_map.get(UNMAPPED)
    if fallback is None:
        raise DatasetError(
            f"{path}, {where}: label {label!r} is not in the label mapping; add it to the mapping, "
            f'or add "{UNMAPPED}": "{KEEP}" / "{SKIP}" / a category to cover every unmapped label'
        )
    return label if fallback == KEEP else fallback


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read the file ({e}); check the path and that it is UTF-8") from e


def _row_values(path: Path, where: str, row: Mapping[str, object], text_field: str, label_field: str):
    text, label = row.get(text_field), row.get(label_field)
    if (
        not isinstance(text, str)
        or not text.strip()
        or not isinstance(label, str | int)
        or not str(label).strip()
    ):
        raise DatasetError(
            f"{path}, {where}: needs a non-empty {text_field!r} and a non-empty {label_field!r}; "
            "fix or remove the row"
        )
    return where, text, str(label).strip()


def _jsonl_rows(path: Path, text_field: str, label_field: str) -> Iterator[tuple[str, str, str]]:
    # Lines end at "\n" only: str.splitlines() also cuts at U+2028 and other separators a JSON string
    # may hold as they are (json.dumps with ensure_ascii=False).
    for number, line in enumerate(_read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}, line {number}: not valid JSON ({e.msg}); one object a line") from e
        if not isinstance(row, dict):
            raise DatasetError(f"{path}, line {number}: expected a JSON object with {text_field!r}")
        yield _row_values(path, f"line {number}", row, text_field, label_field)


def _csv_columns(
    path: Path, header: list[str], text_field: str | None, label_field: str | None
) -> tuple[str, str]:
    wanted = (text_field or TEXT_FIELD, label_field or LABEL_FIELD)
    if set(wanted) <= set(header):
        return wanted
    if text_field is None and label_field is None:
        for native in NATIVE_CSV_COLUMNS:
            if set(native) <= set(header):
                return native
    missing = " and ".join(repr(column) for column in wanted if column not in header)
    raise DatasetError(
        f"{path}, line 1: the header {header} lacks column(s) {missing}; name the text and label "
        'columns with --text-column and --label-column (or "text_column" and "column" in the '
        "--label-map file), or rename them to text and label"
    )


def _csv_rows(path: Path, text_field: str | None, label_field: str | None) -> Iterator[tuple[str, str, str]]:
    reader = csv.DictReader(io.StringIO(_read_text(path), newline=""))
    try:
        header = list(reader.fieldnames or [])
        if not header:
            raise DatasetError(f"{path}: the file is empty; it needs a header line and labelled rows")
        text_col, label_col = _csv_columns(path, header, text_field, label_field)
        for row in reader:
            if None in row:  # more fields than the header names: an unquoted comma in the text
                raise DatasetError(
                    f"{path}, line {reader.line_num}: {len(header) + len(row[None])} fields where the header "
                    f"has {len(header)}; put the text in double quotes if it holds a comma"
                )
            yield _row_values(path, f"line {reader.line_num}", row, text_col, label_col)
    except csv.Error as e:
        raise DatasetError(f"{path}, line {reader.line_num}: not readable as CSV ({e})") from e


def _json_rows(path: Path, text_field: str, label_field: str, split: str) -> Iterator[tuple[str, str, str]]:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}, line {e.lineno}: not valid JSON ({e.msg})") from e
    if isinstance(data, list):
        for index, row in enumerate(data):
            if not isinstance(row, dict):
                raise DatasetError(f"{path}, item {index}: expected an object with {text_field!r}")
            yield _row_values(path, f"item {index}", row, text_field, label_field)
        return
    if not isinstance(data, dict) or split not in CLINC_SPLITS or CLINC_SPLITS[split][0] not in data:
        raise DatasetError(
            f"{path}: expected a CLINC150-style object of splits holding {split!r} "
            f"(one of {', '.join(CLINC_SPLITS)}) or a list of objects"
        )
    for part in CLINC_SPLITS[split]:
        for index, pair in enumerate(data.get(part, [])):
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, str) for v in pair)):
                raise DatasetError(f"{path}, {part}[{index}]: expected a [text, label] pair of strings")
            yield f"{part}[{index}]", pair[0], pair[1]


def load_label_mapping(path: Path) -> LabelMapping:
    """Read a JSON label mapping file: a plain object, or ``{"column", "text_column", "mapping"}``.

    The second form is that of Bitext's ``three_categories.json``, which also names the columns it maps.

    Raises:
        DatasetError: unreadable file, invalid JSON, or not a mapping of labels to category names.
    """
    return parse_label_mapping(_read_text(path), str(path))


def parse_label_mapping(text: str, source: str) -> LabelMapping:
    """A label mapping from JSON text, in either form that :func:`load_label_mapping` reads.

    Args:
        text: the JSON.
        source: where it came from (a file, a command-line option), for error messages.

    Raises:
        DatasetError: invalid JSON, or not a mapping of labels to category names.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{source}, line {e.lineno}: not valid JSON ({e.msg})") from e
    if not isinstance(data, dict):
        raise DatasetError(f"{source}: expected a JSON object mapping each gold label to a category name")
    mapping = data["mapping"] if isinstance(data.get("mapping"), dict) else data
    if not all(isinstance(v, str) for v in mapping.values()):
        raise DatasetError(
            f"{source}: expected an object mapping each gold label to a category name "
            '(or {"column": ..., "text_column": ..., "mapping": {...}})'
        )
    text_field, label_field = data.get("text_column"), data.get("column")
    return LabelMapping(
        mapping={str(k): v for k, v in mapping.items()},
        text_field=text_field if isinstance(text_field, str) else None,
        label_field=label_field if isinstance(label_field, str) else None,
    )


def labels_outside(items: Iterable[LabelledText], categories: Iterable[str]) -> list[str]:
    """The gold labels of ``items`` that are not among ``categories`` (out-of-scope aside), sorted."""
    return sorted({item.label for item in items} - set(categories) - {OUT_OF_SCOPE})


def describe_labels_outside(labels: Sequence[str], shown: int = 12) -> str:
    """Which gold labels are not categories of the routes file (the first ``shown`` of them), in words."""
    listed = ", ".join(labels[:shown]) + (f" and {len(labels) - shown} more" if len(labels) > shown else "")
    return f"labels that are not categories of the routes file: {listed}"
