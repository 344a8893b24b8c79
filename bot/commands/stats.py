"""``stats``: the /routing-stats report in a terminal."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console

from bot.commands.serving import open_store
from bot.settings import Settings
from bot.stats import StatsUsageError, build_report, parse_arguments
from bot.stats.period import CHANNEL_ID, LOCAL_CHANNELS
from bot.stats.terminal import print_report
from bot.store.migrate import WhenBehind

USAGE = """\
Usage: support-router stats [PERIOD] [--channel ID]
  PERIOD        24h, 7d (the default), 30d, all, or a date range
                YYYY-MM-DD..YYYY-MM-DD (UTC, both days included)
  --channel ID  one Slack channel, by its id, e.g. C0123ABCD (Slack shows it
                at the bottom of the channel's details); demo or console for
                what support-router demo or chat recorded, which the report
                otherwise leaves out"""


def channel_id(given: str | None) -> str | None:
    """The ``--channel`` argument as the report takes it: an upper-case id, or demo or console.

    Raises:
        StatsUsageError: a channel's name or anything else that is not an id.
    """
    if given is None:
        return None
    word = given.strip()
    if word.lower() in LOCAL_CHANNELS:
        return word.lower()
    if CHANNEL_ID.fullmatch(word.upper()):
        return word.upper()
    name = word if word.startswith("#") else f"#{word}"
    raise StatsUsageError(
        f"--channel takes a channel's id, like C0123ABCD, not {word[:40]!r}: in Slack, open "
        f"{name[:40]}'s details (click its name at the top of the channel) and copy the channel id at "
        "the bottom"
    )


async def print_stats(
    settings: Settings, period: str | None, channels: Sequence[str] | None, console: Console
) -> int:
    """Print the report for ``period`` (default 7d), optionally for one channel id (``--channel``, which
    argparse collects so that a second one is refused, not silently preferred). Returns an exit code.

    A usage error goes to standard error with the usage, and the exit code is 2.
    """
    try:
        if period and period.startswith("#"):
            raise StatsUsageError(f"give the channel with --channel, by its id (not {period[:40]!r})")
        if channels and len(channels) > 1:
            raise StatsUsageError("give --channel once: the report covers one channel or all of them")
        words = " ".join(word for word in (period, channel_id(channels[0] if channels else None)) if word)
        request = parse_arguments(words)
    except StatsUsageError as e:
        sys.stderr.write(f"support-router stats: {e.reason}.\n{USAGE}\n")
        return 2
    if request.help:
        console.print(USAGE, markup=False, highlight=False, soft_wrap=True)
        return 0
    store = await open_store(settings, existing=True, behind=WhenBehind.REFUSE, command="stats")
    try:
        report = await build_report(store, request)
    finally:
        await store.close()
    print_report(report, console)
    return 0
