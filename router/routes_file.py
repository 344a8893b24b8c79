"""Reading the routes file: YAML to :class:`~router.config.RoutesConfig`, and what went wrong, said plainly.

A default routes file ships inside this package (``routes.yml``); ``ROUTES_FILE`` points at another.
``load_routes`` turns any problem into a :class:`ConfigError` naming the file, the field and the fix.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from router.config import RoutesConfig
from router.errors import ConfigError

DEFAULT_ROUTES_NAME = "routes.yml"


def default_routes_path() -> Path:
    """The routes file that ships inside the package."""
    return Path(str(resources.files("router").joinpath(DEFAULT_ROUTES_NAME)))


def _field_path(loc: tuple[int | str, ...], data: object) -> str:
    """``categories[1].handler.model`` rather than ``categories.1.handler.model``; names where known."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node) and isinstance(node[item], dict):
                name = node[item].get("name")
                if name:
                    label = f"[{item}] ({name})"
            parts.append(label)
            node = node[item] if isinstance(node, list) and item < len(node) else None
        else:
            parts.append(f".{item}" if parts else str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping.

    PyYAML keeps the last one without a word: a second ``categories:`` block appended to the file would
    replace every shipped category, and a repeated field would undo an earlier edit.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults` is meant to be overridden by the keys beside it
            key = self.construct_object(key_node, deep=deep)
            try:
                earlier = first_line.get(key)
            except TypeError:
                continue  # an unhashable key: SafeLoader's own error says so
            if earlier is not None:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"key {key!r} appears twice (first at line {earlier}); keep one: YAML does not "
                    f"merge them, the second would silently replace the first",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def parse_routes(text: str, origin: str) -> RoutesConfig:
    """Validate routes YAML ``text``; ``origin`` names the file in error messages."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: builds plain data only
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = str(getattr(e, "problem", e))
        raise ConfigError(f"{origin}: not valid YAML{where}: {problem}{_yaml_fix(problem)}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping with classifier, escalation, categories and prices")
    data["version"] = hashlib.sha256(text.encode()).hexdigest()[:12]
    try:
        return RoutesConfig.model_validate(data)
    except ValidationError as e:
        lines = [f"{origin}: the routes file is invalid:"]
        for err in e.errors():
            field = _field_path(err["loc"], data)
            message = err["msg"].removeprefix("Value error, ")  # our validators' text says it all
            if err["type"] == "extra_forbidden":
                message = "unknown field; check its spelling against the README's routes file section"
            elif err["type"] == "missing":
                message = "required field is missing; add it"
            elif _is_threshold(err):
                message += f"; write it as a fraction between 0 and 1: {_fraction_example(err['input'])}"
            lines.append(f"  - {field}: {message}")
        raise ConfigError("\n".join(lines)) from e


def _yaml_fix(problem: str) -> str:
    """The likely fix of a YAML error whose wording names none: PyYAML's "expected <block end>, but found
    '?'" means a line indented out of step with the mapping it belongs to."""
    if problem.startswith("expected <block end>"):
        return "; check this line's indentation against the lines above"
    if "'\\t'" in problem:
        return "; indent with spaces: YAML does not accept tabs"
    return ""


# Pydantic's error types for a number out of 0..1, or not a number (``70%``).
_OUT_OF_RANGE = frozenset({"less_than_equal", "greater_than_equal", "float_parsing"})


def _is_threshold(error: Any) -> bool:
    """Whether a validation error is a threshold (a 0..1 confidence) out of range or unreadable: most
    likely written as a percentage, which "less than or equal to 1" does not tell how to fix."""
    names = [part for part in error["loc"] if isinstance(part, str)]
    return bool(names) and names[-1].endswith("threshold") and error["type"] in _OUT_OF_RANGE


def _fraction_example(given: object) -> str:
    """``0.75 for 75 %`` for a percentage given (75, "75%"); the default's for anything else."""
    try:
        percent = float(str(given).strip().rstrip("%"))
    except ValueError:
        percent = 70.0
    if not 1 < percent <= 100:
        percent = 70.0
    return f"{percent / 100:g} for {percent:g} %"


def load_routes(path: Path | None = None) -> RoutesConfig:
    """Read and validate the routes file at ``path`` (the packaged default when None)."""
    path = path or default_routes_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        fix = "point ROUTES_FILE at a readable file, or unset it to use the packaged default"
        raise ConfigError(f"{path}: cannot read the routes file: {e.strerror or e}; {fix}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: {not_utf8(e)}") from e
    return parse_routes(text, str(path))


def not_utf8(error: UnicodeDecodeError) -> str:
    """What is wrong with a file that failed to decode as UTF-8, and the fix, for a one-line message."""
    bad = error.object[error.start : error.start + 1].hex()
    utf16 = " (it looks like UTF-16)" if error.object[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
    return f"not UTF-8 text: byte 0x{bad} at offset {error.start} cannot be read{utf16}; save it as UTF-8"
