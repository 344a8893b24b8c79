"""The report in words a manager reads as they are, alike in Slack and in a terminal: reasons and
sources named, rates to a tenth, singulars, channels, dates, and periods empty or still to come."""

from __future__ import annotations

from bot.stats import StatsReport, build_report, parse_arguments
from bot.stats.blocks import report_blocks
from bot.stats.notes import escalated_notes
from bot.stats.report import CategoryFeedback
from bot.stats.shares import shares
from bot.store import Store
from tests.bot.report_text import code_rows, section_text, terminal_text
from tests.bot.stats_samples import NOW, seed


async def test_escalation_reasons_are_shown_in_words(store: Store) -> None:
    await seed(store)
    report = await build_report(store, parse_arguments("7d"))
    _, blocks = report_blocks(report)
    assert code_rows(blocks, "*Escalations by reason*") == [
        "classification failed  █████░░░░░  50%  1",
        "low confidence         █████░░░░░  50%  1",
    ]
    terminal = terminal_text(report)
    assert "classification failed" in terminal and "low confidence" in terminal
    assert "low_confidence" not in str(blocks) + terminal and "classifier_error" not in terminal


def test_messages_with_nothing_to_classify_are_named_in_words() -> None:
    report = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=3,
        categories=shares({"General Question": 3}),
        sources=shares({"claude": 2, "none": 1}),
    )
    _, blocks = report_blocks(report)
    text = str(blocks) + terminal_text(report)
    assert "nothing to classify (a file alone)" in text and "none " not in text


def test_a_rate_reads_the_same_in_slack_and_in_the_terminal() -> None:
    """2 of 7 escalated, 2 of 3 verdicts correct, 1 of 7 re-routed: Slack said 29%, 67% and 14% where the
    terminal said 28.6%, 66.7% and 14.3%."""
    feedback = {"category": "Refund Request", "routed": 7, "reviewed": 3, "correct": 2, "rerouted": 1}
    report = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=7,
        escalations=2,
        categories=shares({"Refund Request": 7}),
        category_escalations={"Refund Request": 2},
        feedback=[CategoryFeedback.model_validate(feedback)],
        feedback_total=CategoryFeedback.model_validate(feedback | {"category": "All"}),
    )
    slack, terminal = str(report_blocks(report)[1]), terminal_text(report)
    for rate in ("2 escalated (28.6%)", "66.7%", "14.3%"):
        assert rate in slack and rate in terminal
    assert "29%" not in slack and "28.6%" in escalated_notes(report)[0]


def test_one_message_and_one_thread_are_singular() -> None:
    report = StatsReport(
        period="24h", start=None, end=NOW, messages=1, handoffs=1, categories=shares({"General Question": 1})
    )
    text, blocks = report_blocks(report)
    assert text == "Routing stats: last 24 hours: 1 message routed"
    assert "*1* message routed" in str(blocks) and "*1* thread taken over by agents" in str(blocks)
    assert "1 message routed" in terminal_text(report) and "1 thread taken over" in terminal_text(report)
    empty = StatsReport(period="24h", start=None, end=NOW)
    assert "*0* messages routed" in str(report_blocks(empty)[1])


def test_a_channel_slack_gave_no_name_for_is_named_by_slack_in_the_report() -> None:
    """A private channel picked from Slack's list may come as <#C…|> (no name), or a bare id be given:
    the header, plain text, can only show the id; its line under it lets Slack show the channel's name."""
    nameless = parse_arguments("7d <#C0PRIVATE1|>", NOW)
    report = StatsReport(period="7d", start=nameless.start, end=NOW, channel=nameless.channel_label)
    _, blocks = report_blocks(report)
    span = blocks[1]["elements"][0]["text"]
    assert span == "From 2026-03-03 12:30 to 2026-03-10 12:30 UTC, in <#C0PRIVATE1>"
    named = report.model_copy(update={"channel": parse_arguments("7d <#C0SUPPORT|support>").channel_label})
    assert report_blocks(named)[1][1]["elements"][0]["text"].endswith(" UTC")  # "#support" is in the header


async def test_a_period_in_the_future_says_it_has_not_happened_yet(store: Store) -> None:
    await seed(store)
    report = await build_report(store, parse_arguments("2099-01-01..2099-01-31"))
    assert report.upcoming and report.messages == 0
    text, blocks = report_blocks(report)
    assert text == "Routing stats: 2099-01-01..2099-01-31: this period has not happened yet"
    assert "_This period has not happened yet: it starts on 2099-01-01 00:00 UTC._" in str(blocks)
    assert "This period has not happened yet: it starts on 2099-01-01 00:00 UTC." in terminal_text(report)
    assert not (await build_report(store, parse_arguments("7d"))).upcoming


async def test_early_years_keep_four_digits(store: Store) -> None:
    report = await build_report(store, parse_arguments("0001-01-01..0001-01-02"))
    _, blocks = report_blocks(report)
    assert blocks[1]["elements"][0]["text"] == "From 0001-01-01 00:00 to 0001-01-03 00:00 UTC"
    assert "0001-01-01 00:00 → 0001-01-03 00:00 UTC" in terminal_text(report)


def test_a_period_without_messages_shows_no_rate_of_nothing() -> None:
    report = StatsReport(period="24h", start=None, end=NOW)
    _, blocks = report_blocks(report)
    assert "*0* messages routed · *0* escalated (–) · *0* threads taken over by agents" in str(blocks)
    assert "0 messages routed · 0 escalated (–) · 0 threads taken over" in terminal_text(report)
    files = StatsReport(period="24h", start=None, end=NOW, messages=1, no_text=1, escalations=1)
    assert "Confidence (average –)" in terminal_text(files)  # not 0.00: nothing was classified


def test_a_list_with_nothing_in_it_says_none_in_the_terminal_as_in_slack() -> None:
    """With no escalations the terminal printed "Escalations by" and "reason" on two lines over an
    empty header row, as if the list had been cut off; Slack said none."""
    answered = StatsReport(
        period="24h", start=None, end=NOW, messages=2, categories=shares({"General Question": 2})
    )
    printed = terminal_text(answered)
    assert "Escalations by reason: none" in printed
    _, blocks = report_blocks(answered)
    assert section_text(blocks, "*Escalations by reason*") == "*Escalations by reason*\n_none_"


def test_the_headline_says_what_its_escalation_rate_is_of_when_messages_are_left_out_of_it() -> None:
    """12 messages, 2 of them passed on to the person in charge, 3 escalated: "3 escalated (30%)" beside
    "12 messages routed" read as a sum gone wrong."""
    base = {"period": "7d", "start": None, "end": NOW, "messages": 12, "escalations": 3}
    for counts, said in (
        ({"passed_on": 2}, "3 escalated (30% of the 10 not passed on)"),
        ({"withdrawn": 2}, "3 escalated (30% of the 10 not withdrawn)"),
        ({"passed_on": 1, "withdrawn": 1}, "3 escalated (30% of the 10 neither passed on nor withdrawn)"),
        ({"messages": 10}, "3 escalated (30%) ·"),
    ):
        report = StatsReport.model_validate(base | counts)
        _, blocks = report_blocks(report)
        slack = " ".join(b["text"]["text"] for b in blocks if b["type"] == "section").replace("*", "")
        terminal = " ".join(terminal_text(report).replace("│", " ").split())
        assert said in slack and said in terminal, counts
