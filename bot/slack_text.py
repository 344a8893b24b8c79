"""Slack's message text read back as its author wrote it, for the router, the log and the agents.

Slack sends a message's text with its markup (``<@U…>``, ``<#C…|name>``, ``<https://…|label>``,
``<!here>``) and with ``&``, ``<`` and ``>`` escaped; Claude and the local model should read what the
customer typed, and whatever quotes it back to Slack escapes it once, on the way out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from router.router import truncate

MAX_ATTACHMENTS_NAMED = 5
ATTACHMENT_NAME_CHARS = 80

_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_BROADCASTS = frozenset({"here", "channel", "everyone"})


def message_words(message: Mapping[str, Any], bot_user_id: str | None = None) -> str:
    """What a person's Slack message (an event, or one read back from a conversation) says, as Claude and
    the agents read it: its text (see :func:`plain_text`), the messages it forwards, and, when it has
    words, a line naming the files it carries. Empty for a file alone or a bare mention."""
    text = "\n".join(
        part for part in [plain_text(message.get("text") or "", bot_user_id), *forwarded(message)] if part
    )
    files = message.get("files") or []
    return f"{text}\n{attachment_note(files)}" if text and files else text


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


def forwarded(event: Mapping[str, Any]) -> list[str]:
    """The messages the customer forwarded with theirs, each with its author: Slack leaves them out of the
    event's text (empty when the customer added no words of their own) and puts them in its attachments.
    Link previews are not forwarded messages: the link is in the text already."""
    shared = [
        att
        for att in event.get("attachments") or []
        if isinstance(att, dict) and (att.get("is_share") or att.get("is_msg_unfurl"))
    ]
    notes = []
    for att in shared[:MAX_ATTACHMENTS_NAMED]:
        words = plain_text(str(att.get("text") or att.get("fallback") or ""))
        author = " ".join(str(att.get("author_name") or att.get("author_subname") or "someone").split())
        if words:
            notes.append(f"[Forwarded, a message from {truncate(author, ATTACHMENT_NAME_CHARS)}:]\n{words}")
    return notes


def attachment_note(files: list[dict[str, Any]]) -> str:
    """A line saying what the customer attached, kept with their words: Claude is told there is a
    screenshot it cannot see (instead of asking for the error the customer just sent), and so are the
    agents an escalation quotes it to."""
    names = [
        truncate(" ".join(str(f.get("name") or f.get("title") or "a file").split()), ATTACHMENT_NAME_CHARS)
        for f in files[:MAX_ATTACHMENTS_NAMED]
    ]
    more = f" and {len(files) - MAX_ATTACHMENTS_NAMED} more" if len(files) > MAX_ATTACHMENTS_NAMED else ""
    return f"[Attached, which the bot cannot open: {', '.join(names)}{more}]"
