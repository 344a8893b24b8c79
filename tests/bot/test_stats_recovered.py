"""Through the real app: a reply found after a restart is a message without times or tokens, and a
customer's words in a thread the bot answered are a follow-up, not a new conversation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.stats import build_report, parse_arguments
from bot.stats.blocks import report_blocks
from bot.store.tables import routing_decisions
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL
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
