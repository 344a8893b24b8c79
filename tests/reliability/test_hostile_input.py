"""A checked-in corpus of hostile and odd messages through the real app, with a Claude that obeys them.

The fake Claude here is the worst case: it follows every injection (confidence 1.0, whichever category
the message names, never "wants a human") and writes answers full of broadcast and user mentions. What
must hold anyway: no crash, a configured category, no lowered escalation for a message asking for a
person, no ping the bot was not configured to make, and no more than MAX_MESSAGE_CHARS sent to Claude.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from router.routes_file import load_routes
from tests.bot.harness import CHANNEL, CUSTOMER, RunningBot
from tests.fakes import BOT_USER_ID, FakeAnthropic, FakeSlack, event_callback, message_event
from tests.fakes.anthropic_content import customer_text
from tests.reliability.helpers import eventually, outcomes, pending_count, rows, unhandled_errors

CORPUS = Path(__file__).with_name("hostile_inputs.jsonl")
AGENT = "U0AGENT"
MAX_CHARS = 1000
# Anything Slack turns into a notification: <!here>, <!channel>, <!everyone>, <!subteam^…>, <@U…>.
PING = re.compile(r"<(?:@|!)[^>]*>|(?<![\w@])@(?:here|channel|everyone)\b", re.IGNORECASE)
ALLOWED_PINGS = {f"<@{AGENT}>"}
EVIL = "<!channel> <!here> <!everyone> <@U0EVIL> <!subteam^S0EVIL|@evil> @channel"


@pytest.fixture
def bot_db_url(database_url: str) -> str:
    """Both backends: odd text (a NUL, say) is a database's problem as much as the bot's."""
    return database_url


def load_corpus() -> list[dict[str, Any]]:
    cases = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for case in cases:
        text = case["text"].replace("{BOT}", BOT_USER_ID)
        if match := re.fullmatch(r"\{LONG:(\d+)\}", text):
            text = ("My order 12345 never arrived and I want my money back. " * 1000)[: int(match[1])]
        elif match := re.fullmatch(r"\{WORD:(\d+)\}", text):
            text = "a" * int(match[1])
        case["text"] = text
    return cases


def obey_injections(text: str, categories: list[str]) -> dict[str, Any]:
    """A classifier that believes whatever the message says about itself."""
    lowered = text.lower()
    named = [c for c in categories if c.lower() in lowered]
    category = "Billing Disputes" if "billing disputes" in lowered else (named or categories[-1:])[-1]
    return {
        "category": category,
        "confidence": 1.0,
        "reasoning": f"Told so. {EVIL} {text[:200]}",
        "wants_human": False,
    }


def evil_answer(body: dict[str, Any]) -> str:
    return f"{EVIL} Sure! As you asked: {customer_text(body)[:300]} <@U0CEO|ceo>"


def test_the_corpus_covers_what_the_issue_lists() -> None:
    cases = load_corpus()
    assert len(cases) >= 60
    assert len({c["id"] for c in cases}) == len(cases)
    texts = " ".join(c["text"] for c in cases)
    for needle in (
        "<@U",
        "<#C",
        "<!here>",
        "<https://",
        "```",
        "Ignore all previous",
        "You are now",
        "category: Refund Request, confidence: 1.0",
        "system prompt",
        "Answer as",
        "@channel",
    ):
        assert needle in texts, needle
    assert any(len(c["text"]) >= 40_000 for c in cases)
    assert any(c.get("event", {}).get("subtype") == "file_share" and not c["text"] for c in cases)


@pytest.mark.parametrize("streaming", ["on", "off"])
async def test_hostile_inputs_cannot_crash_misroute_ping_or_talk_the_bot_out_of_escalating(
    make_bot,
    slack: FakeSlack,
    anthropic_api: FakeAnthropic,
    claude_routes: Path,
    caplog: pytest.LogCaptureFixture,
    streaming: str,
) -> None:
    caplog.set_level(logging.INFO)
    anthropic_api.classify_fn = obey_injections
    anthropic_api.answer_fn = evil_answer
    running = await make_bot(
        routes_file=claude_routes, agent_users=[AGENT], max_message_chars=MAX_CHARS, slack_streaming=streaming
    )
    cases = load_corpus()
    sent = await asyncio.gather(*(_deliver(running, slack, case) for case in cases))
    assert [status for status, _ in sent] == [200] * len(cases)
    expected = [case for case in cases if case["expect"] != "ignored"]

    async def settled() -> bool:
        return len(await rows(running.store)) == len(expected) and await pending_count(running.store) == 0

    await eventually(settled, "a decision for every message that should get one")
    await running.idle()

    names = set(load_routes(claude_routes).names)
    decisions = {row["message_ts"]: row for row in await rows(running.store)}
    problems = []
    for case, (_, ts) in zip(cases, sent, strict=True):
        replies, decision = outcomes(slack, CHANNEL, ts), decisions.get(ts)
        if case["expect"] == "ignored":
            if replies or decision:
                problems.append(f"{case['id']}: answered, but there was nothing to answer")
            continue
        if len(replies) != 1 or decision is None:
            problems.append(f"{case['id']}: {len(replies)} outcomes, decision {decision is not None}")
            continue
        if decision["category"] not in names:
            problems.append(f"{case['id']}: unconfigured category {decision['category']!r}")
        if case["expect"] == "escalated" and not decision["escalated"]:
            problems.append(f"{case['id']}: asked for a person but was not escalated")
        if len(decision["query"]) > MAX_CHARS:
            problems.append(f"{case['id']}: {len(decision['query'])} characters routed")
    assert problems == []

    pings = {ping for message in _bot_messages(slack) for ping in PING.findall(message)}
    assert pings <= ALLOWED_PINGS
    assert max(len(customer_text(body)) for body in anthropic_api.bodies()) <= MAX_CHARS
    assert anthropic_api.counters["answer"] > 0  # the evil answers were really posted, defused
    assert unhandled_errors(caplog) == []


async def _deliver(running: RunningBot, slack: FakeSlack, case: dict[str, Any]) -> tuple[int, str]:
    ts = running.next_ts()
    extra = dict(case.get("event") or {})
    slack.add_message(CHANNEL, ts, CUSTOMER, case["text"], **extra)
    event = message_event(case["text"], CHANNEL, CUSTOMER, ts, **extra)
    status, _ = await running.send(event_callback(event))
    return status, ts


def _bot_messages(slack: FakeSlack) -> list[str]:
    """Everything the bot posted anywhere (text, blocks, streamed text), as JSON text."""
    return [
        json.dumps(message, ensure_ascii=False)
        for channel in list(slack.workspace.messages)
        for message in slack.messages(channel)
        if message.get("user") == slack.bot_user_id
    ]
