"""How the routing report writes its values, in Slack and in a terminal alike: counts and their nouns,
moments, money, durations, rates and their changes, bars and cut labels. The report's sentences built of
them are :mod:`bot.stats.notes`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

BAR_WIDTH = 10
LABEL_WIDTH = 40


def bar(share: float, width: int = BAR_WIDTH, *, aligned: bool = False, percent: int | None = None) -> str:
    """A text bar and a percentage, e.g. ``█████░░░░░ 52%``, ``░░░░░░░░░░ <1%`` for a share above none that
    rounds to 0% (``>99%`` one short of all); ``aligned`` pads the percentage to 4. ``percent``: the
    whole percent to show, when the share is one of a list's that add up to 100 (:func:`whole_percents`)."""
    share = min(max(share, 0.0), 1.0)
    filled = round(share * width)
    shown = f"{share:.0%}" if percent is None else f"{percent}%"
    # Not "0%" beside a count of 3, nor "100%" for all but one: the whole percent hid both.
    if shown == "0%" and share > 0:
        shown = "<1%"
    elif shown == "100%" and share < 1:
        shown = ">99%"
    return f"{'█' * filled}{'░' * (width - filled)} {shown.rjust(4) if aligned else shown}"


def whole_percents(counts: Sequence[int]) -> list[int]:
    """Each of ``counts`` as a whole percent of their sum, the percents adding up to 100 (none without a
    count): rounded each on its own, 34 messages in six confidence tenths read 12+6+6+6+6+65 = 101%. The
    largest-remainder method: each percent rounded down, then the points left over go to the largest
    remainders (ties to the larger count, then the earlier). For the lists that are a whole (categories,
    reasons, sources, confidence), not a top few (the busiest channels), whose shares add up to less."""
    total = sum(counts)
    if total <= 0:
        return [0] * len(counts)
    floors = [100 * n // total for n in counts]
    order = sorted(range(len(counts)), key=lambda i: (-(100 * counts[i] % total), -counts[i], i))
    for i in order[: 100 - sum(floors)]:
        floors[i] += 1
    return floors


def cut_label(name: str, width: int = LABEL_WIDTH) -> str:
    """``name`` in at most ``width`` characters, cut in the middle: "Billing & Payments /…stomers - region
    07". Names that share a long start (a team's prefix) differ at their end: cut there, they read alike.
    Cut before escaping, so never inside an entity."""
    if len(name) <= width:
        return name
    tail = (width - 1) // 2
    return f"{name[: width - 1 - tail].rstrip()}…{name[len(name) - tail :].lstrip()}"


def noun(count: int, word: str) -> str:
    """``word`` for one, ``word`` + "s" for any other count."""
    return word if count == 1 else f"{word}s"


def plural(count: int, word: str) -> str:
    """E.g. "1 message", "0 messages", "1,234 messages"."""
    return f"{count:,} {noun(count, word)}"


def when(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM``, the year always in four digits (strftime gives "1" for the year 1)."""
    return f"{moment.year:04d}-{moment:%m-%d %H:%M}"


def dollars(amount: float) -> str:
    """An estimated cost: in cents from a dollar up, "$1,234.56"; below, to a hundredth of a cent, "$0.0030",
    as the cost per message is shown: in cents, a quiet day's cost reads "$0.00", less than its average."""
    return f"${amount:,.2f}" if amount >= 1 or amount == 0 else f"${amount:.4f}"


def duration(ms: float | None) -> str:
    """A time in the unit it reads best in: the router's in ms, a customer's wait after an outage in
    minutes or hours ("2.0 h", not "7,200,000 ms"); "–" with none."""
    if ms is None:
        return "–"
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 10_000:
        return f"{ms:,.0f} ms"
    if ms < 600_000:
        return f"{ms / 1000:.1f} s"
    if ms < 7_200_000:
        return f"{ms / 60_000:.0f} min"
    return f"{ms / 3_600_000:,.1f} h"


# A fall is written with a minus sign, as a rise with a plus: "−2.1 pts", "+18%".
MINUS = "−"


def _tenths(number: float) -> str:
    """``number`` to a tenth, without a ".0" left over: "9.5", "50", "1,234.5"."""
    text = f"{number:,.1f}"
    return text.removesuffix(".0")


def rate(value: float | None) -> str:
    """A rate (escalated, accurate, re-routed, picked up) to a tenth of a percent, "9.5%", "50%": read
    whole, 9.5% and 10.4% were both "10%" and a change of a point went unseen. "–" when there is
    nothing to divide by."""
    return "–" if value is None else f"{_tenths(value * 100)}%"


def _signed(change: float, text: str) -> str:
    """``text`` (a change's size) after its sign: "+3", "−2.1"; "±0" for none."""
    if change == 0:
        return "±0"
    return f"{'+' if change > 0 else MINUS}{text}"


def points_change(before: float | None, now: float | None) -> str:
    """How far a rate moved, in percentage points of the rates as :func:`rate` shows them (so "9.5%"
    after "11.6%" reads "−2.1 pts"); "–" when either has none."""
    if before is None or now is None:
        return "–"
    change = round(round(now * 100, 1) - round(before * 100, 1), 1)
    return f"{_signed(change, _tenths(abs(change)))} {'pt' if abs(change) == 1 else 'pts'}"


def percent_change(before: float | None, now: float | None) -> str:
    """How far a figure moved, as a whole percentage of what it was: "+18%", "−50%", "±0%"; "–" when
    either has none, or it was 0 (no percentage of nothing)."""
    if before is None or now is None or before == 0:
        return "–"
    change = round((now / before - 1) * 100)
    return f"{_signed(change, f'{abs(change):,}')}%"


def message_cost(cost: float) -> str:
    """A cost per message, to a hundredth of a cent: "$0.0042"."""
    return f"${cost:,.4f}"
