"""A report's counts as shares of a whole, largest first; and the channels to count them in, a customer's
direct messages with the bot added up in one."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.slack_ids import is_dm_channel
from bot.stats.formats import whole_percents
from bot.stats.period import CHANNEL_ID


class Share(BaseModel):
    """A count and its share of a whole (0 when the whole is empty)."""

    model_config = ConfigDict(frozen=True)

    name: str
    count: int = Field(ge=0)
    share: float = Field(ge=0.0, le=1.0)
    # The whole percent shown, when the list is the whole (its percents add up to 100: whole_percents);
    # None for a top few, whose share is rounded on its own.
    percent: int | None = Field(default=None, ge=0, le=100)


def shares(counts: dict[str, int], whole: int | None = None, limit: int | None = None) -> list[Share]:
    """Counts as shares of ``whole`` (default: their sum), largest first, ties by name; their percents
    add up to 100 when they are all of it (no ``limit``, nothing else in ``whole``)."""
    whole = sum(counts.values()) if whole is None else whole
    ordered = [(name, n) for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])) if n]
    listed = ordered[:limit]
    entire = limit is None and whole == sum(n for _, n in ordered)
    percents = whole_percents([n for _, n in listed]) if entire else [None] * len(listed)
    return [
        Share(name=name, count=n, share=n / whole if whole else 0.0, percent=percent)
        for (name, n), percent in zip(listed, percents, strict=True)
    ]


def direct_messages(count: int) -> str:
    """The line that stands for ``count`` direct-message channels, e.g. "Direct messages (3 customers)"."""
    return f"Direct messages ({count:,} {'customer' if count == 1 else 'customers'})"


def group_direct_messages(counts: dict[str, int]) -> dict[str, int]:
    """``counts`` per channel with the direct-message channels (D…) added up under one name.

    Each customer's DM with the bot is a channel of its own, which a manager cannot open: listed one by
    one they crowd out the channels and hide that DMs may carry most of the traffic.
    """
    dms = {name: n for name, n in counts.items() if is_dm_channel(name) and CHANNEL_ID.fullmatch(name)}
    grouped = {name: n for name, n in counts.items() if name not in dms}
    if dms:
        grouped[direct_messages(len(dms))] = sum(dms.values())
    return grouped
