"""The routing report read back in tests: its terminal text, and a Slack section's text or code rows."""

from __future__ import annotations

import io

from rich.console import Console

from bot.stats import StatsReport
from bot.stats.terminal import print_report


def terminal_text(report: StatsReport) -> str:
    """What ``support-router stats`` prints for ``report``, without colours."""
    console = Console(file=io.StringIO(), width=160, color_system=None)
    print_report(report, console)
    out = console.file
    assert isinstance(out, io.StringIO)
    return out.getvalue()


def section_text(blocks: list[dict], heading: str) -> str:
    """The text of the one section of ``blocks`` that starts with ``heading``."""
    [text] = [
        b["text"]["text"] for b in blocks if b["type"] == "section" and b["text"]["text"].startswith(heading)
    ]
    return text


def code_rows(blocks: list[dict], heading: str) -> list[str]:
    """The lines of the code block in the section that starts with ``heading``."""
    return section_text(blocks, heading).split("```")[1].splitlines()
