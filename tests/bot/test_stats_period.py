"""The arguments of /routing-stats: periods, channels, help, and nothing else."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.stats import StatsUsageError, parse_arguments
from bot.stats.queries import split_period

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)


def test_no_arguments_is_the_last_seven_days() -> None:
    request = parse_arguments("", NOW)
    assert (request.period, request.start, request.end) == ("7d", NOW - timedelta(days=7), NOW)
    assert request.channel_id is None and not request.help


@pytest.mark.parametrize(
    ("text", "period", "start"),
    [
        ("24h", "24h", NOW - timedelta(hours=24)),
        ("30D", "30d", NOW - timedelta(days=30)),
        ("all", "all", None),
        ("2026-01-01..2026-01-31", "2026-01-01..2026-01-31", datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_periods(text: str, period: str, start: datetime | None) -> None:
    request = parse_arguments(text, NOW)
    assert (request.period, request.start) == (period, start)


def test_a_date_range_includes_its_last_day() -> None:
    assert parse_arguments("2026-01-01..2026-01-01", NOW).end == datetime(2026, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "channel_id", "label"),
    [
        ("<#C0123ABCD|support>", "C0123ABCD", "#support"),
        ("30d <#C0123ABCD>", "C0123ABCD", "C0123ABCD"),
        ("#C0123ABCD all", "C0123ABCD", "C0123ABCD"),
        ("C0123ABCD", "C0123ABCD", "C0123ABCD"),
    ],
)
def test_channels(text: str, channel_id: str, label: str) -> None:
    request = parse_arguments(text, NOW)
    assert (request.channel_id, request.channel_label) == (channel_id, label)


def test_help_wins_whatever_else_is_there() -> None:
    assert parse_arguments("30d help", NOW).help
    assert parse_arguments("HELP", NOW).help


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "7d 30d",
        "<#C0123ABCD|a> <#C0456EFGH|b>",
        "#support",
        "2026-02-30..2026-03-01",
        "2026-03-02..2026-03-01",
        "9999-12-31..9999-12-31",
        "2026-1-1..2026-1-2",
        "7 d",
        "CUSTOMERS",  # upper case, but a channel id has digits: not read as a channel
        "#GENERALQ",
    ],
)
def test_anything_else_is_a_usage_error(text: str) -> None:
    with pytest.raises(StatsUsageError, match="Usage: `/routing-stats"):
        parse_arguments(text, NOW)


def test_a_channel_written_by_name_is_refused_with_both_ways_that_work() -> None:
    """Slack sends a channel typed by hand as its bare name, which the report cannot look up: the refusal
    said only to pick it from Slack's list, though its id works too."""
    with pytest.raises(StatsUsageError) as refused:
        parse_arguments("7d #support", NOW)
    assert refused.value.reason == (
        "I can't tell which channel '#support' is; pick it from Slack's list as you type #, or give its "
        "channel id, like C0123ABCD (at the bottom of the channel's details)"
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2026-02-30..2026-03-01", "day is out of range for month"),
        ("2026-03-02..2026-03-01", "ends before it starts"),
        ("2026-01-01..9999-12-31", "end it a day earlier"),
    ],
)
def test_a_bad_date_range_says_what_is_wrong(text: str, why: str) -> None:
    with pytest.raises(StatsUsageError, match=why):
        parse_arguments(text, NOW)


@given(st.text(max_size=80))
def test_any_text_parses_or_is_a_usage_error(text: str) -> None:
    try:
        request = parse_arguments(text, NOW)
    except StatsUsageError:
        return
    assert request.help or request.start is None or request.start < request.end


@given(
    st.lists(
        st.sampled_from(
            ["24h", "7d", "30d", "all", "help", "<#C0123ABCD|x>", "2026-01-01..2026-02-01", "#x", "?"]
        )
        | st.text(alphabet="0123456789-.<>#|CDGhd", max_size=25),
        max_size=4,
    )
)
def test_any_words_parse_or_are_a_usage_error(words: list[str]) -> None:
    try:
        request = parse_arguments(" ".join(words), NOW)
    except StatsUsageError:
        return
    assert request.help or request.period in {"24h", "7d", "30d", "all", "2026-01-01..2026-02-01"}


def test_a_period_splits_into_whole_days_and_the_partial_day_at_its_start() -> None:
    request = parse_arguments("7d", NOW)
    span = split_period(request.start, request.end, up_to_now=request.up_to_now)
    # Today's rollups hold its partial day exactly, since the period runs to now.
    assert span.days == (date(2026, 3, 4), date(2026, 3, 11))
    assert span.raw == ((NOW - timedelta(days=7), datetime(2026, 3, 4, tzinfo=UTC)),)
    fixed = parse_arguments("2026-01-01..2026-01-31", NOW)
    assert split_period(fixed.start, fixed.end).raw == ()
    whole = split_period(None, NOW)
    assert whole.days == (None, date(2026, 3, 10)) and whole.raw == (
        (datetime(2026, 3, 10, tzinfo=UTC), NOW),
    )


def test_a_date_range_that_runs_past_now_stops_at_now() -> None:
    """This month's range mid-month: the days to come have no decisions, and read as days they would
    have the report claim them (and compare its few days against as many whole ones)."""
    request = parse_arguments("2026-03-09..2026-03-15", NOW)
    assert (request.start, request.end) == (datetime(2026, 3, 9, tzinfo=UTC), NOW)
    assert request.range_end == datetime(2026, 3, 16, tzinfo=UTC) and request.up_to_now
    past = parse_arguments("2026-03-01..2026-03-09", NOW)
    assert (past.end, past.range_end, past.up_to_now) == (datetime(2026, 3, 10, tzinfo=UTC), None, False)
    # Wholly to come: left as asked, for the report to say that nothing has happened yet.
    later = parse_arguments("2026-03-11..2026-03-12", NOW)
    assert (later.end, later.range_end) == (datetime(2026, 3, 13, tzinfo=UTC), None)
