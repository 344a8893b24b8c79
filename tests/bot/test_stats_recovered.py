"""Through the real app: a reply found after a restart is a message without times or tokens, a
customer's words in a thread the bot answered are a follow-up, not a new conversation, and a thank-you
after an answer closes it, counted apart from the answers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.stats import build_report, parse_arguments
from bot.stats.blocks import report_blocks
from bot.store.errors import DatabaseError
from bot.store.tables.decisions import routing_decisions
from bot.store.tables.rollups import daily_latencies
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, RunningBot
from tests.bot.test_security_and_recovery import (
    _dead_process_store,
    _pending,
    _reply_posted,
    _until_nothing_pending,
)
from tests.fakes import FakeSlack


async def test_a_reply_recovered_after_a_restart_is_a_message_but_not_a_time_nor_a_cost(
    make_bot: BotFactory, slack: FakeSlack, bot_db_url: str
) -> None:
    # A first process claimed two messages and died, one after posting its answer but before recording it.
    store = await _dead_process_store(bot_db_url)
    unanswered = _pending(slack, "1700000100.000001", "How do I reset my password?")
    answered = _pending(slack, "1700000100.000002", "My app crashes on start")
    for msg in (unanswered, answered):
        assert await store.claim(msg, lease_seconds=1)
    _reply_posted(slack, answered, "Try reinstalling.")
    await store.close()

    running = await make_bot(slack_streaming="off")
    await _until_nothing_pending(running)
    # The customer writes again under the answer they got after the restart: a follow-up.
    await running.customer_says("It worked, but now the login page is blank", thread_ts=unanswered.ts)
    await _until_nothing_pending(running)
    assert len(slack.thread_replies(CHANNEL, unanswered.ts)) == 2

    async with running.store.reading() as conn:
        d = routing_decisions
        rows = (await conn.execute(select(d).order_by(d.c.id))).mappings().all()
    measured = [row for row in rows if row["measured"]]
    assert len(rows) == 3 and len(measured) == 2 and all(row["routing_ms"] > 0 for row in measured)
    report = await build_report(running.store, parse_arguments("24h"))
    assert (report.messages, report.conversations, report.follow_ups) == (3, 2, 1)
    assert (report.unmeasured, report.recovered) == (1, 1)
    # The router's times of the two answers it wrote, not a third of 0 ms
    assert report.routing.count == 2
    assert report.routing.average_ms == pytest.approx(sum(row["routing_ms"] for row in measured) / 2)
    assert report.total.p50_ms == pytest.approx(sum(row["total_ms"] for row in measured) / 2)
    assert report.cost_usd == pytest.approx(sum(row["cost_usd"] for row in measured)) and report.cost_usd > 0
    assert report.cost_per_message == pytest.approx(report.cost_usd / 2)
    _, blocks = report_blocks(report)
    assert "No router times on record for 1 message whose reply was found already posted" in str(blocks)


async def test_a_thank_you_after_an_answer_is_closed_with_thanks_not_an_answer_of_0_ms(
    running: RunningBot,
) -> None:
    for i in range(2):
        first = await running.customer_says(f"How do I reset my password? ({i})")
        await running.idle()
        await running.customer_says("Thanks, that fixed it!", thread_ts=first["ts"])
        await running.idle()
        assert running.replies(first)[-1]["text"].startswith("You're welcome")
    async with running.store.reading() as conn:
        d, h = routing_decisions, daily_latencies
        rows = (await conn.execute(select(d.c.acknowledgement, d.c.handling_ms).order_by(d.c.id))).all()
        histogram = await conn.scalar(select(func.sum(h.c.handling)).where(h.c.channel_id == "*"))
    assert [row.acknowledgement for row in rows] == [False, True, False, True]
    assert histogram == 2  # the two answers' handling times, not the thank-yous' stand-ins of 0 ms
    answers = [row.handling_ms for row in rows if not row.acknowledgement]
    report = await build_report(running.store, parse_arguments("24h"))
    assert (report.messages, report.follow_ups, report.acknowledgements, report.escalations) == (4, 2, 2, 0)
    assert (report.handling.count, report.handling.average_ms) == (2, pytest.approx(sum(answers) / 2))
    assert sum(s.count for s in report.categories) == 2  # "thanks" is in no category
    _, blocks = report_blocks(report)
    assert "Closed with thanks: *2*" in str(blocks)


async def test_a_thank_you_whose_reply_is_found_after_a_failure_is_still_closed_with_thanks(
    make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database fails as the acknowledgement of a thank-you is recorded: the retry finds "You're
    welcome" in the thread and records it from its metadata, which did not say it was a thank-you, so
    it was counted as an answer in the category the classifier made of "thanks"."""
    running = await make_bot(slack_streaming="off", retry_base_seconds=0.1)
    first = await running.customer_says("How do I reset my password?")
    await running.idle()
    real_complete, failures = running.store.complete, [DatabaseError("database error: connection lost")]

    async def complete_failing_once(*args: Any, **kwargs: Any) -> int:
        if failures:
            raise failures.pop()
        return await real_complete(*args, **kwargs)

    monkeypatch.setattr(running.store, "complete", complete_failing_once)
    await running.customer_says("Thanks, that fixed it!", thread_ts=first["ts"])
    await _until_nothing_pending(running)
    replies = running.replies(first)
    assert len(replies) == 2 and replies[-1]["text"].startswith("You're welcome")
    report = await build_report(running.store, parse_arguments("24h"))
    assert (report.messages, report.follow_ups, report.recovered) == (2, 1, 1)
    assert report.acknowledgements == 1
    assert sum(s.count for s in report.categories) == 1  # the question alone, not "thanks"
