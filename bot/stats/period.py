"""The arguments of ``/routing-stats`` and ``support-router stats``: a period, a channel, or ``help``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

DEFAULT_PERIOD = "7d"
RELATIVE = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
USAGE = (
    "Usage: `/routing-stats [24h | 7d | 30d | all | YYYY-MM-DD..YYYY-MM-DD] [#channel]`\n"
    "• the period defaults to `7d`; a date range is in UTC and includes both days\n"
    "• `#channel` limits the report to one channel\n"
    "• `/routing-stats help` shows this message"
)

# `support-router demo` and `chat` record their decisions in the same database as the bot, under these
# channel ids: reports leave them out unless one of them is asked for by name (``--channel demo``).
LOCAL_CHANNELS = {"demo": "support-router demo", "console": "support-router chat"}

# A period's label, start and end, as asked for.
Period = tuple[str, datetime | None, datetime]
_RANGE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\.\.([0-9]{4}-[0-9]{2}-[0-9]{2})", re.ASCII)
# Slack escapes a picked channel as <#C123|name> (or <#C123> when it has no name to show).
_ESCAPED_CHANNEL = re.compile(r"<#([CGD][A-Z0-9]{2,})(?:\|([^>]*))?>", re.ASCII)
# A Slack channel id (C… public, G… private, D… direct message) has digits; a word like "CUSTOMERS" has
# none. The terminal's --channel reads ids with this pattern too.
CHANNEL_ID = re.compile(r"[CGD](?=[A-Z0-9]*[0-9])[A-Z0-9]{6,}", re.ASCII)
_PLAIN_CHANNEL = re.compile(rf"#?({CHANNEL_ID.pattern})", re.ASCII)


class StatsUsageError(ValueError):
    """The arguments are not understood; the message says why and shows the usage.

    ``reason`` is the why alone, for a caller (the terminal) that shows a usage of its own.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason}.\n{USAGE}")
        self.reason = reason


class StatsRequest(BaseModel):
    """What to report on: decisions made in [start, end) (start None: since the beginning), one channel.

    A date range that runs past now ends at now, and ``range_end`` keeps the end of its last day: read to
    that end, it would claim days that have not happened and be compared with as many whole days.
    """

    model_config = ConfigDict(frozen=True)

    period: str = DEFAULT_PERIOD
    start: datetime | None
    end: datetime
    range_end: datetime | None = None
    channel_id: str | None = None
    channel_name: str | None = None
    help: bool = False

    @property
    def up_to_now(self) -> bool:
        """Whether the period runs to the present (24h, 7d, 30d, all, a date range cut at now), not to the
        end of a given day."""
        return self.period in RELATIVE or self.period == "all" or self.range_end is not None

    @property
    def channel_label(self) -> str | None:
        """How to show the channel: its name when Slack gave one, else its id."""
        if self.channel_id is None:
            return None
        if self.channel_id in LOCAL_CHANNELS:
            return LOCAL_CHANNELS[self.channel_id]
        return f"#{self.channel_name}" if self.channel_name else self.channel_id


def parse_arguments(text: str, now: datetime | None = None) -> StatsRequest:
    """Parse the command's text, e.g. ``"30d <#C123|support>"``.

    Args:
        text: the words after the command (any order; case does not matter for periods).
        now: the current time (aware); defaults to now in UTC.

    Returns:
        The request; ``help`` is set when the text asks for it.

    Raises:
        StatsUsageError: any word that is not one period, one channel or ``help``.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    period: Period | None = None
    channel: tuple[str, str | None] | None = None
    for word in text.split():
        if word.lower() == "help":
            return StatsRequest(start=None, end=now, help=True)
        found_channel = _channel(word)
        if found_channel is not None:
            if channel is not None:
                raise _error("give at most one channel")
            channel = found_channel
            continue
        found_period = _period(word, now)
        if found_period is None:
            raise _error(f"I don't understand {word[:40]!r}")
        if period is not None:
            raise _error("give at most one period")
        period = found_period
    label, start, end = period or _period(DEFAULT_PERIOD, now) or (DEFAULT_PERIOD, None, now)
    range_end = end if start is not None and start < now < end else None
    channel_id, channel_name = channel or (None, None)
    return StatsRequest(
        period=label,
        start=start,
        end=now if range_end else end,
        range_end=range_end,
        channel_id=channel_id,
        channel_name=channel_name,
    )


def _error(reason: str) -> StatsUsageError:
    return StatsUsageError(reason)


def _channel(word: str) -> tuple[str, str | None] | None:
    if word.lower() in LOCAL_CHANNELS:
        return word.lower(), None
    escaped = _ESCAPED_CHANNEL.fullmatch(word)
    if escaped:
        return escaped.group(1), escaped.group(2) or None
    plain = _PLAIN_CHANNEL.fullmatch(word)
    if plain:
        return plain.group(1), None
    if word.startswith("#"):
        raise _error(
            f"I can't tell which channel {word[:40]!r} is; pick it from Slack's list as you type #, or give "
            "its channel id, like C0123ABCD (at the bottom of the channel's details)"
        )
    return None


def _period(word: str, now: datetime) -> Period | None:
    lowered = word.lower()
    if lowered in RELATIVE:
        return lowered, now - RELATIVE[lowered], now
    if lowered == "all":
        return "all", None, now
    match = _RANGE.fullmatch(word)
    if match is None:
        return None
    try:
        first, last = date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))
    except ValueError as e:
        raise _error(f"{word!r} is not a valid date range: {e}") from e
    if last == date.max:
        raise _error(f"{word!r} ends on the last day a date can have: end it a day earlier")
    start = datetime.combine(first, datetime.min.time(), UTC)
    end = datetime.combine(last, datetime.min.time(), UTC) + timedelta(days=1)
    if first > last:
        raise _error(f"{word!r} ends before it starts")
    return f"{first.isoformat()}..{last.isoformat()}", start, end
