"""Report text laid out in Slack's mrkdwn sections, pure: each within Slack's 3000 characters, a long list
spread over as many sections as it needs (a line never cut), bars and their counts lined up in code
blocks. What the report says is :mod:`bot.stats.blocks`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.mrkdwn_inline import escape
from bot.stats.formats import bar, cut_label
from bot.stats.report import Share

# Slack: at most 3000 characters in a section's text.
SECTION_LIMIT = 3000


def section(text: str) -> dict[str, Any]:
    """A mrkdwn section of ``text``, cut to Slack's limit at a line's end when longer."""
    if len(text) > SECTION_LIMIT:
        # Cut at a line's end, never inside an escaped entity (&amp;) or a link.
        cut = text.rfind("\n", 0, SECTION_LIMIT - 8)
        text = text[: cut if cut > 0 else SECTION_LIMIT - 8] + "\n…"
        if text.count("```") % 2:  # cut inside a code block: close it, or the rest shows raw
            text += "```"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def sections(
    heading: str, lines: Sequence[str], *, code: bool, limit: int, what: str
) -> list[dict[str, Any]]:
    """``lines`` (escaped already) under ``heading``, in as many sections as Slack's 3000 characters
    need, up to ``limit`` of them; any lines left over are counted in a last line ("…and 3 more
    categories"), so nothing goes missing unsaid. A line is never cut."""
    fence = "```" if code else ""
    chunks: list[list[str]] = [[]]
    for i, line in enumerate(lines):
        chunk = chunks[-1]
        size = len(heading if len(chunks) == 1 else "") + 2 * len(fence) + sum(len(x) + 1 for x in chunk)
        if chunk and size + len(line) > SECTION_LIMIT:
            if len(chunks) == limit:
                return _with_more(heading, chunks, fence, len(lines) - i, what)
            chunks.append(chunk := [])
        chunk.append(line)
    return [section(_chunk_text(heading, chunks, n, fence)) for n in range(len(chunks))]


def _with_more(
    heading: str, chunks: list[list[str]], fence: str, left: int, what: str
) -> list[dict[str, Any]]:
    def more() -> str:
        return f"\n_…and {left:,} more {what} (support-router stats shows all)_"

    last = len(chunks) - 1
    while chunks[last] and len(_chunk_text(heading, chunks, last, fence) + more()) > SECTION_LIMIT:
        chunks[last].pop()
        left += 1
    texts = [_chunk_text(heading, chunks, n, fence) for n in range(len(chunks))]
    texts[-1] += more()
    return [section(text) for text in texts]


def _chunk_text(heading: str, chunks: list[list[str]], n: int, fence: str) -> str:
    return (heading if n == 0 else "") + fence + "\n".join(chunks[n]) + fence


def bar_lines(
    shares: Sequence[Share], names: dict[str, str] | None = None, notes: Sequence[str] = ()
) -> list[str]:
    """Rows of a code block: name, bar, percentage, count (and a note); every column lined up; escaped."""
    labels = [cut_label((names or {}).get(s.name, s.name)) for s in shares]
    lines = columns(labels, [s.share for s in shares], [s.count for s in shares], [s.percent for s in shares])
    if notes:
        lines = [f"{line}  · {note}" for line, note in zip(lines, notes, strict=True)]
    return [escape(line) for line in lines]


def bars(
    heading: str,
    shares: Sequence[Share],
    names: dict[str, str] | None = None,
    notes: Sequence[str] = (),
    *,
    limit: int = 1,
    what: str = "rows",
) -> list[dict[str, Any]]:
    """``shares`` as bars under ``heading`` (see :func:`bar_lines`), in up to ``limit`` sections."""
    lines = bar_lines(shares, names, notes)
    if not lines:
        return [section(heading + "_none_")]
    return sections(heading, lines, code=True, limit=limit, what=what)


def columns(
    labels: Sequence[str],
    parts: Sequence[float],
    counts: Sequence[int],
    percents: Sequence[int | None] | None = None,
) -> list[str]:
    """Rows of label, bar and percentage of each of ``parts`` (shares of 1; ``percents``: the whole
    percents to show, see :func:`~bot.stats.formats.whole_percents`), and count; every column lined up;
    not escaped."""
    width = max((len(label) for label in labels), default=0)
    numbers = [f"{n:,}" for n in counts]
    count_width = max((len(n) for n in numbers), default=0)
    shown = percents or [None] * len(parts)
    return [
        f"{label.ljust(width)}  {bar(part, aligned=True, percent=percent)}  {n.rjust(count_width)}"
        for label, part, n, percent in zip(labels, parts, numbers, shown, strict=True)
    ]


def code_block(lines: Sequence[str]) -> str:
    """``lines`` as a code block, or "none" when there are none."""
    return "```" + "\n".join(lines) + "```" if lines else "_none_"
