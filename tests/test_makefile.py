"""The Makefile's bootstrap on a machine whose ``python3`` is too old: told which Python to name, with no
``.venv`` left behind that a second try with the right one would go on using."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_make_demo_with_an_old_python_names_the_fix_and_makes_no_venv(tmp_path: Path) -> None:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    # Python 3.10 as the Makefile's version check sees it; anything else it is asked to run is a failure.
    old = tmp_path / "python3.10"
    old.write_text('#!/bin/sh\ncase "$*" in *version_info*) exit 1;; esac\necho "ran: $*" >&2; exit 3\n')
    old.chmod(0o755)
    done = subprocess.run(
        ["make", "demo", f"PYTHON={old}"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "needs Python 3.11 or later" in done.stderr and "make demo PYTHON=python3.12" in done.stderr
    assert "ran:" not in done.stderr
    assert not (tmp_path / ".venv").exists()
