"""What the router needs to know of Claude's Markdown (CommonMark) to write beside it."""

from __future__ import annotations

import re

# A line that opens or closes a fenced code block (CommonMark: up to three spaces, then the fence).
_FENCE_LINE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")


def open_fence(markdown: str) -> str | None:
    """The fence (```` ``` ````, ``~~~``) of the code block ``markdown`` ends inside, or None: what must
    close it before anything of ours is written after it (a note under an answer cut off mid-code)."""
    fence = None
    for line in markdown.splitlines():
        if (found := _FENCE_LINE.match(line)) is None:
            continue
        mark, rest = found.groups()
        if mark[0] == "`" and "`" in rest:
            continue  # inline code ("```ls``` lists files"): a backtick fence's info string has none
        if fence is None:
            fence = mark
        elif mark[0] == fence[0] and len(mark) >= len(fence) and not rest.strip():
            fence = None
    return fence
