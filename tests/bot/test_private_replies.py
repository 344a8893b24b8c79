"""What an agent is told privately after a click goes on the response_url as a slash command's answer does,
and a refusal there is logged alike: the agent never sees that reply, and nobody else would learn of it."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.formatting import ACTION_CORRECT
from tests.bot.conftest import BotFactory
from tests.bot.test_feedback_actions import AGENT, click, press
from tests.fakes import FakeSlack


async def test_a_reply_to_an_agents_click_that_slack_refuses_is_logged(
    make_bot: BotFactory, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    slack.refuse_responses("refused")
    await press(running, event, ACTION_CORRECT, AGENT, "refused")
    deadline = time.monotonic() + 10
    while not [r for r in caplog.records if r.name == "bot.private_replies"]:
        assert time.monotonic() < deadline, "the refusal was not logged"
        await asyncio.sleep(0.01)
    [refused] = slack.refused_responses["refused"]
    assert refused["text"].startswith("Thanks: *Refund Request* is recorded as the right route")
    [warning] = [r for r in caplog.records if r.name == "bot.private_replies"]
    assert warning.levelname == "WARNING"
    assert warning.getMessage() == (
        "Slack refused a reply to an agent's click on its response_url (HTTP 404: expired_url)"
    )
    # The same click on a response_url Slack takes: the reply arrives, and nothing is logged.
    answer = await click(running, event, ACTION_CORRECT, "U0STRANGER", "taken")
    assert (
        answer["text"] == "Only support agents can use these controls."
        and answer["replace_original"] is False
    )
    assert len([r for r in caplog.records if r.name == "bot.private_replies"]) == 1
