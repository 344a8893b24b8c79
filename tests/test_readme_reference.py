"""The README's reference parts are the product's: the settings table lists every setting with its
default, the routes file example loads, every ``support-router`` command it shows takes the options
shown, every ``make`` target it shows is the Makefile's, and the Upgrading table has a row for every
migration after 0009.

An installer copies from these: a setting missing from the table is one they never learn of, a default
misstated is a surprise in production, an option that is not taken is an argparse error, and a migration
left out is minutes of locked decision log nobody warned of.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bot.arguments import build_parser
from bot.settings import Settings
from router.routes_file import load_routes

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCUMENTS = "\n\n".join(
    path.read_text(encoding="utf-8") for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
)
VERSIONS = ROOT / "bot" / "store" / "migrations" / "versions"
# `support-router eval FILE [--label-map JSON\|FILE] [--json]`
COMMAND = re.compile(r"`support-router (?P<words>[a-z\s]+)(?P<rest>[^`]*)`")


def _section(heading: str) -> str:
    """The README's text under ``heading`` (a ``## `` or ``### `` line), up to the next such heading."""
    start = README.index(f"\n{heading}\n")
    end = re.compile(r"^##+ ", re.MULTILINE).search(README, start + len(heading) + 2)
    return README[start : end.start() if end else len(README)]


def _rows(section: str) -> list[list[str]]:
    """The cells of each row of the tables in ``section`` (header and rule lines left out)."""
    rows = [line.strip("|").split(" | ") for line in section.splitlines() if line.startswith("| ")]
    return [cells for cells in rows[1:] if not set(cells[0]) <= {"-", "|"}]


def test_the_configuration_table_lists_every_setting_and_its_default() -> None:
    table = {}
    for cells in _rows(_section("## Configuration")):
        names = re.findall(r"`([A-Z_]+)`", cells[0])
        defaults = re.findall(r"`([^`]*)`", cells[1])
        given: list[str | None] = list(defaults) if len(defaults) == len(names) else [None] * len(names)
        for name, default in zip(names, given, strict=True):
            table[name] = default
    fields = Settings.model_fields
    assert sorted(table) == sorted(name.upper() for name in fields)
    compared, wrong = 0, []
    for name, default in table.items():
        value = fields[name.lower()].default
        if default is not None and value is not None and not isinstance(value, list):
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            compared += 1
            if default != shown:
                wrong.append(f"{name}: README {default!r}, settings {shown!r}")
    assert compared > 15  # the defaults are still read
    assert wrong == []


def test_the_routes_file_example_loads(tmp_path: Path) -> None:
    # Copied as a start, it was refused: its prices left out the classifier's model.
    start = README.index("```yaml\nclassifier:")
    example = README[start + len("```yaml\n") : README.index("```", start + 3)]
    (tmp_path / "routes.yml").write_text(example, encoding="utf-8")
    routes = load_routes(tmp_path / "routes.yml")
    assert [category.name for category in routes.categories] == ["Refund Request"]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def test_every_command_line_shown_names_a_command_and_the_options_it_takes() -> None:
    commands = list(COMMAND.finditer(DOCUMENTS))
    assert len(commands) > 10  # the pattern still reads them
    wrong = []
    for command in commands:
        parser = build_parser()
        for word in command["words"].split():
            subcommands = _subcommands(parser)
            if word not in subcommands:
                break
            parser = subcommands[word]
        else:
            if _subcommands(parser):
                wrong.append(f"{command[0]}: names no command")
            taken = {option for action in parser._actions for option in action.option_strings}
            wrong += [
                f"{command[0]}: {o}" for o in re.findall(r"--[\w-]+", command["rest"]) if o not in taken
            ]
            continue
        wrong.append(f"{command[0]}: {word} is no command")
    assert wrong == []


def test_the_upgrading_table_has_a_row_for_every_later_migration() -> None:
    revisions = sorted(path.name[:4] for path in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    rows = _rows(_section("### Upgrading"))
    listed = sorted(number for cells in rows for number in re.findall(r"\b(\d{4})\b", cells[0]))
    assert listed == [revision for revision in revisions if revision > "0009"]


def test_every_make_target_shown_is_in_the_makefile() -> None:
    # `make demo`, `make bench-stats` in prose and in the sh blocks; a target renamed in the Makefile
    # would leave an installer with "No rule to make target".
    shown = set(re.findall(r"(?:`|^)make ([a-z][\w-]*)", DOCUMENTS, re.MULTILINE))
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    assert {"demo", "test", "lint", "serve", "chat"} <= shown  # the pattern still reads them
    assert shown - targets == set()
