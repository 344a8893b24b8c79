"""``db purge``: deleting what the retention policy no longer allows the decision log to keep."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store.repository import Purged

_DURATION = re.compile(r"\s*(\d+)\s*([dhw])\s*", re.IGNORECASE)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: str) -> timedelta:
    """A retention age such as ``90d``, ``12w`` or ``36h`` (hours, days, weeks), for argparse.

    Raises:
        argparse.ArgumentTypeError: the value is not a positive whole number followed by h, d or w.
    """
    match = _DURATION.fullmatch(value)
    if match is None or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive age like 90d (days), 12w (weeks) or 36h (hours), not {value!r}"
        )
    number, unit = int(match.group(1)), match.group(2).lower()
    try:
        return timedelta(**{_UNITS[unit]: number})
    except OverflowError as e:
        raise argparse.ArgumentTypeError(f"{value!r} is too long ago to be a date") from e


async def purge(settings: Settings, older_than: timedelta) -> Purged:
    """Delete decisions, finished messages and quiet threads older than ``older_than``."""
    # Imported here so that the CLI's argument parsing (which uses parse_duration) stays fast; and not
    # serving.open_store, which pulls in the router and its models: seconds of imports for a DELETE.
    from bot.store.migrate import upgrade_async
    from bot.store.repository import Store

    store = await Store.connect(settings.database_url, message_text=settings.store_message_text)
    try:
        await upgrade_async(store.engine)
        return await store.purge(older_than)
    finally:
        await store.close()
