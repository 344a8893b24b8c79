"""The report's reply time is the customer's wait, through the real app: a failed post and its retry
count there, not in the router's total."""

from __future__ import annotations

import asyncio
import time

from bot.stats import build_report, parse_arguments
from tests.bot.conftest import BotFactory
from tests.fakes import FakeSlack

RETRY_SECONDS = 1.0


async def test_a_reply_delayed_by_a_failed_post_shows_in_the_reply_time_not_in_total(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    running = await make_bot(slack_streaming="off", retry_attempts=3, retry_base_seconds=RETRY_SECONDS)
    running._ts = time.time() - 1  # the customer's message gets a ts of now, as Slack's would be
    slack.fail_next("chat.postMessage", error="fatal_error", count=1)
    event = await running.customer_says("How do I reset my password?")
    for _ in range(400):
        if running.replies(event):
            break
        await running.idle()
        await asyncio.sleep(0.05)
    await running.idle()  # the reply is posted before its decision is recorded
    assert len(running.replies(event)) == 1

    report = await build_report(running.store, parse_arguments("24h"))
    assert (report.messages, report.reply.count) == (1, 1)
    assert report.total.p95_ms is not None and report.reply.p95_ms is not None
    assert report.reply.p95_ms >= RETRY_SECONDS * 1000  # the back-off before the second attempt
    assert report.total.p95_ms < RETRY_SECONDS * 1000  # the router's time: one attempt, no posting
    assert report.reply.average_ms == report.reply.p50_ms == report.reply.p95_ms
