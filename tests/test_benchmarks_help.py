"""The benchmarks' options as their docstrings, their --help and the README give them are the options they
take: a reader who copies one from the usage line gets the benchmark, not an argparse error."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["burst", "quality", "quality_oos", "stats_bench"]
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
# `python -m benchmarks.quality --sets clinc150 --no-learning-curve` in the README or docs/
COMMAND = re.compile(r"-m benchmarks\.(?P<module>\w+)(?P<arguments>[^\n`#]*)")


def _help(module: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        importlib.import_module(f"benchmarks.{module}").main(["--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def _taken(shown: str) -> set[str]:
    """The options argparse lists under "options:" (each line that begins with one)."""
    listed = shown.partition("\noptions:\n")[2]
    return {match.group(1) for match in re.finditer(r"^\s+(?:-\w, )?(--[a-z][a-z-]*)", listed, re.MULTILINE)}


@pytest.mark.parametrize("module", MODULES)
def test_every_option_a_benchmarks_docstring_or_help_names_is_taken(
    module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = _help(module, capsys)
    usage = importlib.import_module(f"benchmarks.{module}").__doc__ or ""
    named = set(OPTION.findall(shown)) | set(OPTION.findall(usage))
    assert named - _taken(shown) == set()


def test_every_option_the_readme_and_docs_give_a_benchmark_is_taken(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = "\n".join(
        path.read_text(encoding="utf-8") for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    )
    commands = list(COMMAND.finditer(text))
    assert len(commands) >= 5  # the pattern still reads them
    taken = {module: _taken(_help(module, capsys)) for module in {c["module"] for c in commands}}
    wrong = [
        f"benchmarks.{c['module']} {option}"
        for c in commands
        for option in OPTION.findall(c["arguments"])
        if option not in taken[c["module"]]
    ]
    assert wrong == []
