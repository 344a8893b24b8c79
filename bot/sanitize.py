"""Outgoing-text safety: nothing the model writes can ping a channel, a group or a person.

Slack turns ``<!here>``, ``<!channel>``, ``<!everyone>``, ``<!subteam^…>`` and ``<@U…>`` into
notifications, and ``@here``-style words too when names are linked. The model's text is data, so each
of these is defused with a word joiner (U+2060) that keeps it readable but inert. Only the bot's own
escalation message, built by :mod:`bot.escalation_messages`, carries real mentions.
"""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"

# Every "<!…" and "<@…" up to its first ">" is one span, taken leftmost first and handled whole: a span
# is never re-read after another is replaced, so removing one mention's ">" cannot leave an outer "<@" to
# pair with a later ">" ("<!subteam^S1|<!here>…>"), and sanitising text cut after any ">" gives the same
# result piece by piece as whole (what a stream relies on). HTML's "<!--", "<![CDATA[" and "<!DOCTYPE" are
# no Slack command and are left as written: a word joiner in them breaks the snippet a customer copies
# from a code block (a browser reads "<", a word joiner, "!--" as text, not as a comment); a mention inside
# one is still defused.
_HTML = r"(?!--|\[CDATA\[|(?i:doctype)\s)"
_SPAN = re.compile(rf"<(!{_HTML}|@)([^>]*)>")
_SPECIAL = re.compile(r"(channel|here|everyone)(?:\|.*)?", re.IGNORECASE | re.DOTALL)
_SUBTEAM = re.compile(r"subteam\^[A-Z0-9]+(?:\|@?(.*))?", re.IGNORECASE | re.DOTALL)
_USER = re.compile(r"[A-Z0-9]+(?:\|(.*))?", re.IGNORECASE | re.DOTALL)
_BARE = re.compile(r"(?<![\w@])@(channel|here|everyone)\b", re.IGNORECASE)
# What a stream must hold back: an unclosed "<!…" or "<@…" (only those can become a mention; a final "<"
# may still become one), or a trailing "@word" that may still grow into "@here".
_OPENING = re.compile(rf"<(?:!{_HTML}|@|\Z)")
_TRAILING_WORD = re.compile(r"@\w{0,12}\Z")
# The longest unclosed "<!…" / "<@…" a stream waits for; past it, the "<" is defused and the text shown.
HOLD_LIMIT = 200


def sanitize(text: str) -> str:
    """``text`` with every broadcast, group and user mention defused.

    No "<!" (but HTML's) or "<@" left has a ">" after it (but one the word joiner defuses: "<" before
    "@\u2060here").
    """
    end = text.rfind(">") + 1  # no span is open after the last ">": not scanning there keeps this linear
    text = _SPAN.sub(_defuse, text[:end]) + text[end:]
    return _BARE.sub(lambda m: f"@{WORD_JOINER}{m.group(1)}", text)


def _defuse(span: re.Match[str]) -> str:
    kind, body = span.group(1), span.group(2)
    if kind == "!" and (special := _SPECIAL.fullmatch(body)):
        return f"@{WORD_JOINER}{special.group(1).lower()}"
    if kind == "!" and (group := _SUBTEAM.fullmatch(body)):
        return f"@{WORD_JOINER}{_inert(group.group(1)) or 'group'}"
    if kind == "@" and (user := _USER.fullmatch(body)):
        return f"@{WORD_JOINER}{_inert(user.group(1)) or 'someone'}"
    return f"<{WORD_JOINER}{kind}{_inert(body)}>"  # <!date^…>, <@not an id>: readable, never a mention


def _inert(label: str | None) -> str:
    """What is kept of a span with every "<" defused, so that nothing in it can open a mention again."""
    return (label or "").replace("<", f"<{WORD_JOINER}")


class StreamSanitizer:
    """Sanitises text that arrives in chunks, where a mention may be split across any number of chunks.

    Everything it shows, joined, is at least as safe as :func:`sanitize` of the whole text, however the
    text is cut: a "<!" or "<@" with no ">" after it yet is held back (a mention's label can be of any
    length), and a held-back tail longer than :data:`HOLD_LIMIT` is shown with its "<" defused, so that
    no ">" arriving later can complete it. Text without such a "<" or a trailing "@word" is shown at once.
    """

    def __init__(self) -> None:
        self._pending = ""
        # The last character shown: whether an "@here" is a mention depends on the one before it.
        self._last = ""

    def feed(self, chunk: str) -> str:
        """The safe text that can be shown now; an unfinished tail waits for the next chunk."""
        text = self._pending + chunk
        cut = _unfinished(text, 0)
        shown = self._show(text[:cut])
        if len(text) - cut > HOLD_LIMIT:
            # Only an unclosed "<!…" / "<@…" grows this long, and the tail has no ">": every "<" in the
            # part let go is defused (a later ">" must not close it), the rest is held back as before.
            keep = _unfinished(text, len(text) - HOLD_LIMIT)
            shown += self._show(text[cut:keep].replace("<", f"<{WORD_JOINER}"))
            cut = keep
        self._pending = text[cut:]
        return shown

    def flush(self) -> str:
        """Whatever was held back, sanitised: the stream has ended."""
        text, self._pending = self._pending, ""
        return self._show(text)

    def _show(self, text: str) -> str:
        """``text`` sanitised as it reads after what was shown before it: the "@channel" of
        "support@channel.io", cut from its "support" by the chunks, is an address all the same, not a
        mention to defuse (a word joiner there breaks the address when the customer copies it). The last
        character shown is never a "<" that could open a mention with ``text`` (one is held back)."""
        shown = sanitize(self._last + text)[len(self._last) :]
        self._last = shown[-1:] or self._last
        return shown


def _unfinished(text: str, start: int) -> int:
    """Where the tail of ``text`` that may still become a mention begins, at ``start`` or later.

    Every "<" before the last ">" is closed, so a mention there lies wholly before the cut; after it, the
    first "<!", "<@" or final "<" starts the tail, else a trailing "@word"; ``len(text)`` when neither.
    """
    after = max(text.rfind(">") + 1, start)
    found = _OPENING.search(text, after) or _TRAILING_WORD.search(text, after)
    return found.start() if found else len(text)
