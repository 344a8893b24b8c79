"""Claude failing at random during a burst: every message still gets one outcome and one recorded decision."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.clients import anthropic_client
from tests.bot.harness import CHANNEL, make_settings
from tests.fakes import FAULT_KINDS, FakeAnthropic, FakeSlack
from tests.reliability.helpers import eventually, outcomes, pending_count, rows, unhandled_errors

AGENT = "U0AGENT"
BURST = 200
QUESTIONS = [
    "I was charged twice for my order, can I get my money back?",
    "The app crashes every time I open the settings page",
    "Do you deliver to Canada?",
    "I forgot my password and the reset email never arrives",
    "What time do you open on Saturdays?",
]
ERROR_REASONS = {"classifier_error", "handler_error"}


async def test_a_burst_with_thirty_percent_claude_faults_leaves_no_message_without_one_outcome(
    make_bot,
    slack: FakeSlack,
    anthropic_api: FakeAnthropic,
    claude_routes: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    anthropic_api.hang_seconds = 8.0  # a "timeout" fault outlasts the client's timeout below
    anthropic_api.set_fault_rate(0.3, FAULT_KINDS, seed=6)
    running = await make_bot(
        routes_file=claude_routes,
        agent_users=[AGENT],
        anthropic_max_retries=1,  # the SDK's own retry, honouring retry-after, is part of the test
        # Long enough that on a loaded machine only the "timeout" faults time out: which messages end
        # answered must not depend on how busy the machine is.
        anthropic_timeout=5.0,
        max_concurrency=64,
    )
    events = await asyncio.gather(
        *(running.customer_says(f"{QUESTIONS[i % len(QUESTIONS)]} (order {i})") for i in range(BURST))
    )

    async def settled() -> bool:
        return len(await rows(running.store)) == BURST and await pending_count(running.store) == 0

    await eventually(settled, f"{BURST} decisions recorded and nothing pending")
    await running.idle()

    decisions = {row["message_ts"]: row for row in await rows(running.store)}
    assert sorted(decisions) == sorted(e["ts"] for e in events)  # one decision per message, none extra
    for event in events:
        [reply] = outcomes(slack, CHANNEL, event["ts"])  # exactly one answer or escalation
        decision = decisions[event["ts"]]
        if decision["escalated"]:
            assert f"<@{AGENT}>" in reply["text"]
        else:
            assert "Answer" in reply["text"] and decision["answer"]
        if decision["escalation_reason"] in ERROR_REASONS:
            assert decision["error"], decision
    served = {kind.removeprefix("fault:") for kind in anthropic_api.counters if kind.startswith("fault:")}
    assert served == set(FAULT_KINDS)  # every kind of fault was really served during the burst
    assert sum(d["escalation_reason"] in ERROR_REASONS for d in decisions.values()) > 0
    assert sum(not d["escalated"] for d in decisions.values()) > BURST / 3  # most still answered
    assert unhandled_errors(caplog) == []


def test_the_sdk_retries_and_timeout_are_the_settings(slack: FakeSlack, anthropic_api: FakeAnthropic) -> None:
    settings = make_settings(
        slack, anthropic_api, "sqlite://", anthropic_max_retries=4, anthropic_timeout=12.5
    )
    client = anthropic_client(settings)
    assert client is not None
    assert client.max_retries == 4
    assert client.timeout == 12.5


@pytest.mark.parametrize(("retries", "recovered"), [(0, False), (2, True)])
async def test_a_transient_overload_is_retried_as_many_times_as_the_setting_says(
    make_bot,
    slack: FakeSlack,
    anthropic_api: FakeAnthropic,
    claude_routes: Path,
    retries: int,
    recovered: bool,
) -> None:
    running = await make_bot(routes_file=claude_routes, anthropic_max_retries=retries)
    anthropic_api.fail_next("529", count=2, only="classify")
    event = await running.customer_says("I was charged twice for my order")
    await eventually(lambda: outcomes(slack, CHANNEL, event["ts"]), "an outcome")
    await running.idle()
    [decision] = await rows(running.store)
    assert anthropic_api.counters["classify"] == (3 if recovered else 1)
    if recovered:
        assert decision["source"] == "claude" and decision["error"] is None
    else:
        assert decision["source"] == "fallback" and decision["escalated"] and "529" in decision["error"]
