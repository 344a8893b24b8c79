"""One line's inline Markdown as Slack ``mrkdwn``: code spans, backslash escapes, links, URLs and
entities, and emphasis matched with CommonMark's delimiter rules, so ``***both***``, ``snake_case`` and
``2 * 3`` come out right.

Emphasis is written as tokens (:data:`OPENS`, :data:`CLOSES`), which :mod:`bot.mrkdwn` turns into Slack's
marks once the text is final; :func:`escape` is Slack's escaping of its control characters ``& < >``,
used for everything of ours written in mrkdwn.
"""

from __future__ import annotations

import html
import itertools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

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
# Backticks left in text (no code span closes them: "triple backticks (```)"), which Slack would pair with
# the next code block's fence; each is fenced by zero-width spaces, as an escaped "`" is.
_LONE_FENCE = re.compile(r"`{3,}")
_SLOT = "\x00"  # stands in for a protected piece during emphasis matching; stripped from the input
# The tokens of emphasis (control characters, stripped from the input); bot.mrkdwn writes each as its mark.
OPENS = {"strong": "\x01", "em": "\x02", "strike": "\x03"}
CLOSES = {"strong": "\x04", "em": "\x05", "strike": "\x06"}
_NO_TOKENS = str.maketrans(dict.fromkeys([*OPENS.values(), *CLOSES.values()]))
# Stripped from Claude's text before it is read, so that none of it passes for a slot or a token of ours.
NO_INPUT_TOKENS = str.maketrans(dict.fromkeys([_SLOT, *OPENS.values(), *CLOSES.values()]))


def escape(text: str) -> str:
    """Slack's three control characters, escaped (and emphasis tokens, which are no text, left out)."""
    return text.translate(_NO_TOKENS).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def convert_inline(text: str, outer: Counter[str] | None = None, *, plain: bool = False) -> str:
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
    if plain:
        return decoded
    return escape(_LONE_FENCE.sub(lambda run: f"{_NO_MARK}`{_NO_MARK}" * len(run.group()), decoded))


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
        return f"<{_slack_url(match['url'])}|{convert_inline(match['label'], outer)}>"
    if match["auto"]:
        return f"<{_slack_url(match['auto'])}>"
    if match["email"]:
        return f"<mailto:{_slack_url(match['email'])}|{escape(match['email'])}>"
    return escape(_characters(match["bare"]))


def _characters(text: str) -> str:
    """``text`` with its entities read as the characters they stand for."""
    return _ENTITY.sub(lambda entity: html.unescape(entity.group()), text)


def _plain(match: re.Match[str]) -> str:
    """A protected piece as plain text (see :func:`convert_inline`)."""
    if match["code"]:
        ticks = len(match["ticks"])
        return match["code"][ticks:-ticks].strip(" ") or match["code"][ticks:-ticks]
    if match["label"]:
        return f"{convert_inline(match['label'], plain=True)} ({_characters(match['url'])})"
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
