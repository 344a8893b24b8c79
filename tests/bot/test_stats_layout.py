"""The report laid out: within Slack's limits however many and long the categories, long names cut
in the middle, bars lined up, and names printed as they are in a terminal."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from rich.console import Console

from bot.stats import StatsReport, build_report, parse_arguments
from bot.stats.blocks import MAX_BLOCKS, report_blocks
from bot.stats.formats import LABEL_WIDTH, bar, cut_label, whole_percents
from bot.stats.headline import Previous
from bot.stats.report import CategoryFeedback
from bot.stats.sections import SECTION_LIMIT
from bot.stats.shares import Share, shares
from bot.stats.terminal import print_report, report_renderables
from bot.store import Store
from bot.store.feedback import Verdict
from tests.bot.report_text import code_rows, terminal_text
from tests.bot.stats_samples import NOW, TEAM, decision, seed


async def test_the_slack_report_fits_slack_and_the_terminal_report_renders(store: Store) -> None:
    await seed(store)
    report = await build_report(store, parse_arguments("7d"))
    text, blocks = report_blocks(report)
    assert text.endswith("4 messages routed")
    assert len(blocks) <= MAX_BLOCKS
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(s) <= SECTION_LIMIT for s in sections)
    joined = "\n".join(sections)
    assert "General Question   █████░░░░░  50%  2" in joined
    assert "<#C0GENERAL>" in joined and "accuracy 50% of 2 reviewed" in joined
    # "total" is the router's time, which a manager must not take for the customer's whole wait: "reply" is.
    assert (
        "*Time* (routing: classifying; handling: writing the answer; total: both, without posting to Slack "
        "or retries; reply: the customer's wait, from their message to the bot's reply or escalation, all "
        "included)"
    ) in joined
    assert len(report_renderables(report)) >= 8


def _fits_slack(blocks: list[dict]) -> list[str]:
    """The sections' texts, once checked against Slack's limits and for nothing cut in the middle."""
    assert len(blocks) <= MAX_BLOCKS
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    for text in sections:
        assert len(text) <= SECTION_LIMIT and text.count("```") % 2 == 0
        # every & begins a whole entity: none was cut in two
        assert text.count("&") == sum(text.count(e) for e in ("&amp;", "&lt;", "&gt;")), text
    return sections


def _rows_under(sections: list[str], heading: str) -> list[str]:
    """The lines of a heading's section and of the sections that continue it, headings and fences off."""
    start = next(i for i, text in enumerate(sections) if text.startswith(heading))
    rows = sections[start].removeprefix(heading).splitlines()
    for text in sections[start + 1 :]:
        if text.startswith("*"):
            break
        rows += text.splitlines()
    return [row.strip("`") for row in rows]


async def test_many_long_categories_spread_over_sections_and_the_overall_accuracy_comes_first(
    store: Store,
) -> None:
    names = [f"Product area {i:02d}: orders, billing & returns" for i in range(40)]
    for i, category in enumerate(names):
        for j in range(3):
            ts = f"{i}.{j}"
            await store.record(
                decision(category, 0.8, "claude", 100, 500),
                team_id=TEAM,
                channel_id="C0SUPPORT",
                user_id="U1",
                message_ts=ts,
                thread_ts=ts,
            )
        target = await store.find_decision(TEAM, "C0SUPPORT", f"{i}.0")
        assert target is not None
        verdict = Verdict.CORRECT if i % 2 else Verdict.REROUTED
        await store.add_feedback(target, "U0AGENT", verdict, None if i % 2 else "Refund Request")
    report = await build_report(store, parse_arguments("7d"))
    _, blocks = report_blocks(report)
    sections = _fits_slack(blocks)

    by_category = _rows_under(sections, "*By category*\n")
    assert [row.split("  ")[0] for row in by_category] == [
        f"Product area {i:02d}: ord…, billing &amp; returns" for i in range(40)
    ]
    feedback = _rows_under(sections, "*Agent feedback*\n")
    assert feedback[0] == "All: accuracy 50% of 40 reviewed · re-routed 16.7% (20 of 120)"
    assert len(feedback) == 41
    assert not any(line.strip("`") == "…" for text in sections for line in text.splitlines())  # none cut


def test_categories_beyond_what_slack_can_show_are_counted_not_dropped_silently() -> None:
    names = [f"Category number {i:04d} with a long name & more" for i in range(1000)]
    report = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=1000,
        categories=shares(dict.fromkeys(names, 1)),
        feedback=[CategoryFeedback(category=n, routed=1, reviewed=1, correct=1, rerouted=0) for n in names],
        feedback_total=CategoryFeedback(category="All", routed=1000, reviewed=1000, correct=1000, rerouted=0),
        undelivered=1,
        kept_messages=999,
        first_day_whole=True,
        percentiles_exact=False,
        # Every other line the report can show, as many blocks as it can take beside the two lists.
        previous=Previous(start=NOW - timedelta(days=7), end=NOW, days=7, messages=900),
        acknowledgements=1,
        category_stopped={names[0]: 1},
        escalation_reasons=shares({"low_confidence": 1}),
        passed_on=1,
        withdrawn=1,
        escalations_to_pick_up=1,
        customers_waiting=1,
        customers_waiting_longest=timedelta(minutes=5),
    )
    _, blocks = report_blocks(report)
    sections = _fits_slack(blocks)
    # Nothing cut at Slack's limit of blocks: the busiest channels, and the three footnotes after them.
    assert sections[-1].startswith("*Busiest channels*")
    assert len([b for b in blocks if b["type"] == "context"]) == 1 + 3  # the period, then the footnotes
    for heading in ("*By category*\n", "*Agent feedback*\n"):
        # The list ends at its "…and K more" (a note without a heading may follow, as Closed with thanks).
        rows = _rows_under(sections, heading)
        end = next(i for i, row in enumerate(rows) if row.startswith("_…and "))
        shown, more = rows[:end], rows[end]
        left = int(more.removeprefix("_…and ").split()[0].replace(",", ""))
        assert more == f"_…and {left:,} more categories (support-router stats shows all)_"
        # every category is either shown or counted (the feedback's first line is the overall one)
        assert len(shown) + left == 1000 + (heading == "*Agent feedback*\n")
    assert _rows_under(sections, "*Agent feedback*\n")[0].startswith("All: accuracy 100% of 1,000 reviewed")


def test_long_names_that_start_alike_are_cut_in_the_middle_and_stay_apart() -> None:
    """A team's long prefix: cut at its end, thirty categories read as one row thirty times."""
    prefix = "Billing & Payments / Enterprise customers "  # 42 characters
    names = [f"{prefix}- region {i:02d}" for i in range(30)]
    counts = {name: i + 1 for i, name in enumerate(names)}
    report = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=sum(counts.values()),
        categories=shares(counts),
        feedback=[
            CategoryFeedback(category=n, routed=c, reviewed=1, correct=1, rerouted=0)
            for n, c in counts.items()
        ],
        feedback_total=CategoryFeedback(category="All", routed=465, reviewed=30, correct=30, rerouted=0),
    )
    _, blocks = report_blocks(report)
    sections = _fits_slack(blocks)
    regions = [f"region {i:02d}" for i in reversed(range(30))]  # the busiest first
    by_category = _rows_under(sections, "*By category*\n")
    shown = [f"Billing &amp; Payments /…stomers - {r}" for r in regions]
    assert [row.split("  ")[0] for row in by_category] == shown
    feedback = _rows_under(sections, "*Agent feedback*\n")[1:]
    assert [row.split(":")[0] for row in feedback] == sorted(shown)
    terminal = terminal_text(report)
    assert all(terminal.count(f"Billing & Payments /…stomers - {r} ") == 2 for r in regions)


def test_a_label_is_cut_in_the_middle_to_its_width() -> None:
    assert LABEL_WIDTH == 40
    assert cut_label("Billing & Payments / Enterprise customers - region 07") == (
        "Billing & Payments /…stomers - region 07"
    )
    assert (
        cut_label("Returns: damaged in transit - EU and UK customers")
        == "Returns: damaged in…EU and UK customers"
    )
    assert cut_label("General Question") == "General Question"
    assert cut_label("x" * LABEL_WIDTH) == "x" * LABEL_WIDTH
    assert cut_label("abcdefghij", 5) == "ab…ij" and cut_label("abcdefghij", 1) == "…"


def test_a_category_name_that_looks_like_markup_is_printed_as_it_is() -> None:
    name = "Returns [/eu] [bold]x[/bold]"
    report = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=1,
        categories=[Share(name=name, count=1, share=1.0)],
        feedback=[CategoryFeedback(category=name, routed=1, reviewed=0, correct=0, rerouted=0)],
    )
    printed = io.StringIO()
    console = Console(file=printed, width=160)
    print_report(report, console)  # rich read "[/eu]" as a closing tag and raised MarkupError
    assert printed.getvalue().count(name) == 2


def test_bars() -> None:
    assert bar(0.52) == "█████░░░░░ 52%"
    assert bar(0.0) == "░░░░░░░░░░ 0%"
    assert bar(1.0) == "██████████ 100%"


def test_a_share_that_rounds_to_none_or_all_does_not_read_as_none_or_all() -> None:
    """One message in 1,000 read "0%" beside its count, and 999 in 1,000 "100%": a manager reading the
    percentage alone took a category (or a source, a channel) for empty, or for all there is."""
    assert bar(1 / 1000) == "░░░░░░░░░░ <1%"
    assert bar(999 / 1000) == "██████████ >99%"
    report = StatsReport(
        period="7d", start=None, end=NOW, messages=1000, sources=shares({"claude": 999, "local": 1})
    )
    _, blocks = report_blocks(report)
    assert code_rows(blocks, "*Classified by*") == [
        "claude  ██████████ &gt;99%  999",  # escaped for Slack, which shows ">99%"
        "local   ░░░░░░░░░░  &lt;1%    1",
    ]
    printed = terminal_text(report)
    assert ">99%" in printed and "<1%" in printed


def test_the_shares_of_a_whole_add_up_to_100_percent_and_a_top_few_are_rounded_each() -> None:
    """34 messages in six confidence tenths read 12+6+6+6+6+65 = 101%, and three categories of one message
    each 33+33+33 = 99%: each share rounded on its own. The busiest channels, a top five, are not a whole."""
    assert whole_percents([0, 0, 4, 2, 0, 2, 0, 2, 2, 22]) == [0, 0, 12, 6, 0, 6, 0, 6, 6, 64]
    assert whole_percents([1, 1, 1]) == [34, 33, 33] and whole_percents([0, 0]) == [0, 0]
    assert bar(1 / 300, percent=0) == "░░░░░░░░░░ <1%" and bar(299 / 300, percent=100) == "██████████ >99%"
    report = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=34,
        categories=shares({"General Question": 1, "Refund Request": 1, "Technical Support": 1}),
        confidence_buckets=[0, 0, 4, 2, 0, 2, 0, 2, 2, 22],
        channels=shares({"C0000000A1": 1, "C0000000B2": 1, "C0000000C3": 1}, 3, 5),
    )
    _, blocks = report_blocks(report)
    printed = terminal_text(report)
    confidence = printed.partition("Confidence (")[2].partition("Time")[0]
    categories = printed.partition("By category")[2].partition("Confidence (")[0]
    for rows in (code_rows(blocks, "*Confidence*"), code_rows(blocks, "*By category*")):
        assert sum(int(p) for p in re.findall(r"(\d+)%", "\n".join(rows))) == 100, rows
    for text in (confidence, categories):
        assert sum(int(p) for p in re.findall(r"(\d+)%", text)) == 100, text
    channels = re.findall(r"(\d+)%", printed.partition("Busiest channels")[2])
    assert channels == ["33", "33", "33"] and str(blocks).count("33%`") == 3


def test_percentages_and_counts_line_up() -> None:
    counts = {"General Question": 1234, "Refund Request": 95, "Technical Support": 1}
    report = StatsReport(
        period="7d",
        start=None,
        end=NOW,
        messages=1330,
        categories=shares(counts),
        category_escalations={"General Question": 12, "Refund Request": 95},
    )
    _, blocks = report_blocks(report)
    assert code_rows(blocks, "*By category*") == [
        "General Question   █████████░  93%  1,234  · 12 escalated (1%)",
        "Refund Request     █░░░░░░░░░   7%     95  · 95 escalated (100%)",
        "Technical Support  ░░░░░░░░░░  &lt;1%      1  · 0 escalated (0%)",
    ]
