"""Outgoing-text safety: nothing the model writes can ping a channel, a group or a person.

Slack turns ``<!here>``, ``<!channel>``, ``<!everyone>``, ``<!subteam^…>`` and ``<@U…>`` into
notifications, and ``@here``-style words too when names are linked. The model's text is data, so each
of these is defused with a word joiner (U+2060) that keeps it readable but inert. Only the bot's own
escalation message, built by :mod:`bot.formatting`, carries real mentions.
"""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"

_SPECIAL = re.compile(r"<!(channel|here|everyone)(?:\|[^>]*)?>", re.IGNORECASE)
_SUBTEAM = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|@?([^>]*))?>", re.IGNORECASE)
_OTHER_BANG = re.compile(r"<!([^>]*)>")
_USER = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]*))?>", re.IGNORECASE)
_BARE = re.compile(r"(?<![\w@])@(channel|here|everyone)\b", re.IGNORECASE)
# What a stream must hold back: an unfinished "<…" or a trailing "@word" that may still grow.
_UNFINISHED = re.compile(r"(<[^>]{0,200}|@\w{0,12})$")


def sanitize(text: str) -> str:
    """``text`` with every broadcast, group and user mention defused."""
    text = _SPECIAL.sub(lambda m: f"@{WORD_JOINER}{m.group(1).lower()}", text)
    text = _SUBTEAM.sub(lambda m: f"@{WORD_JOINER}{m.group(1) or 'group'}", text)
    text = _OTHER_BANG.sub(lambda m: f"<{WORD_JOINER}!{m.group(1)}>", text)
    text = _USER.sub(lambda m: f"@{WORD_JOINER}{m.group(2) or 'someone'}", text)
    return _BARE.sub(lambda m: f"@{WORD_JOINER}{m.group(1)}", text)


class StreamSanitizer:
    """Sanitises text that arrives in chunks, where a mention may be split across two chunks."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, chunk: str) -> str:
        """The safe text that can be shown now; an unfinished tail waits for the next chunk."""
        text = self._pending + chunk
        match = _UNFINISHED.search(text)
        cut = match.start() if match else len(text)
        self._pending = text[cut:]
        return sanitize(text[:cut])

    def flush(self) -> str:
        """Whatever was held back, sanitised: the stream has ended."""
        text, self._pending = self._pending, ""
        return sanitize(text)
