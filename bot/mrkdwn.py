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

This module holds the whole conversion, code blocks and the marks; block-level Markdown is
:mod:`bot.mrkdwn_blocks`', inline Markdown and emphasis :mod:`bot.mrkdwn_inline`'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.mrkdwn_blocks import Blocks
from bot.mrkdwn_inline import CLOSES, NO_INPUT_TOKENS, OPENS, escape
from bot.sanitize import sanitize

# At the start of a line, after up to three spaces (as CommonMark opens a fence).
_LINE_START = r"(?:(?<![^\n])|(?<=(?<![^\n]) )|(?<=(?<![^\n])  )|(?<=(?<![^\n])   ))"
# A code block: fenced by backticks (on a line of its own, or mid-line: "Run ```ls```"), or by tildes; one
# opened at the start of a line and never closed runs to the end (an answer cut off at max_tokens inside
# it is code all the same). Mid-line, "~~~" and a lone "```" are text, and so is a "```" after words that
# would close only past a blank line (see :func:`_code_blocks`).
_FENCE = re.compile(
    rf"```.*?```|{_LINE_START}```[^\n`]*\n.*\S.*\Z"
    rf"|{_LINE_START}(?P<tildes>~{{3,}})[^\n~]*\n.*?(?:^[ \t]*(?P=tildes)~*[ \t]*$|\Z)",
    re.DOTALL | re.MULTILINE,
)
_TILDES = re.compile(r"\A~{3,}|~{3,}[ \t]*\Z")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
# A fence's language name ("```python"): Slack has no highlighting and would show it as the first line.
_INFO_STRING = re.compile(r"\A```[\w+#.-]+[ \t]*\n")
# The mark each emphasis token becomes, once the text is cut into sections and final.
_MARK_OF = {"strong": "*", "em": "_", "strike": "~"}
_UNMARK = str.maketrans({token: _MARK_OF[kind] for kind, token in [*OPENS.items(), *CLOSES.items()]})
_CLOSER_OF = {OPENS[kind]: CLOSES[kind] for kind in OPENS}
_TOKEN = re.compile(f"[{''.join(OPENS.values())}{''.join(CLOSES.values())}]")


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
    markdown = markdown.translate(NO_INPUT_TOKENS).replace("\r\n", "\n")
    blocks, pos = Blocks(), 0
    out: list[str] = []
    for fence in _code_blocks(markdown):
        out.append(blocks.convert(markdown[pos : fence.start()], continued=_mid_line(markdown, pos)))
        out.append(escape(_code_block(fence.group(), _indent_before(markdown, fence.start()))))
        pos = fence.end()
    out.append(blocks.convert(markdown[pos:], continued=_mid_line(markdown, pos)))
    return sanitize("".join(out))


def _code_blocks(markdown: str) -> Iterator[re.Match[str]]:
    """The code blocks of ``markdown`` (see :data:`_FENCE`), but for backticks after words that would close
    only past a blank line: those are text, as a code span ends with its paragraph. The "(```)" of "wrap
    it in triple backticks (```) like this:", a blank line and then a code block, opens no block running to
    that block's first fence (its code would be read as Markdown, and the rest of the answer as code)."""
    start = 0
    while (fence := _FENCE.search(markdown, start)) is not None:
        line = markdown[markdown.rfind("\n", 0, fence.start()) + 1 : fence.start()]
        if line.strip() and _BLANK_LINE.search(fence.group()):
            start = fence.start() + len("```")
            continue
        yield fence
        start = fence.end()


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
