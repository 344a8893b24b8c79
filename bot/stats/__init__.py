"""``/routing-stats``: its arguments, SQL aggregates over the decision log, and the rendered report."""

from bot.stats.build import build_report
from bot.stats.period import USAGE, StatsRequest, StatsUsageError, parse_arguments
from bot.stats.report import CategoryFeedback, Share, StatsReport, Timing

__all__ = [
    "USAGE",
    "CategoryFeedback",
    "Share",
    "StatsReport",
    "StatsRequest",
    "StatsUsageError",
    "Timing",
    "build_report",
    "parse_arguments",
]
