"""The README's proofs are real: every test it names (the Reliability table cites one per guarantee) exists.

A test renamed or moved leaves the README pointing at nothing, and a reader checking a guarantee finds no
proof. Names cut short with "…" match as a prefix; ``…::name`` and ``::name`` (the file named just before)
are looked up in every test file. The pages in docs/ hold what moved out of the README (the detail of how
it works, the performance and routing-quality records), so they are read with it: text moved there stays
checked.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# `tests/bot/test_x.py::test_name`, `test_x.py::test_name_…`, `…::test_name`, `::test_name`
REFERENCE = re.compile(r"`(?P<file>[\w/.]*\.py)?(?:…)?::(?P<name>test_\w*)(?P<cut>…)?`")
TEST_FILE = re.compile(r"`(?P<file>(?:tests/)?[\w/]*test_\w+\.py)`")
# `bot.clients.POSTING_METHODS`, `router.calibrate.OUT_OF_SCOPE_PRIOR`: a module, then names in it.
CODE_PATH = re.compile(r"`(?P<path>(?:bot|router)(?:\.\w+)+)`")
# `Worker.recover`, `Store.take_stale`: a class of the product's and one of its methods or attributes.
MEMBER = re.compile(r"`(?P<cls>[A-Z][A-Za-z]+)\.(?P<member>[a-z_]\w*)`")
# [text](docs/performance.md), [text](../README.md#reliability), [text](#agent-feedback)
LINK = re.compile(r"\]\((?P<target>(?!https?:)[^)#\s]*)(?:#(?P<anchor>[^)\s]+))?\)")


def _text() -> str:
    """The README and the docs pages, one after another (each page ends its paragraphs)."""
    return "\n\n".join(path.read_text(encoding="utf-8") for path in DOCUMENTS)


def _test_names() -> dict[Path, set[str]]:
    names: dict[Path, set[str]] = {}
    for path in TESTS.rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names[path] = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        }
    return names


def _files(name: str, names: dict[Path, set[str]]) -> list[Path]:
    """The test files ``name`` (a path from tests/, or a bare file name) may mean."""
    wanted = name.removeprefix("tests/")
    return [path for path in names if path.relative_to(TESTS).as_posix().endswith(wanted)]


def test_every_test_the_readme_names_exists() -> None:
    documents = _text()
    names = _test_names()
    references = list(REFERENCE.finditer(documents))
    assert len(references) > 40  # the Reliability table's proofs: the pattern still reads them
    missing = []
    for ref in references:
        files = _files(ref["file"], names) if ref["file"] else list(names)
        found = any(
            name.startswith(ref["name"]) if ref["cut"] else name == ref["name"]
            for path in files
            for name in names[path]
        )
        if not found:
            missing.append(ref[0])
    assert missing == [], f"README.md or docs/ name tests that do not exist: {missing}"


def test_every_test_file_the_readme_names_exists() -> None:
    documents = _text()
    names = _test_names()
    files = [match["file"] for match in TEST_FILE.finditer(documents)]
    assert files  # the pattern still reads them
    assert [file for file in files if not _files(file, names)] == []


def _resolves(path: str) -> bool:
    """Whether ``path`` names a module, or a name (an attribute of an attribute…) in one."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(found, name):
                return False
            found = getattr(found, name)
        return True
    return False


def test_every_module_and_name_the_readme_gives_by_its_path_exists() -> None:
    # Code moves (a module split in two); the README's "where it lives" must move with it.
    documents = _text()
    paths = sorted({match["path"] for match in CODE_PATH.finditer(documents)})
    assert len(paths) > 10  # the pattern still reads them
    assert [path for path in paths if not _resolves(path)] == []


def _classes() -> dict[str, list[type]]:
    found: dict[str, list[type]] = {}
    for package in ("bot", "router"):
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".migrations." in module.name or module.name.endswith(".__main__"):
                continue
            for name, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
                if cls.__module__.startswith(("bot.", "router.")) and cls not in found.get(name, []):
                    found.setdefault(name, []).append(cls)
    return found


def test_every_method_the_readme_names_is_on_its_class() -> None:
    documents = _text()
    classes = _classes()
    members = sorted({(match["cls"], match["member"]) for match in MEMBER.finditer(documents)})
    ours = [(cls, member) for cls, member in members if cls in classes]
    assert len(ours) > 20  # the pattern still reads them
    missing = [f"{cls}.{member}" for cls, member in ours if not any(hasattr(c, member) for c in classes[cls])]
    assert missing == []


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_page_and_heading_the_documents_link_to_exists() -> None:
    # Text moved from the README to docs/ is reached by a link; a page renamed or a heading reworded
    # would leave the reader at a 404 or at the top of a long page.
    assert len(DOCUMENTS) > 1  # the docs pages are read
    broken = []
    for document in DOCUMENTS:
        for link in LINK.finditer(document.read_text(encoding="utf-8")):
            target = (document.parent / link["target"]).resolve() if link["target"] else document
            if not target.exists():
                broken.append(f"{document.name}: {link[0]}")
            elif link["anchor"] and target.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", target.read_text(encoding="utf-8"), re.MULTILINE)
                if link["anchor"] not in {_anchor(heading) for heading in headings}:
                    broken.append(f"{document.name}: {link[0]}")
    assert broken == []
