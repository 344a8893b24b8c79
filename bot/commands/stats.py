"""``stats``: the /routing-stats report in a terminal."""

from __future__ import annotations

from rich.console import Console

from bot.commands.serving import open_store
from bot.settings import Settings
from bot.stats import USAGE, StatsUsageError, build_report, parse_arguments
from bot.stats.terminal import print_report


async def print_stats(settings: Settings, period: str | None, channel: str | None, console: Console) -> int:
    """Print the report for ``period`` (default 7d), optionally for one channel id. Returns an exit code."""
    words = " ".join(word for word in (period, channel) if word)
    try:
        request = parse_arguments(words)
    except StatsUsageError as e:
        console.print(f"support-router stats: {str(e).splitlines()[0]}", markup=False)
        return 2
    if request.help:
        console.print(USAGE.replace("/routing-stats", "support-router stats"), markup=False)
        return 0
    store = await open_store(settings)
    try:
        report = await build_report(store, request)
    finally:
        await store.close()
    print_report(report, console)
    return 0
