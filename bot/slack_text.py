"""Slack's message text read back as its author wrote it, for the router, the log and the agents.

Slack sends a message's text with its markup (``<@U…>``, ``<#C…|name>``, ``<https://…|label>``,
``<!here>``) and with ``&``, ``<`` and ``>`` escaped; Claude and the local model should read what the
customer typed, and whatever quotes it back to Slack escapes it once, on the way out.
"""

from __future__ import annotations

import re

_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_BROADCASTS = frozenset({"here", "channel", "everyone"})


def plain_text(text: str, bot_user_id: str | None = None) -> str:
    """``text`` as Slack sends it, as its author wrote it: mentions as ``@name``, channels as ``#name``,
    links as ``label (url)``, and ``&amp;`` ``&lt;`` ``&gt;`` undone; mentions of the bot itself (and the
    spaces around them) are left out. Line breaks and indentation stay; the ends are trimmed."""
    if bot_user_id:
        text = re.sub(rf"[ \t]*<@{re.escape(bot_user_id)}(?:\|[^<>]*)?>[ \t]*", " ", text)
    text = _MARKUP.sub(_readable, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _readable(markup: re.Match[str]) -> str:
    target, label = markup.group(1), markup.group(2)
    if target.startswith("@"):
        return f"@{label or target[1:]}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        name = target[1:].split("^", 1)[0]
        if name in _BROADCASTS:
            return f"@{name}"
        if name == "subteam":
            return f"@{(label or 'group').removeprefix('@')}"
        return label or target[1:]  # <!date^…|fallback text>
    address = target.removeprefix("mailto:")
    return address if not label or label == address else f"{label} ({address})"
