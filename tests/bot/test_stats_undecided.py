"""Customers' messages without a decision in the report: lost (and where), left to the agents or still
being answered; a customer's DMs added up in one line, there and among the busiest channels."""

from __future__ import annotations

import io
from datetime import timedelta

from rich.console import Console

from bot.stats import build_report, parse_arguments
from bot.stats.blocks import report_blocks
from bot.stats.queries import split_period, undecided_statement
from bot.stats.terminal import print_report
from bot.store import Store
from tests.bot.report_text import section_text, terminal_text
from tests.bot.stats_samples import NOW, TEAM, decision, seed
from tests.store.plans import query_plan
from tests.store.samples import message


async def test_messages_without_a_decision_are_counted_and_the_lost_ones_named(store: Store) -> None:
    """A manager sees what the bot never answered: the lost ones first, with their channels."""
    await seed(store)
    states = [
        ("C0BILLING", "2.1", "failed"),
        ("C0BILLING", "2.2", "failed"),
        ("C0GENERAL", "2.3", "failed"),
        ("C0GENERAL", "2.4", "left"),
        ("C0GENERAL", "2.5", "pending"),
        ("C0GENERAL", "2.6", "done"),  # finished without a decision recorded: not a customer's loss here
        ("demo", "2.7", "failed"),  # the demo's and chat's own are left out, as their decisions are
    ]
    for channel, ts, state in states:
        msg = message(ts, team_id=TEAM, channel_id=channel)
        assert await store.claim(msg)
        if state == "failed":
            await store.abandon(msg, "SlackApiError: channel_not_found")
        elif state == "left":
            await store.leave_to_agents(msg)
        elif state == "done":
            await store.complete(msg, decision("General Question", 0.9, "claude", 1, 1), None)

    report = await build_report(store, parse_arguments("7d"))
    assert (report.undelivered, report.left_to_agents, report.pending, report.undecided) == (3, 1, 1, 5)
    assert [(s.name, s.count) for s in report.undelivered_channels] == [("C0BILLING", 2), ("C0GENERAL", 1)]
    assert report.messages == 5  # the four seeded and the one completed
    _, blocks = report_blocks(report)
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    section = next(text for text in sections if text.startswith("*Not answered by the bot*"))
    assert "• 3 messages could not be posted, not even as an escalation (in <#C0BILLING>, <#C0GENERAL>)" in (
        section
    )
    assert "• 1 message left to the agents" in section and "• 1 message being answered" in section

    billing = await build_report(store, parse_arguments("7d C0BILLING"))
    assert (billing.undelivered, billing.left_to_agents, billing.pending) == (2, 0, 0)
    assert (await build_report(store, parse_arguments("7d demo"))).undelivered == 1
    before = await build_report(store, parse_arguments("2020-01-01..2020-01-31"))
    assert before.undecided == 0
    _, quiet = report_blocks(before)
    assert not any("Not answered" in b["text"]["text"] for b in quiet if b["type"] == "section")
    printed = io.StringIO()
    console = Console(file=printed, width=120)
    print_report(report, console)
    assert "Not answered by the bot" in printed.getvalue()


async def test_the_lost_ones_beyond_the_channels_named_are_counted(store: Store) -> None:
    """Undelivered messages in eight channels: five are named, and the others are not left unsaid."""
    await seed(store)
    for i in range(8):
        msg = message(f"3.{i}", team_id=TEAM, channel_id=f"C0LOST{i:03d}")
        assert await store.claim(msg)
        await store.abandon(msg, "SlackApiError: channel_not_found")
    report = await build_report(store, parse_arguments("7d"))
    assert (report.undelivered, report.undelivered_more_channels) == (8, 3)
    _, blocks = report_blocks(report)
    linked = ", ".join(f"<#C0LOST{i:03d}>" for i in range(5))
    assert (
        f"• 8 messages could not be posted, not even as an escalation (in {linked} and 3 more channels)"
    ) in section_text(blocks, "*Not answered by the bot*")
    named = ", ".join(f"C0LOST{i:03d}" for i in range(5))
    assert f"(in {named} and 3 more channels)" in terminal_text(report)


async def test_messages_without_a_decision_are_found_by_state_not_through_every_claim(store: Store) -> None:
    """Nearly every claim is done: the report reads the few others through an index on the state."""
    plan = await query_plan(store, undecided_statement(split_period(NOW - timedelta(days=7), NOW)))
    assert "ix_inbound_messages_state_" in plan, plan


async def test_direct_messages_are_one_line_of_busiest_channels_and_of_the_lost_ones(store: Store) -> None:
    """Each customer's DM is a channel of its own: a manager sees them added up, not <#D…> links."""
    for i in range(30):  # 30 customers writing to the bot in DMs, 2 messages each
        for j in range(2):
            await store.record(
                decision("Refund Request", 0.9, "claude", 10, 10),
                team_id=TEAM,
                channel_id=f"D0CUST{i:03d}",
                user_id=f"U{i}",
                message_ts=f"{i}.{j}",
            )
    for j in range(10):
        await store.record(
            decision("Refund Request", 0.9, "claude", 10, 10),
            team_id=TEAM,
            channel_id="C0SUPPORT",
            user_id="U9",
            message_ts=f"99.{j}",
        )
    for channel, ts in (("D0CUST001", "5.1"), ("D0CUST002", "5.2"), ("C0SUPPORT", "5.3")):
        msg = message(ts, team_id=TEAM, channel_id=channel)
        assert await store.claim(msg)
        await store.abandon(msg, "SlackApiError: channel_not_found")

    report = await build_report(store, parse_arguments("7d"))
    _, blocks = report_blocks(report)
    assert section_text(blocks, "*Busiest channels*").splitlines()[1:] == [
        "Direct messages (30 customers)  `█████████░ 86%`  60",
        "<#C0SUPPORT>  `█░░░░░░░░░ 14%`  10",
    ]
    assert (
        "could not be posted, not even as an escalation (in Direct messages (2 customers), <#C0SUPPORT>)"
        in (section_text(blocks, "*Not answered by the bot*"))
    )
    terminal = terminal_text(report)
    assert "Direct messages (30 customers)" in terminal and "D0CUST" not in terminal
    assert "(in Direct messages (2 customers), C0SUPPORT)" in terminal

    one = await build_report(store, parse_arguments("7d D0CUST007"))
    assert [(s.name, s.count) for s in one.channels] == [("Direct messages (1 customer)", 2)]
