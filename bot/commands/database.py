"""``db purge``: deleting what the retention policy no longer allows the decision log to keep."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store.retention import Purged

_DURATION = re.compile(r"\s*(\d+)\s*([dhw])\s*", re.IGNORECASE)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


class Age(timedelta):
    """A retention age: a timedelta that prints as the user gave it (``36 hour(s)``, not ``1 day, 12:00:00``).

    Args:
        number: how many units.
        unit: ``h``, ``d`` or ``w``.
    """

    text: str

    def __new__(cls, number: int, unit: str) -> Age:
        age = super().__new__(cls, **{_UNITS[unit]: number})
        age.text = f"{number} {_UNITS[unit].removesuffix('s')}(s)"
        return age

    def __str__(self) -> str:
        return self.text


def parse_duration(value: str) -> Age:
    """A retention age such as ``90d``, ``12w`` or ``36h`` (hours, days, weeks), for argparse.

    Refused here, before any database is opened: anything but a positive whole number followed by h, d
    or w, and an age that reaches back before the year 1.

    Raises:
        argparse.ArgumentTypeError: the value is not a usable age; the message says what is expected.
    """
    match = _DURATION.fullmatch(value)
    if match is None or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive age like 90d (days), 12w (weeks) or 36h (hours), not {value!r}"
        )
    number, unit = int(match.group(1)), match.group(2).lower()
    try:
        age = Age(number, unit)
        datetime.now(UTC) - age  # the purge's cut-off: it must be a date
    except OverflowError as e:
        raise argparse.ArgumentTypeError(
            f"{value!r} reaches back before the year 1; give a shorter age such as 5000w"
        ) from e
    return age


async def purge(settings: Settings, older_than: timedelta) -> Purged:
    """Delete decisions, finished messages and quiet threads older than ``older_than``."""
    # Imported here so that the CLI's argument parsing (which uses parse_duration) stays fast; and not
    # serving.open_store, which pulls in the router and its models: seconds of imports for a DELETE.
    from bot.store.engine import require_existing_database
    from bot.store.migrate import WhenBehind, upgrade_async
    from bot.store.repository import Store

    require_existing_database(settings.database_url)
    store = await Store.connect(settings.database_url, message_text=settings.store_message_text)
    try:
        # Beside a running bot (a daily purge): an older version's may be serving this database.
        await upgrade_async(store.engine, behind=WhenBehind.REFUSE, command="db purge")
        return await store.purge(older_than)
    finally:
        await store.close()
