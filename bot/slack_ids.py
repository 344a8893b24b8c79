"""Slack's ids as settings hold them, and what to tell an operator whose setting holds something else.

The API and the events carry ids (C…, U…, S…); a name ("#support", "@alice") matches nothing in them, so a
setting holding one would silently drop every message or tag nobody. ``bot.settings`` refuses such a
value with where to find the id; ``slack-check`` says the same of a user group Slack does not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# An id in Slack's own markup, as a message's raw text or a copied mention holds it: <@U…>, <@U…|alice>,
# <#C…|support>, <!subteam^S…|@support>.
_MARKUP = re.compile(r"<(?:@|#|!subteam\^)(?P<id>[A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class SlackIdKind:
    """One kind of Slack id: its form, and what to say about a value that is not one."""

    pattern: re.Pattern[str]
    name: str  # what a value that looks like a name is ("a channel name")
    other: str  # what any other value is ("not a channel id")
    fix: str

    def check(self, value: str, *, single: bool = False) -> str:
        """``value`` stripped, if it is such an id (``single``: for a setting that takes one, not a list).

        Raises:
            ValueError: saying what the value is and where the id is found; or, for ids run together
                ("C0A C0B"), how the setting takes them.
        """
        value = _MARKUP.sub(r"\g<id>", value.strip())
        if self.pattern.fullmatch(value):
            return value
        parts = re.split(r"[\s,;]+", value)
        if len(parts) > 1 and all(self.pattern.fullmatch(part) for part in parts):
            how = "it takes one" if single else f"separate them with commas: {','.join(parts)}"
            raise ValueError(f"{value!r} is {len(parts)} ids; {how}")
        raise ValueError(f"{value!r} is {self.name if _is_name(value) else self.other}; {self.fix}")


CHANNEL_ID = SlackIdKind(
    re.compile(r"[CG][A-Z0-9]{6,}"),
    "a channel name",
    "not a channel id",
    "use the channel id (C…, shown at the bottom of the channel's details)",
)
USER_ID = SlackIdKind(
    re.compile(r"[UW][A-Z0-9]{6,}"),
    "a user name",
    "not a member id",
    "use the member id (U…, from the profile's ⋮ menu → Copy member ID)",
)
USERGROUP_ID = SlackIdKind(
    re.compile(r"S[A-Z0-9]{6,}"),
    "a user group handle",
    "not a user group id",
    "use the group's id (S…: Slack's usergroups.list, called with the bot token, gives each handle's id)",
)


def is_dm_channel(channel_id: str) -> bool:
    """Whether ``channel_id`` is a DM's: Slack's DM ids begin with D (an event without a channel type, a
    click's container, a count by channel in the report)."""
    return channel_id.startswith("D")


def _is_name(value: str) -> bool:
    """Whether ``value`` looks like a channel or user name rather than a mistyped id: ``#support``,
    ``@alice``, or a word with lower-case letters (ids are upper case)."""
    return value.startswith(("#", "@")) or (
        re.fullmatch(r"[\w.-]+", value) is not None and value != value.upper()
    )
