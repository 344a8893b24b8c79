"""What the router needs to know of Claude's Markdown (CommonMark) to write beside it."""

from __future__ import annotations

import re

# A line that opens or closes a fenced code block (CommonMark: up to three spaces, then the fence), read
# from the column where the content of the list item it is written under begins.
_FENCE_LINE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
# A list item: up to three spaces past its parent's content, a marker, and the spaces after it.
_LIST_ITEM = re.compile(r" {0,3}([-*+]|\d{1,9}[.)])( +|$)")


def open_fence(markdown: str) -> str | None:
    """The fence (```` ``` ````, ``~~~``) of the code block ``markdown`` ends inside, or None: what must
    close it before anything of ours is written after it (a note under an answer cut off mid-code).

    A block under a list item ("1. Run:" over an indented "```bash") is one at that item's indentation,
    which the fence returned carries: a fence at the margin would end the item, and open a code block of
    its own for whatever follows it.
    """
    fence: str | None = None
    base = 0  # the column where the content of the list item the fence is under begins
    items: list[int] = []  # the content columns of the list items open, innermost last
    for line in markdown.splitlines():
        if fence is None:
            base = _content_column(line, items)
        elif line[:base].strip():
            continue  # less indented than the block's list item (a slip; CommonMark would end the block)
        found = _FENCE_LINE.match(line, base)
        if found is None:
            continue
        mark, rest = found.groups()
        if mark[0] == "`" and "`" in rest:
            continue  # inline code ("```ls``` lists files"): a backtick fence's info string has none
        if fence is None:
            fence = mark
        elif mark[0] == fence[0] and len(mark) >= len(fence) and not rest.strip():
            fence = None
    return f"{' ' * base}{fence}" if fence else None


def _content_column(line: str, items: list[int]) -> int:
    """Where the content of ``line`` begins, as a list's nesting has it: past the marker of a list item it
    opens, else at the content of the innermost item it is indented under (0 outside any list).
    ``items`` is updated: the items the line is indented less than are closed, one it opens is pushed."""
    if line.strip():
        indent = len(line) - len(line.lstrip(" "))
        while items and indent < items[-1]:
            items.pop()
        parent = items[-1] if items else 0
        if item := _LIST_ITEM.match(line, parent):
            spaces = len(item[2])
            # Five spaces or more after the marker: one belongs to it, the rest make indented code.
            items.append(item.end(1) + (spaces if 1 <= spaces <= 4 else 1))
    return items[-1] if items else 0
