"""What an agent pressing a control under a DM's notice is told privately names the customer's
conversation as what it is, a DM, not a thread of theirs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.formatting import ACTION_HAND_BACK, ACTION_REROUTE
from tests.bot.conftest import BotFactory
from tests.bot.harness import RunningBot
from tests.bot.test_dm_escalations import OTHER_AGENT, escalated_dm, notices
from tests.bot.test_feedback_actions import press
from tests.bot.test_handoffs import AGENT, AGENTS_CHANNEL, bot_free_again
from tests.fakes import FakeAnthropic, FakeSlack


async def clicked_under_notice(
    running: RunningBot, event: dict[str, Any], action: str, user: str, name: str, category: str | None = None
) -> str:
    """Press ``action`` under the DM's notice as ``user``; returns what they are told privately."""
    await press(
        running, event, action, user, name, category, notice=(AGENTS_CHANNEL, notices(running.slack)[0])
    )
    deadline = time.monotonic() + 10
    while not running.slack.responses.get(name):
        assert time.monotonic() < deadline, "no private answer to the click"
        await asyncio.sleep(0.01)
    return str(running.slack.responses[name][0]["text"])


async def test_a_hand_back_pressed_again_under_a_dms_notice_says_this_conversation(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    event, notice_ts = await escalated_dm(running, anthropic_api)
    await running.customer_says("I'll DM them", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=notice_ts)
    await running.idle()
    await press(running, event, ACTION_HAND_BACK, AGENT, "hb", notice=(AGENTS_CHANNEL, notices(slack)[0]))
    await bot_free_again(running, event)
    told = await clicked_under_notice(running, event, ACTION_HAND_BACK, AGENT, "again")
    assert told == "The bot is already answering in this conversation: there is nothing to hand back."


async def test_a_re_route_of_a_dm_another_agent_has_says_they_handle_this_conversation(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT], escalation_channel=AGENTS_CHANNEL)
    event, notice_ts = await escalated_dm(running, anthropic_api)
    await running.customer_says("I'll DM them", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=notice_ts)
    await running.idle()
    told = await clicked_under_notice(running, event, ACTION_REROUTE, OTHER_AGENT, "rr", "General Question")
    assert f"<@{AGENT}> is handling this conversation, so the bot does not answer in it" in told
    assert "thread" not in told
