"""pyproject.toml declares what the code imports, and imports what it declares.

A package the code imports but only another dependency brings along installs today and breaks the day that
dependency drops it or moves past the API we call (the local model read wordllama's weights through
safetensors, undeclared); a dependency nothing imports is one more thing every installer downloads and
keeps patched for nothing.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
OUR_PACKAGES = {"bot", "router", "tests", "benchmarks"}
# Imported, but versioned by the dependency that owns it: pydantic pins its pydantic-core exactly.
PART_OF = {"pydantic-core": "pydantic"}
# Declared, but not imported by the bot: SQLAlchemy loads the driver the database URL names.
LOADED_BY_NAME = {"aiosqlite", "asyncpg"}


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised as pip compares them (PEP 503)."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match[0]).lower()


def _imported(*folders: str) -> set[str]:
    """The third-party distributions whose modules the code in ``folders`` imports."""
    modules = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    distributions = packages_distributions()
    found = set()
    for module in modules - OUR_PACKAGES - set(sys.stdlib_module_names):
        assert module in distributions, f"{module} is imported but not installed"
        found |= {_name(name) for name in distributions[module]}
    return {PART_OF.get(name, name) for name in found}


RUNTIME = {_name(requirement) for requirement in PROJECT["dependencies"]}
DEV = {_name(requirement) for requirement in PROJECT["optional-dependencies"]["dev"]}


def test_every_package_the_bot_imports_is_a_declared_dependency() -> None:
    assert _imported("bot", "router") - RUNTIME == set()


def test_every_package_the_tests_and_benchmarks_import_is_declared() -> None:
    assert _imported("tests", "benchmarks") - RUNTIME - DEV == set()


def test_every_runtime_dependency_is_imported() -> None:
    assert RUNTIME - _imported("bot", "router") - LOADED_BY_NAME == set()
