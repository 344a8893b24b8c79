"""Claude's Markdown (CommonMark, with GitHub's tables and ``~~strike~~``) as Slack ``mrkdwn``.

Slack has ``*bold*``, ``_italic_``, ``~strike~``, ``<url|text>``, ``>`` quotes and code, and nothing else:
headings (``#`` and Setext) become bold lines, lists get bullet glyphs, tables become an aligned code
block. Emphasis is matched with CommonMark's delimiter rules, so ``***both***``, ``snake_case`` and ``2 * 3``
come out right; Slack has no escapes, so a backslash-escaped mark (``\\*``) is fenced by zero-width
spaces instead.
Slack's control characters ``& < >`` are escaped everywhere (a ``>`` that starts a quote is the only one
left), and the result goes through :func:`bot.sanitize.sanitize`: the model can never write a live mention.

Emphasis is written as tokens (:func:`markdown_to_marked`) until the text is final: a long answer is cut
into several sections, each rendered on its own by Slack, and a span a cut falls inside is closed at the
end of one section and opened again at the start of the next (:func:`carry_emphasis`); :func:`unmark`
then writes Slack's marks. A span inside one of the same kind gets no marks of its own (Slack cannot nest
them), so no more than three spans are ever open.
"""

from __future__ import annotations

import html
import itertools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from bot.sanitize import sanitize

# At the start of a line, after up to three spaces (as CommonMark opens a fence).
_LINE_START = r"(?:(?<![^\n])|(?<=(?<![^\n]) )|(?<=(?<![^\n])  )|(?<=(?<![^\n])   ))"
# A code block: fenced by backticks (on a line of its own, or mid-line: "Run ```ls```"), or by tildes; one
# opened at the start of a line and never closed runs to the end (an answer cut off at max_tokens inside
# it is code all the same). Mid-line, "~~~" and a lone "```" are text.
_FENCE = re.compile(
    rf"```.*?```|{_LINE_START}```[^\n`]*\n.*\S.*\Z"
    rf"|{_LINE_START}(?P<tildes>~{{3,}})[^\n~]*\n.*?(?:^[ \t]*(?P=tildes)~*[ \t]*$|\Z)",
    re.DOTALL | re.MULTILINE,
)
_TILDES = re.compile(r"\A~{3,}|~{3,}[ \t]*\Z")
# A line that opens or closes a fenced code block (CommonMark: up to three spaces, then the fence).
_FENCE_LINE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
# A fence's language name ("```python"): Slack has no highlighting and would show it as the first line.
_INFO_STRING = re.compile(r"\A```[\w+#.-]+[ \t]*\n")
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
# An entity (``&amp;``, ``&#39;``) means its character in Markdown outside code; Slack would show it as is.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# A link's destination may hold balanced parentheses (…/Foo_(bar)), as CommonMark allows.
_URL = r"(?:https?://|mailto:)(?:[^\s()<>]|\([^\s()<>]*\))+"
# What inline parsing must not touch, leftmost first: code spans, backslash escapes, links, URLs.
_PROTECTED = re.compile(
    r"(?P<code>(?<!`)(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`))"
    r"|\\(?P<escaped>[!-/:-@\[-`{-~])"
    r"|!?\[(?P<label>[^\[\]\n]+)\]\((?P<url>" + _URL + r")(?:[ \t]+\"[^\"\n]*\")?\)"
    r"|<(?P<auto>(?:https?://|mailto:)[^\s<>]+)>"
    r"|<(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)>"
    r"|(?P<bare>https?://[^\s<>]*[^\s<>.,;:!?'\")\]*_~])"
)
_RUN = re.compile(r"\*+|_+|~+")
_NO_MARK = "\u200b"  # zero-width space
_SLOT = "\x00"  # stands in for a protected piece during emphasis matching; stripped from the input
# The tokens of emphasis (control characters, stripped from the input), and the mark each one becomes.
OPENS = {"strong": "\x01", "em": "\x02", "strike": "\x03"}
CLOSES = {"strong": "\x04", "em": "\x05", "strike": "\x06"}
_MARK_OF = {"strong": "*", "em": "_", "strike": "~"}
_UNMARK = str.maketrans({token: _MARK_OF[kind] for kind, token in [*OPENS.items(), *CLOSES.items()]})
_NO_TOKENS = str.maketrans(dict.fromkeys([*OPENS.values(), *CLOSES.values()]))
_NO_INPUT_TOKENS = str.maketrans(dict.fromkeys([_SLOT, *OPENS.values(), *CLOSES.values()]))
_CLOSER_OF = {OPENS[kind]: CLOSES[kind] for kind in OPENS}
_TOKEN = re.compile(f"[{''.join(OPENS.values())}{''.join(CLOSES.values())}]")
_BULLETS = ("•", "◦", "▪")
# The widest table kept as a code block: about what a thread's side pane shows of a line of code.
TABLE_WIDTH = 60
_INDENT = "    "


def escape(text: str) -> str:
    """Slack's three control characters, escaped (and emphasis tokens, which are no text, left out)."""
    return text.translate(_NO_TOKENS).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown_to_mrkdwn(markdown: str) -> str:
    """Claude's Markdown as Slack mrkdwn, with every mention defused; code is kept verbatim (escaped)."""
    return unmark(markdown_to_marked(markdown))


def unmark(marked: str) -> str:
    """Text from :func:`markdown_to_marked` with its emphasis tokens written as Slack's marks."""
    return marked.translate(_UNMARK)


def carry_emphasis(before_cut: str) -> tuple[str, str]:
    """The tokens that close the spans still open at the end of ``before_cut``, innermost first, and those
    that open them again after the cut, outermost first."""
    still_open: list[str] = []
    for token in _TOKEN.findall(before_cut, before_cut.rfind("\n") + 1):  # a span never crosses a line
        if token in _CLOSER_OF:
            still_open.append(token)
        elif token in _CLOSER_OF.values() and still_open:
            still_open.pop()
    return "".join(_CLOSER_OF[token] for token in reversed(still_open)), "".join(still_open)


def markdown_to_marked(markdown: str) -> str:
    """:func:`markdown_to_mrkdwn` with emphasis still tokens (see :func:`unmark`, :func:`carry_emphasis`)."""
    markdown = markdown.translate(_NO_INPUT_TOKENS).replace("\r\n", "\n")
    blocks, pos = _Blocks(), 0
    out: list[str] = []
    for fence in _FENCE.finditer(markdown):
        out.append(blocks.convert(markdown[pos : fence.start()], continued=_mid_line(markdown, pos)))
        out.append(escape(_code_block(fence.group(), _indent_before(markdown, fence.start()))))
        pos = fence.end()
    out.append(blocks.convert(markdown[pos:], continued=_mid_line(markdown, pos)))
    return sanitize("".join(out))


def _mid_line(text: str, pos: int) -> bool:
    return pos > 0 and text[pos - 1] != "\n"


def _indent_before(text: str, pos: int) -> int:
    """How far a code fence at ``pos`` is indented (under a list item), or 0 when text precedes it."""
    line = text[text.rfind("\n", 0, pos) + 1 : pos]
    return len(line) if line.strip(" ") == "" else 0


def _code_block(fence: str, indent: int) -> str:
    """A fenced code block without its language name, and without the indentation of the list item it was
    written under (as CommonMark reads it): Slack shows a code block at the margin, with every space."""
    fence = _TILDES.sub("```", fence)
    if len(fence) < 6 or not fence.endswith("```"):
        fence = f"{fence.rstrip()}\n```"  # cut off before its closing fence
    fence = _INFO_STRING.sub("```\n", fence, count=1)
    if not indent:
        return fence
    first, *rest = fence.split("\n")
    return "\n".join([first, *(line[min(indent, len(line) - len(line.lstrip(" "))) :] for line in rest)])


# Blocks ---------------------------------------------------------------------------------------------


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
class _Blocks:
    lists: _Lists = field(default_factory=_Lists)
    quoted: _Lists = field(default_factory=_Lists)

    def convert(self, text: str, continued: bool) -> str:
        lines, i = text.split("\n"), 0
        out: list[str] = []
        if continued:  # the rest of a line that a code block began: no block syntax here
            out.append(_inline(lines[0]))
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
        return _inline(line)


def _heading(text: str) -> str:
    bold = Counter(["strong"])  # a heading is bold: bold inside it gets no marks of its own
    return f"{OPENS['strong']}{_inline(text, bold)}{CLOSES['strong']}" if text else ""


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
    return f"{_INDENT * depth}{marker} {_inline(text)}"


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
    rows = [[_inline(c, plain=True) for c in row] for row in cells]
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
    title = f"{OPENS['strong']}{_inline(first, Counter(['strong']))}{CLOSES['strong']}" if first else ""
    pairs = zip(names[1:], rest, strict=True)
    fields = " · ".join(f"{escape(name)}: {_inline(cell)}" for name, cell in pairs if cell)
    return f"{_BULLETS[0]} {' — '.join(part for part in (title, fields) if part)}"


# Inline ---------------------------------------------------------------------------------------------


def _inline(text: str, outer: Counter[str] | None = None, *, plain: bool = False) -> str:
    """One line's inline Markdown as mrkdwn with emphasis tokens; ``outer`` counts the spans open around
    the line (a heading's bold), whose kind gets no marks again inside it. ``plain``: as plain text, for a
    table's code block (no marks, links as "label (url)", code without its backticks, nothing escaped)."""
    pieces: list[str] = []

    def protect(match: re.Match[str]) -> str:
        pieces.append(_plain(match) if plain else _protected(match, outer))
        return _SLOT

    flat = _PROTECTED.sub(protect, text)
    nodes = _tokens(flat)
    _match_emphasis([node for node in nodes if isinstance(node, _Delim)])
    opened = Counter(outer)
    rendered = "".join(_text(n, plain) if isinstance(n, str) else n.render(opened) for n in nodes)
    parts = rendered.translate(_NO_TOKENS).split(_SLOT) if plain else rendered.split(_SLOT)
    return parts[0] + "".join(piece + part for piece, part in zip(pieces, parts[1:], strict=True))


def _text(text: str, plain: bool) -> str:
    """Text between marks, its entities read as the characters they stand for (a mark among them stays a
    character), escaped unless ``plain``."""

    def character(entity: re.Match[str]) -> str:
        char = html.unescape(entity.group())
        return f"{_NO_MARK}{char}{_NO_MARK}" if char in "*_~`" and not plain else char

    decoded = _ENTITY.sub(character, text)
    return decoded if plain else escape(decoded)


def _protected(match: re.Match[str], outer: Counter[str] | None) -> str:
    if match["code"]:
        return escape(match["code"])
    if match["escaped"]:
        char = match["escaped"]
        # Slack has no escape for its marks: a zero-width space on each side keeps a literal ``*`` from
        # pairing, whether Slack reads that space as a word character (no boundary before an opener) or
        # as a space (nothing to open on).
        return f"{_NO_MARK}{char}{_NO_MARK}" if char in "*_~`" else escape(char)
    if match["label"]:
        return f"<{_slack_url(match['url'])}|{_inline(match['label'], outer)}>"
    if match["auto"]:
        return f"<{_slack_url(match['auto'])}>"
    if match["email"]:
        return f"<mailto:{_slack_url(match['email'])}|{escape(match['email'])}>"
    return escape(_characters(match["bare"]))


def _characters(text: str) -> str:
    """``text`` with its entities read as the characters they stand for."""
    return _ENTITY.sub(lambda entity: html.unescape(entity.group()), text)


def _plain(match: re.Match[str]) -> str:
    """A protected piece as plain text (see :func:`_inline`)."""
    if match["code"]:
        ticks = len(match["ticks"])
        return match["code"][ticks:-ticks].strip(" ") or match["code"][ticks:-ticks]
    if match["label"]:
        return f"{_inline(match['label'], plain=True)} ({_characters(match['url'])})"
    return match["escaped"] or match["auto"] or match["email"] or match["bare"]


def _slack_url(url: str) -> str:
    url = _characters(url)
    return url.replace("&", "&amp;").replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")


@dataclass
class _Delim:
    """A run of ``*``, ``_`` or ``~~``, and the emphasis it opens and closes (CommonMark's delimiter run)."""

    char: str
    length: int
    can_open: bool
    can_close: bool
    count: int = 0
    active: bool = True
    opens: list[tuple[str, int]] = field(default_factory=list)  # (mark, partner), outermost first
    closes: list[tuple[str, int]] = field(default_factory=list)  # (mark, partner), innermost first

    def __post_init__(self) -> None:
        self.count = self.length

    def render(self, opened: Counter[str]) -> str:
        """The run's closing and opening tokens around what is left of it as text; ``opened`` counts the
        spans open before it, and a span inside one of its own kind is written without tokens."""
        out: list[str] = []
        for mark in _strong_outside(self.closes, first=False):
            opened[mark] -= 1
            if not opened[mark]:
                out.append(CLOSES[mark])
        out.append(self.char * self.count)
        for mark in _strong_outside(self.opens):
            if not opened[mark]:
                out.append(OPENS[mark])
            opened[mark] += 1
        return "".join(out)


def _strong_outside(marks: list[tuple[str, int]], first: bool = True) -> list[str]:
    """Bold outside italic where both wrap the same text: ``***both***`` is ``*_both_*``, not ``_*both*_``."""
    out: list[str] = []
    for _, group in itertools.groupby(marks, key=lambda mark: mark[1]):
        out += sorted((mark for mark, _ in group), key=lambda mark: (mark == "strong") != first)
    return out


def _kind(char: str) -> str:
    if char.isspace():
        return " "
    return "p" if char == _SLOT or unicodedata.category(char)[0] in "PS" else "w"


def _tokens(flat: str) -> list[str | _Delim]:
    """The line as text and delimiter runs, each run told whether it can open or close emphasis."""
    nodes: list[str | _Delim] = []
    pos = 0
    for word in re.finditer(r"\S+", flat):
        alnum = [i for i in range(word.start(), word.end()) if flat[i].isalnum()]
        for run in _RUN.finditer(flat, word.start(), word.end()):
            char, start, end = run.group()[0], run.start(), run.end()
            if char == "~" and end - start != 2:
                continue
            before = _kind(flat[start - 1]) if start else " "
            after = _kind(flat[end]) if end < len(flat) else " "
            left = after != " " and (after != "p" or before in " p")
            right = before != " " and (before != "p" or after in " p")
            can_open, can_close = left, right
            if char == "_":  # not inside a word: snake_case, __init__.py, a/_path_/in/a/url
                can_open = left and (not right or before == "p") and not (alnum and alnum[0] < start)
                can_close = right and (not left or after == "p") and not (alnum and alnum[-1] >= end)
            nodes += [flat[pos:start], _Delim(char, end - start, can_open, can_close)]
            pos = end
    nodes.append(flat[pos:])
    return nodes


def _match_emphasis(delims: list[_Delim]) -> None:
    """CommonMark's "process emphasis": pair each closer with the nearest opener it may close."""
    bottoms: dict[tuple[str, bool, int], int] = {}
    current = 0
    while current < len(delims):
        closer = delims[current]
        if not (closer.can_close and closer.active and closer.count):
            current += 1
            continue
        key = (closer.char, closer.can_open, closer.length % 3)
        j = current - 1
        while j > bottoms.get(key, -1) and not _pairs(delims[j], closer):
            j -= 1
        if j <= bottoms.get(key, -1):
            bottoms[key] = current - 1
            current += 1
            continue
        opener = delims[j]
        used = 2 if opener.count >= 2 and closer.count >= 2 else 1
        mark = "strike" if closer.char == "~" else "strong" if used == 2 else "em"
        opener.count, closer.count = opener.count - used, closer.count - used
        opener.opens.insert(0, (mark, current))
        closer.closes.append((mark, j))
        for between in delims[j + 1 : current]:
            between.active = False
        if not closer.count:
            current += 1


def _pairs(opener: _Delim, closer: _Delim) -> bool:
    if not (opener.active and opener.can_open and opener.count and opener.char == closer.char):
        return False
    both = opener.can_close or closer.can_open
    total = opener.length + closer.length
    return not (both and total % 3 == 0 and (opener.length % 3 or closer.length % 3))


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
