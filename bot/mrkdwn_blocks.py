"""Block-level Markdown as Slack ``mrkdwn``, a line at a time: headings (``#`` and Setext) as bold
lines, quotes, rules, nested lists with bullet glyphs and Markdown's numbering, task boxes, and GitHub's
tables as an aligned code block (or a list, when too wide).

Code blocks are cut out before (:mod:`bot.mrkdwn`); each line's inline Markdown is
:func:`bot.mrkdwn_inline.convert_inline`'s.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from bot.mrkdwn_inline import CLOSES, OPENS, convert_inline, escape

_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<text>.*?)(?:[ \t]+#+)?[ \t]*$")
# The underline of a heading written Setext-style ("Title" over "=====" or "-----").
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_QUOTE = re.compile(r"^(?: {0,3}>[ \t]?)+(?P<text>.*)$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?:(?P<bullet>[-*+])|(?P<number>\d{1,9})[.)])[ \t]+(?P<text>.*)$")
_TASK = re.compile(r"^\[([ xX])\][ \t]+")
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
# A line break Claude writes inside a table cell, which a code block cannot show.
_CELL_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_BULLETS = ("•", "◦", "▪")
# The widest table kept as a code block: about what a thread's side pane shows of a line of code.
TABLE_WIDTH = 60
_INDENT = "    "


@dataclass
class _Level:
    indent: int
    number: int | None = None


@dataclass
class _Lists:
    """The open (nested) lists, to indent items by depth and number ordered items as Markdown does."""

    levels: list[_Level] = field(default_factory=list)

    def item(self, indent: int, number: int | None) -> tuple[int, int | None]:
        while self.levels and indent < self.levels[-1].indent:
            self.levels.pop()
        if not self.levels or indent >= self.levels[-1].indent + 2:
            self.levels.append(_Level(indent))
        level = self.levels[-1]
        if number is not None:
            number = number if level.number is None else level.number
            level.number = number + 1
        else:
            level.number = None
        return len(self.levels) - 1, number


@dataclass
class Blocks:
    """The lists open at the end of one stretch of text between code blocks, carried on to the next."""

    lists: _Lists = field(default_factory=_Lists)
    quoted: _Lists = field(default_factory=_Lists)

    def convert(self, text: str, continued: bool) -> str:
        lines, i = text.split("\n"), 0
        out: list[str] = []
        if continued:  # the rest of a line that a code block began: no block syntax here
            out.append(convert_inline(lines[0]))
            i = 1
        while i < len(lines):
            end = _table_end(lines, i)
            if end > i:
                self.lists = _Lists()
                out.append(_table(lines[i:end]))
                i = end
                continue
            if i + 1 < len(lines) and _SETEXT.match(lines[i + 1]) and _paragraph(lines[i]):
                self.lists = _Lists()
                out.append(_heading(lines[i].strip()))
                i += 2
                continue
            out.append(self._line(lines[i], self.lists, self.quoted))
            i += 1
        return "\n".join(out)

    def _line(self, line: str, lists: _Lists, quoted: _Lists) -> str:
        if not line.strip():
            return ""
        if match := _QUOTE.match(line):
            lists.levels.clear()
            inner = self._line(match["text"], quoted, _Lists())
            return f"> {inner}" if inner else ""
        quoted.levels.clear()
        if _RULE.match(line):
            lists.levels.clear()
            return "──────────"
        if match := _HEADING.match(line):
            lists.levels.clear()
            return _heading(match["text"])
        if match := _ITEM.match(line):
            return _item(match, lists)
        if not line[0].isspace():
            lists.levels.clear()
        return convert_inline(line)


def _heading(text: str) -> str:
    bold = Counter(["strong"])  # a heading is bold: bold inside it gets no marks of its own
    return f"{OPENS['strong']}{convert_inline(text, bold)}{CLOSES['strong']}" if text else ""


def _paragraph(line: str) -> bool:
    """Whether the line is plain paragraph text, which a Setext underline below turns into a heading."""
    return (
        bool(line.strip())
        and not any(pattern.match(line) for pattern in (_QUOTE, _RULE, _HEADING, _ITEM, _SETEXT))
        and not line.startswith(("    ", "\t"))
    )


def _item(match: re.Match[str], lists: _Lists) -> str:
    given = int(match["number"]) if match["number"] else None
    depth, number = lists.item(len(match["indent"].expandtabs(4)), given)
    marker = f"{number}." if number is not None else _BULLETS[min(depth, len(_BULLETS) - 1)]
    text = _TASK.sub(lambda m: "☐ " if m[1] == " " else "☑ ", match["text"])
    return f"{_INDENT * depth}{marker} {convert_inline(text)}"


def _table_end(lines: list[str], i: int) -> int:
    """Where a GitHub table that starts at line ``i`` ends (``i`` itself when none starts there)."""
    if i + 1 >= len(lines) or "|" not in lines[i] or not _TABLE_RULE.match(lines[i + 1]):
        return i
    if "|" not in lines[i + 1] or len(_cells(lines[i])) != len(_cells(lines[i + 1])):
        return i
    end = i + 2
    while end < len(lines) and lines[end].strip() and "|" in lines[end]:
        end += 1
    return end


def _cells(row: str) -> list[str]:
    row = row.strip().removeprefix("|")
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(row)]


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(lines: list[str]) -> str:
    """A table as an aligned code block: Slack has no tables, and its code font keeps columns straight.
    One too wide for a thread's pane (whose code blocks wrap, and a wrapped table cannot be read) is a
    list instead, a row to an item: its first cell in bold, then each other column's name and value."""
    header, rule, *body = (_cells(_CELL_BREAK.sub(" ", line)) for line in lines)
    columns = len(header)
    cells = [[*row, *[""] * columns][:columns] for row in [header, *body]]
    rows = [[convert_inline(c, plain=True) for c in row] for row in cells]
    widths = [max(_width(row[col]) for row in rows) for col in range(columns)]
    if sum(widths) + 3 * (columns - 1) > TABLE_WIDTH:
        return "\n".join(_record(rows[0], row) for row in cells[1:])
    align = [("^" if c.startswith(":") else ">") if c.endswith(":") else "<" for c in rule]

    def line(row: list[str]) -> str:
        padded = (f"{c:{a}{w - _width(c) + len(c)}}" for c, a, w in zip(row, align, widths, strict=True))
        return " | ".join(padded).rstrip()

    text = [line(rows[0]), "-+-".join("-" * w for w in widths), *(line(row) for row in rows[1:])]
    return "```\n" + escape("\n".join(text)) + "\n```"


def _record(names: list[str], row: list[str]) -> str:
    """A table's row as a list item: ``• *first cell* — Column: value · Column: value``."""
    first, *rest = row
    bold = Counter(["strong"])
    title = f"{OPENS['strong']}{convert_inline(first, bold)}{CLOSES['strong']}" if first else ""
    pairs = zip(names[1:], rest, strict=True)
    fields = " · ".join(f"{escape(name)}: {convert_inline(cell)}" for name, cell in pairs if cell)
    return f"{_BULLETS[0]} {' — '.join(part for part in (title, fields) if part)}"
