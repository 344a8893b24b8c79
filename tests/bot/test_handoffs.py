"""Who speaks in a thread, and when the bot steps aside: agents taking over, handing back, re-routing,
escalations agents can actually see, and the context Claude is given about everyone in the thread."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot import agents
from bot import app as app_module
from bot.control_replies import NOTHING_TO_HAND_BACK
from bot.formatting import ACTION_CORRECT, ACTION_HAND_BACK, ACTION_REROUTE
from bot.stats import build_report, parse_arguments
from router.handlers import CUT_OFF_NOTE
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, CUSTOMER, RunningBot
from tests.bot.test_feedback_actions import click, press, replies_count
from tests.fakes import FakeAnthropic, FakeSlack
from tests.fakes.slack_signing import (
    app_mention_event,
    event_callback,
    message_event,
)
from tests.reliability.helpers import eventually, rows

AGENT = "U0AGENT"
AGENTS_CHANNEL = "C0AGENTS"


def unsure(text: str, categories: list[str]) -> dict[str, Any]:
    return {"category": "Refund Request", "confidence": 0.4, "reasoning": "unsure", "wants_human": False}


def sure(text: str, categories: list[str]) -> dict[str, Any]:
    return {"category": "Refund Request", "confidence": 0.95, "reasoning": "refund", "wants_human": False}


async def bot_free_again(running: RunningBot, event: dict[str, Any]) -> None:
    """Wait until the bot may answer in ``event``'s thread again (after a hand-back or a re-route)."""
    deadline = time.monotonic() + 10
    while True:
        thread = await running.store.get_thread(running.slack.team_id, event["channel"], event["ts"])
        if thread is not None and not thread.bot_silent:
            return
        assert time.monotonic() < deadline, f"the thread stays silent: {thread}"
        await asyncio.sleep(0.01)


async def hand_back(running: RunningBot, event: dict[str, Any]) -> None:
    """An agent presses Hand back under the bot's first reply; returns once the bot is free."""
    await press(running, event, ACTION_HAND_BACK, AGENT, "hand back")
    await bot_free_again(running, event)


async def escalate(
    running: RunningBot, anthropic_api: FakeAnthropic, text: str = "hmm, about that thing from before"
) -> dict[str, Any]:
    """A customer's message in the channel that the classifier is unsure of, escalated; returns its event."""
    anthropic_api.classify_fn = unsure
    event = await running.customer_says(text)
    await running.idle()
    assert len(running.replies(event)) == 1  # the escalation
    return event


async def taken_over(
    running: RunningBot,
    anthropic_api: FakeAnthropic,
    reply: str = "Hi! Which order is this about?",
    text: str = "hmm, about that thing from before",
) -> dict[str, Any]:
    """An escalated thread that an agent (``AGENT``) has replied in, ``reply``, taking it over: how agents
    take most threads up. Returns the customer's event."""
    event = await escalate(running, anthropic_api, text)
    await running.customer_says(reply, user=AGENT, thread_ts=event["ts"])
    await running.idle()
    return event


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The clock the directory's user group cache reads (``clock[0] += s`` lets ``s`` seconds pass)."""
    now = [1000.0]
    monkeypatch.setattr(agents, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


def lookups(slack: FakeSlack) -> list[bool]:
    """Whether each usergroups.users.list call so far succeeded."""
    return [call.ok for call in slack.calls_to("usergroups.users.list")]


async def test_an_agent_who_replies_before_the_first_answer_takes_the_thread_over(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.first_token_latency = 1.0
    event = await running.customer_says("How do I change my email address?")
    await asyncio.sleep(0.2)  # the bot is still waiting on Claude's answer
    await running.customer_says("I'm on it, checking your account", user=AGENT, thread_ts=event["ts"])
    await running.idle()
    anthropic_api.first_token_latency = 0.0
    await running.customer_says("thanks, it's jane@example.com", thread_ts=event["ts"])
    await running.idle()
    thread = await running.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and thread.taken_over_by == AGENT
    # The answer Claude was still writing is not posted under the agent's words: the thread is theirs.
    assert running.replies(event) == []
    report = await build_report(running.store, parse_arguments("24h"))
    assert report.escalations == 1 and {s.name: s.count for s in report.escalation_reasons} == {
        "agent_first": 1
    }
    assert report.picked_up_within["15 min"] == 1 and report.awaiting_agents == 0


async def test_an_agent_whose_reply_reaches_another_replica_still_keeps_the_answer_out(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    # Two replicas behind a load balancer, one database: the agent's message reaches the other one.
    first = await make_bot(agent_users=[AGENT])
    second = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = sure
    anthropic_api.classify_latency = 1.0
    event = await first.customer_says("hmm, about that charge from before")  # too vague to skip Claude
    await asyncio.sleep(0.2)  # the first replica is still waiting on Claude's classification
    second.next_ts()  # each harness counts its own message ts: not the customer's again
    await second.customer_says("I'm on it", user=AGENT, thread_ts=event["ts"])
    await first.idle()
    await second.idle()
    assert first.replies(event) == []


async def test_an_answer_the_agent_beat_is_not_posted_when_slack_does_not_stream(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT], slack_streaming="off")
    anthropic_api.first_token_latency = 1.0
    event = await running.customer_says("How do I change my email address?")
    await asyncio.sleep(0.2)
    await running.customer_says("I'm on it", user=AGENT, thread_ts=event["ts"])
    await running.idle()
    assert running.replies(event) == []
    [decision] = await rows(running.store)
    assert decision["escalated"] and decision["escalation_reason"] == "agent_first"
    assert decision["reply_ts"] is None and decision["output_tokens"] > 0  # its cost is on record


async def test_an_answer_the_customer_is_already_reading_is_finished_when_an_agent_writes(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.tokens_per_second = 20  # the answer takes seconds to write
    event = await running.customer_says("How do I change my email address?")
    await eventually(lambda: bool(running.replies(event)), "the answer's first words")
    await running.customer_says("I'm on it", user=AGENT, thread_ts=event["ts"])
    await running.idle()
    [reply] = running.replies(event)  # not cut off mid-sentence, and not escalated on top
    [decision] = await rows(running.store)
    assert not decision["escalated"] and decision["reply_ts"] == reply["ts"]


async def test_an_agent_asking_the_bot_a_question_of_their_own_gets_their_follow_up_answered(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    running = await make_bot(agent_users=[AGENT])
    text = f"<@{slack.bot_user_id}> what is our refund window for annual plans?"
    event = await running.customer_says(text, user=AGENT)
    await running.send(event_callback(app_mention_event(text, CHANNEL, AGENT, event["ts"])))
    await running.idle()
    assert len(running.replies(event)) == 1
    await running.customer_says("and for monthly plans?", user=AGENT, thread_ts=event["ts"])
    await running.idle()
    thread = await running.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and thread.taken_over_by is None  # their own thread, not one taken from the bot
    assert len(running.replies(event)) == 2


async def test_a_follow_up_before_the_first_answer_is_answered_too(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot()
    anthropic_api.first_token_latency = 0.5
    event = await running.customer_says("The app crashes")
    await asyncio.sleep(0.1)
    await running.customer_says("when I upload photos, version 4.2 on Android 14", thread_ts=event["ts"])
    await running.idle()
    first, second = anthropic_api.bodies("answer")
    assert "upload photos" not in str(first["messages"])
    # Answered after the first, knowing it: the bot's first answer is the assistant's turn.
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]
    assert second["messages"][1]["content"].startswith("**Answer**")
    assert "upload photos" in second["messages"][2]["content"]


async def test_a_first_message_slack_delivers_again_after_an_agent_replied_to_it_is_left_to_them(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    root = running.next_ts()
    text = "I was charged twice for my order"
    slack.add_message(CHANNEL, root, CUSTOMER, text)  # its first delivery failed: Slack sends it again
    await running.customer_says("Hi! I've refunded the second charge", user=AGENT, thread_ts=root)
    await running.idle()
    status, _ = await running.send(event_callback(message_event(text, CHANNEL, CUSTOMER, root)), retry_num=1)
    assert status == 200
    await running.idle()
    assert slack.thread_replies(CHANNEL, root) == []  # not answered under the agent's words
    assert anthropic_api.bodies("classify") == [] and anthropic_api.bodies("answer") == []
    thread = await running.store.get_thread(slack.team_id, CHANNEL, root)
    assert thread is not None and thread.taken_over_by == AGENT
    await running.customer_says("thanks, that was quick", thread_ts=root)
    await running.idle()
    assert slack.thread_replies(CHANNEL, root) == []  # the thread is the agent's
    # Delivered again with no one else in its thread, a first message is answered as ever.
    again = running.next_ts()
    slack.add_message(CHANNEL, again, CUSTOMER, "My app crashes when I open settings")
    crash = message_event("My app crashes when I open settings", CHANNEL, CUSTOMER, again)
    await running.send(event_callback(crash), retry_num=2)
    await running.idle()
    assert len(slack.thread_replies(CHANNEL, again)) == 1


async def test_a_mention_in_someone_elses_thread_is_answered_with_that_thread(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot()
    root = running.next_ts()
    slack.add_message(
        CHANNEL, root, "U0FORMS", "New ticket: the app crashes when uploading photos", bot_id="B1"
    )
    ts = running.next_ts()
    text = f"<@{slack.bot_user_id}> can you help with this?"
    slack.add_message(CHANNEL, ts, CUSTOMER, text, thread_ts=root)
    await running.send(event_callback(app_mention_event(text, CHANNEL, CUSTOMER, ts, thread_ts=root)))
    await running.idle()
    [answer] = anthropic_api.bodies("answer")
    [turn] = answer["messages"]  # the ticket and the question, both on the customer's side
    assert "[Someone else in the thread wrote:]\nNew ticket: the app crashes" in turn["content"]
    assert turn["content"].endswith("can you help with this?")


async def test_after_a_hand_back_the_agents_words_are_the_agents_not_the_customers(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await taken_over(
        running, anthropic_api, "I've refunded you $20, it shows in 3 days", "about my order"
    )
    await hand_back(running, event)
    anthropic_api.classify_fn = sure
    await running.customer_says("when exactly will I get it?", thread_ts=event["ts"])
    await running.idle()
    messages = anthropic_api.bodies("answer")[-1]["messages"]
    said_by = {m["role"]: m["content"] for m in messages if "refunded you $20" in m["content"]}
    assert list(said_by) == ["assistant"]
    assert "[A support agent wrote:]\nI've refunded you $20" in said_by["assistant"]
    # The escalation reads as what the customer was told: the agents' tags, guess and reasoning are not
    # the bot's words to the customer.
    assert "a person will follow up right here" in messages[1]["content"]
    assert not any("Best guess" in m["content"] or "@U0AGENT" in m["content"] for m in messages)


async def test_any_answered_thread_can_be_handed_back_after_an_agent_takes_it(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says("How do I change my email address?")
    await running.idle()
    answer = await click(running, event, ACTION_HAND_BACK, AGENT, "too early")
    assert answer["text"] == NOTHING_TO_HAND_BACK  # the bot is not silenced: nothing changes
    await running.customer_says("I'll take this one", user=AGENT, thread_ts=event["ts"])
    await running.customer_says("it still fails", thread_ts=event["ts"])
    await running.idle()
    assert len(running.replies(event)) == 1  # the agent's thread now
    await hand_back(running, event)
    deadline = time.monotonic() + 10
    while len(running.replies(event)) < 2:  # "… handed this thread back to the bot"
        assert time.monotonic() < deadline, "no hand-back note in the thread"
        await asyncio.sleep(0.01)
    await running.customer_says("one more question about my email", thread_ts=event["ts"])
    await running.idle()
    assert len(running.replies(event)) == 3


async def test_an_agent_who_takes_a_thread_over_is_told_privately_once_a_day(
    make_bot: BotFactory, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(app_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    running = await make_bot(agent_users=[AGENT, "U0AGENT2"])

    async def taken_over_by(agent: str) -> dict[str, Any]:
        event = await running.customer_says("How do I change my email address?")
        await running.idle()
        await running.customer_says("I'll take this one", user=agent, thread_ts=event["ts"])
        await running.idle()
        return event

    first = await taken_over_by(AGENT)
    await running.customer_says("Which email is on the account now?", user=AGENT, thread_ts=first["ts"])
    await running.idle()
    notes = slack.workspace.ephemerals
    assert [(n["user"], n["channel"], n["thread_ts"]) for n in notes] == [(AGENT, CHANNEL, first["ts"])]
    assert "stays out of this thread" in notes[0]["text"] and "*Hand back to the bot*" in notes[0]["text"]
    assert len(running.replies(first)) == 1  # the customer sees none of it: their answer alone
    await taken_over_by(AGENT)  # another thread the same day: the agent knows by now
    await taken_over_by("U0AGENT2")
    assert [n["user"] for n in slack.workspace.ephemerals] == [AGENT, "U0AGENT2"]
    now[0] += 25 * 3600
    await taken_over_by(AGENT)
    assert [n["user"] for n in slack.workspace.ephemerals] == [AGENT, "U0AGENT2", AGENT]


async def test_an_agent_answering_an_escalation_is_not_told_again_what_its_help_said(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await taken_over(running, anthropic_api)
    assert slack.workspace.ephemerals == []
    thread = await running.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and thread.taken_over_by == AGENT


async def test_a_take_over_note_slack_refuses_changes_nothing_else(
    make_bot: BotFactory, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says("How do I change my email address?")
    await running.idle()
    slack.fail_next("chat.postEphemeral", error="user_not_in_channel")
    await running.customer_says("I'll take this one", user=AGENT, thread_ts=event["ts"])
    await running.customer_says("it still fails", thread_ts=event["ts"])
    await running.idle()
    assert slack.workspace.ephemerals == [] and len(running.replies(event)) == 1  # silent all the same
    assert any("could not tell U0AGENT that the bot stepped aside" in r.getMessage() for r in caplog.records)


# Escalated, and maybe an agent said "looking into it" before re-routing: either way the agent asked the
# bot to answer, and the thread is the bot's again.
@pytest.mark.parametrize("agent_spoke", [False, True], ids=["escalated", "escalated-and-an-agent-spoke"])
async def test_re_routing_an_escalation_gives_the_thread_back_to_the_bot(
    make_bot: BotFactory, anthropic_api: FakeAnthropic, agent_spoke: bool
) -> None:
    running = await make_bot(agent_users=[AGENT])
    if agent_spoke:
        event = await taken_over(running, anthropic_api, "Looking into it, one sec")
    else:
        event = await escalate(running, anthropic_api)
    answer = await click(running, event, ACTION_REROUTE, AGENT, "reroute", "Technical Support")
    assert "its answer follows" in answer["text"]
    await replies_count(running, event, 2)
    await bot_free_again(running, event)
    anthropic_api.classify_fn = sure
    await running.customer_says("thanks, and can I get a refund too?", thread_ts=event["ts"])
    await running.idle()
    assert len(running.replies(event)) == 3


async def test_an_agent_who_writes_while_another_agents_re_route_is_answered_keeps_the_thread(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    other = "U0AGENT2"
    running = await make_bot(agent_users=[AGENT, other])
    event = await escalate(running, anthropic_api)
    anthropic_api.first_token_latency = 1.0
    click = asyncio.create_task(press(running, event, ACTION_REROUTE, AGENT, "reroute", "Technical Support"))
    await asyncio.sleep(0.4)  # the re-route's answer is being written
    await running.customer_says(
        "Hi, I'm Sam, I'll take this one. Which order?", user=other, thread_ts=event["ts"]
    )
    await click
    await running.idle()
    [escalation] = running.replies(event)  # no answer under Sam's words
    thread = await running.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and thread.taken_over_by == other and thread.bot_silent
    deadline = time.monotonic() + 10
    while len(slack.responses.get("reroute") or []) < 2:
        assert time.monotonic() < deadline, f"the agent was not told: {slack.responses.get('reroute')}"
        await asyncio.sleep(0.01)
    assert "an agent replied before the bot's answer was ready" in slack.responses["reroute"][1]["text"]
    anthropic_api.first_token_latency = 0.0
    await running.customer_says("It's order 1234", thread_ts=event["ts"])
    await running.idle()
    assert running.replies(event) == [escalation]  # Sam's customer now


async def test_a_re_route_whose_answer_cannot_be_posted_tells_the_agent(
    make_bot: BotFactory, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    slack.fail_next("chat.postMessage", status=400, count=10)
    slack.fail_next("chat.startStream", status=400, count=10)
    await click(running, event, ACTION_REROUTE, AGENT, "reroute", "Technical Support")
    deadline = time.monotonic() + 10
    while len(slack.responses.get("reroute") or []) < 2:
        assert time.monotonic() < deadline, f"the agent was not told: {slack.responses.get('reroute')}"
        await asyncio.sleep(0.01)
    told = slack.responses["reroute"][1]["text"]
    assert "could not be posted" in told and "*Technical Support*" in told
    assert len(running.replies(event)) == 1
    assert any("could not answer the re-route" in r.getMessage() for r in caplog.records)
    # Claude wrote the answer Slack refused: what it cost is on record, as an answer not given.
    _, rerouted = sorted(await rows(running.store), key=lambda row: row["id"])
    assert rerouted["source"] == "agent" and rerouted["reply_ts"] is None and rerouted["escalated"]
    assert rerouted["output_tokens"] > 0 and "could not be posted" in rerouted["error"]


async def test_an_escalation_recorded_on_a_retry_still_silences_the_thread(
    make_bot: BotFactory, anthropic_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision and the thread's state are written together: a database error between them cannot
    leave a done message in a thread the bot still thinks it may answer."""
    running = await make_bot(agent_users=[AGENT], retry_base_seconds=0.1)
    anthropic_api.classify_fn = unsure
    store = running.store
    real = store.answered_statement
    calls = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "answered_statement", flaky)
    event = await running.customer_says("hmm, about that thing from before")
    deadline = time.monotonic() + 10
    while not await store.find_decision(running.slack.team_id, event["channel"], event["ts"]):
        assert time.monotonic() < deadline, "the escalation was never recorded"
        await asyncio.sleep(0.05)
    await running.idle()
    assert len(calls) == 2
    anthropic_api.classify_fn = sure
    await running.customer_says("so can I get my refund?", thread_ts=event["ts"])
    await running.idle()
    assert len(running.replies(event)) == 1  # the escalation only: the thread is the agents'


async def test_an_agents_own_post_in_the_channel_is_not_answered(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says("Heads up team: the refunds tool is down until 3pm", user=AGENT)
    await running.idle()
    assert running.replies(event) == [] and anthropic_api.bodies("classify") == []


async def test_an_agents_own_post_is_not_answered_when_the_agents_group_is_read_only_after_it(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic, clock: list[float]
) -> None:
    """Slack could not list AGENT_USERGROUP at start. An agent's "heads up" in the support channel makes
    the intake ask again (in the background: the acknowledgement does not wait); the read it started
    decides, before anything is answered, that the post is an agent's, and it gets nothing, as it would
    had the group been known. A customer's post after it is answered as ever."""
    slack.add_usergroup("S0SUPPORT", [AGENT])
    slack.fail_next("usergroups.users.list", error="fatal_error")
    running = await make_bot(agent_usergroup="S0SUPPORT")  # reads the group at start: it fails
    clock[0] += agents.LOOKUP_RETRY_SECONDS
    post = await running.customer_says("Heads up team: the refunds tool is down until 3pm", user=AGENT)
    await running.idle()
    assert running.replies(post) == [] and anthropic_api.bodies("classify") == []
    assert lookups(slack) == [False, True]
    question = await running.customer_says("How do I change my email address?")
    await running.idle()
    assert len(running.replies(question)) == 1
    report = await build_report(running.store, parse_arguments("24h"))
    assert report.messages == 1  # the agent's post is no customer message, answered or left


async def test_an_escalation_does_not_show_the_customer_internal_errors(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.fail_next("529", count=5, only="classify")
    anthropic_api.classify_fn = unsure
    event = await running.customer_says("hmm, about that thing from before")
    await running.idle()
    [reply] = running.replies(event)
    assert f"<@{AGENT}>" in reply["text"] and "classification failed" in reply["text"]
    assert "Overloaded" not in reply["text"] and "529" not in reply["text"]


async def test_a_channel_shared_with_the_customers_organisation_still_hands_over(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    running = await make_bot(agent_users=[AGENT])
    # Slack Connect: the customer's event carries their own team; the agent is in ours.
    event = await running.customer_says("How do I change my email address?", team="T0THEIRORG")
    await running.idle()
    await running.customer_says("I'll take this one", user=AGENT, thread_ts=event["ts"])
    await running.customer_says("thanks, it still fails", thread_ts=event["ts"], team="T0THEIRORG")
    await running.idle()
    assert len(running.replies(event)) == 1
    answer = await click(running, event, ACTION_CORRECT, AGENT, "correct")
    assert "recorded as the right route" in answer["text"]


async def test_an_escalated_direct_message_reaches_the_agents_in_their_channel(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    anthropic_api.classify_fn = unsure
    event = await running.customer_says("about my order <!here>", channel="D0DM", channel_type="im")
    await running.idle()
    [note] = running.replies(event)
    assert "get in touch with you directly" in note["text"] and f"<@{AGENT}>" not in note["text"]
    [notice] = [c.params for c in slack.calls_to("chat.postMessage") if c.params["channel"] == AGENTS_CHANNEL]
    assert f"<@{AGENT}>" in notice["text"] and f"<@{CUSTOMER}>" in notice["text"]
    assert "> about my order" in notice["text"] and "<!here>" not in notice["text"]
    guide = next(b for b in notice["blocks"] if b["type"] == "context")["elements"][0]["text"]
    assert "answer them in the DM" in guide and "*Hand back to the bot*" in guide
    # The notice's controls act on the DM: hand back from the agents' channel frees the DM thread.
    [posted] = [m for m in slack.messages(AGENTS_CHANNEL) if m.get("user") == slack.bot_user_id]
    await press(running, event, ACTION_HAND_BACK, AGENT, "hb", notice=(AGENTS_CHANNEL, posted))
    deadline = time.monotonic() + 10
    while len(running.replies(event)) < 2 or not slack.thread_replies(AGENTS_CHANNEL, posted["ts"]):
        assert time.monotonic() < deadline, "the hand-back note never reached the DM and the agents"
        await asyncio.sleep(0.01)
    thread = await running.store.get_thread(slack.team_id, "D0DM", event["ts"])
    assert thread is not None and not thread.bot_silent
    # The customer, who never saw the agent in their DM, is told in their words, as a re-route tells them.
    assert running.replies(event)[-1]["text"] == (
        "A member of our support team handed this conversation back to me: I will answer your next message."
    )
    # The other agents read it where they were told of the DM: under its notice.
    told = slack.thread_replies(AGENTS_CHANNEL, posted["ts"])[-1]["text"]
    assert (
        told
        == f"<@{AGENT}> handed this conversation back to the bot; it will answer the customer's next message."
    )


async def test_a_re_route_chosen_under_a_dms_notice_is_told_there_with_the_answer(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """The agents cannot read the DM the answer went to: under the notice they were tagged in, the
    escalation would stay open for all they can see, and another of them write to the customer."""
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    anthropic_api.classify_fn = unsure
    event = await running.customer_says("about my order, it never came", channel="D0DM", channel_type="im")
    await running.idle()
    [posted] = [m for m in slack.messages(AGENTS_CHANNEL) if m.get("user") == slack.bot_user_id]
    notice = (AGENTS_CHANNEL, posted)
    await press(running, event, ACTION_REROUTE, AGENT, "rr", "Technical Support", notice=notice)
    deadline = time.monotonic() + 10
    while not slack.thread_replies(AGENTS_CHANNEL, posted["ts"]):
        assert time.monotonic() < deadline, "the agents were not told under the notice"
        await asyncio.sleep(0.01)
    await running.idle()
    assert len(running.replies(event)) == 2  # the customer's note, then the answer
    [told] = slack.thread_replies(AGENTS_CHANNEL, posted["ts"])
    assert told["text"].startswith(f"<@{AGENT}> re-routed this conversation to *Technical Support*")
    assert "> *Answer* from You are a technical support" in told["text"]
    assert slack.responses["rr"][0]["text"].endswith("its answer follows in the customer's DM.")


async def test_what_a_customer_adds_under_an_escalated_dm_reaches_the_agents_with_the_conversation(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    anthropic_api.classify_fn = sure  # the added detail alone would be answered: it must not be
    anthropic_api.fail_next("500", only="answer")  # the first message escalates
    first = await running.customer_says(
        "The app crashes when I upload photos", channel="D0DM", channel_type="im"
    )
    await running.idle()
    await running.customer_says(
        "it's order 1234, call me on 555-0100", channel="D0DM", channel_type="im", thread_ts=first["ts"]
    )
    await running.idle()
    notices = [c.params for c in slack.calls_to("chat.postMessage") if c.params["channel"] == AGENTS_CHANNEL]
    assert len(notices) == 2 and "> it's order 1234, call me on 555-0100" in notices[1]["text"]
    # With what came before, so that the agent need not ask the customer to repeat it.
    assert "Earlier in the conversation" in notices[1]["text"] and "upload photos" in notices[1]["text"]
    assert "already with a person" in notices[1]["text"]
    assert len(anthropic_api.bodies("answer")) == 1  # the first message's failed attempt alone
    _first_note, second_note = running.replies(first)
    assert "get in touch with you directly" in second_note["text"]
    # A thank-you under it pages nobody.
    await running.customer_says("ok thanks!", channel="D0DM", channel_type="im", thread_ts=first["ts"])
    await running.idle()
    assert len([c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == AGENTS_CHANNEL]) == 2
    assert running.replies(first)[-1]["text"].startswith("You're welcome")


async def test_a_dm_is_not_quoted_in_a_support_channel_customers_read(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    # One support channel and no ESCALATION_CHANNEL: agents are told there, without the private words.
    running = await make_bot(agent_users=[AGENT], support_channels=[CHANNEL])
    anthropic_api.classify_fn = unsure
    secret = "my account jane.doe@example.com was charged twice, call me on +44 7700 900123"
    await running.customer_says(secret, channel="D0DM", channel_type="im")
    await running.idle()
    [notice] = [
        c.params["text"] for c in slack.calls_to("chat.postMessage") if c.params["channel"] == CHANNEL
    ]
    assert f"<@{AGENT}>" in notice and f"<@{CUSTOMER}>" in notice and "ESCALATION_CHANNEL" in notice
    assert "jane.doe" not in notice and "7700" not in notice and "unsure" not in notice  # nor the reasoning


async def test_answers_in_a_dm_carry_no_agent_controls(running: RunningBot) -> None:
    # Only the customer sees a DM: the buttons would be theirs to press.
    event = await running.customer_says("How do I reset my password?", channel="D0DM", channel_type="im")
    await running.idle()
    [reply] = running.replies(event)
    assert "actions" not in [block["type"] for block in reply["blocks"]]


async def test_without_an_agents_channel_a_dm_escalation_stays_in_the_dm(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """With no channel to announce it in, the escalation stays in the DM, which no agent can see: it
    carries no Route is correct, Re-route to… or Hand back to the bot, nor the line telling agents how to
    use them, which were the customer's alone to read and press (and be refused), as the answers' are not."""
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = unsure
    event = await running.customer_says("about my order", channel="D0DM", channel_type="im")
    await running.idle()
    [reply] = running.replies(event)
    assert f"<@{AGENT}>" in reply["text"]
    assert {c.params["channel"] for c in slack.calls_to("chat.postMessage")} == {"D0DM"}
    assert "actions" not in [block["type"] for block in reply["blocks"]]
    assert "Re-route to" not in str(reply["blocks"])


async def test_the_next_dm_is_answered_knowing_what_the_customer_was_told_not_what_the_agents_were(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])  # no agents' channel: the escalation is in the DM
    anthropic_api.classify_fn = lambda text, categories: {
        "category": "Refund Request",
        "confidence": 0.4,
        "reasoning": "An internal guess about the order",
        "wants_human": False,
    }
    await running.customer_says("about my order", channel="D0DM", channel_type="im")
    await running.idle()
    anthropic_api.classify_fn = sure
    await running.customer_says("How do I reset my password?", channel="D0DM", channel_type="im")
    await running.idle()
    history = str(anthropic_api.bodies("answer")[-1]["messages"])
    assert "a person" in history  # what the customer read: someone will follow up
    assert "internal guess" not in history and AGENT not in history


async def test_a_half_answer_says_it_was_interrupted_above_the_escalation(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.answer_fn = lambda body: (
        "1. Open Settings. 2. Choose Reset password. 3. Never delete your account"
    )
    anthropic_api.fail_next("stream_break", only="answer")
    event = await running.customer_says("I can't log in, the reset link doesn't work")
    await running.idle()
    half, escalation = running.replies(event)
    assert half["text"].rstrip().endswith("_…this answer was interrupted before it was finished._")
    assert f"<@{AGENT}>" in escalation["text"]


async def test_a_half_answer_cut_inside_a_code_block_closes_it_before_saying_so(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    steps = "\n".join(f"sudo step-{i:02d}" for i in range(30))
    anthropic_api.answer_fn = lambda body: f"Run these:\n\n```bash\n{steps}\n```\n\nThen reboot."
    anthropic_api.fail_next("stream_break", only="answer")
    event = await running.customer_says("How do I reinstall the app on Linux?")
    await running.idle()
    half, _ = running.replies(event)
    code, note = half["text"].rsplit("```", 1)  # the note follows a fence that closes the block
    assert code.count("```") == 1 and note.strip() == "_…this answer was interrupted before it was finished._"


async def test_a_half_answer_whose_escalation_failed_is_not_taken_for_the_reply(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT], retry_base_seconds=0.1)
    anthropic_api.fail_next("stream_break", only="answer")  # the answer breaks off: escalate
    slack.fail_next("chat.postMessage", status=500)  # and the escalation cannot be posted
    event = await running.customer_says("The app crashes when I upload photos")
    deadline = time.monotonic() + 20
    while not (await running.store.find_decision(slack.team_id, CHANNEL, event["ts"])):
        assert time.monotonic() < deadline, "the message was never finished"
        await asyncio.sleep(0.05)
    await running.idle()
    [reply] = running.replies(event)  # the half answer was removed; one whole outcome remains
    assert not reply["metadata"]["event_payload"].get("partial")
    assert slack.calls_to("chat.delete")


async def test_a_new_message_in_a_dm_is_answered_with_the_conversation_so_far(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    # Customers in a DM write on at the top level, not in the bot's threads.
    running = await make_bot()
    first = await running.customer_says(
        "The app crashes when I upload photos", channel="D0DM", channel_type="im"
    )
    await running.idle()
    [reply] = running.replies(first)
    await running.customer_says("It's version 4.2 on Android 14", channel="D0DM", channel_type="im")
    await running.idle()
    messages = anthropic_api.bodies("answer")[-1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"] == "The app crashes when I upload photos"
    assert messages[1]["content"] == reply["text"]
    assert messages[2]["content"].endswith("It's version 4.2 on Android 14")
    # A message in a channel does not read the channel's other conversations.
    await running.customer_says("How do I reset my password?")
    await running.idle()
    assert len(anthropic_api.bodies("answer")[-1]["messages"]) == 1


SCREENSHOT: dict[str, Any] = {"subtype": "file_share", "files": [{"id": "F0SHOT", "name": "screenshot.png"}]}


async def test_an_agent_sharing_only_a_file_in_a_bot_thread_takes_it_over(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = sure
    event = await running.customer_says("I want my money back for order 1234")
    await running.idle()
    await running.customer_says("", user=AGENT, thread_ts=event["ts"], **SCREENSHOT)
    await running.idle()
    await running.customer_says("so when do I get it?", thread_ts=event["ts"])
    await running.idle()
    thread = await running.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and thread.taken_over_by == AGENT
    assert len(running.replies(event)) == 1
    assert len(anthropic_api.bodies("answer")) == 1


async def test_a_customers_file_without_words_goes_to_a_person_without_asking_claude(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = sure
    event = await running.customer_says("The app crashes when I open settings")
    await running.idle()
    calls = len(anthropic_api.bodies())
    await running.customer_says("", thread_ts=event["ts"], **SCREENSHOT)
    await running.idle()
    assert len(anthropic_api.bodies()) == calls
    _answer, notice = running.replies(event)
    assert f"<@{AGENT}>" in notice["text"] and "cannot read" in notice["text"]
    thread = await running.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and thread.escalated
    # No route to confirm (the category is a stand-in), none to answer again (no words): hand back alone.
    [controls] = [b for b in notice["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in controls["elements"]] == [ACTION_HAND_BACK]


async def test_claude_is_told_of_a_screenshot_sent_with_words(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = sure
    await running.customer_says("Here is the error I get when I open the app", **SCREENSHOT)
    await running.idle()
    [answer] = anthropic_api.bodies("answer")
    assert answer["messages"][-1]["content"].endswith("[Attached, which the bot cannot open: screenshot.png]")


async def test_a_file_alone_in_a_dm_is_announced_to_the_agents_as_such(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    await running.customer_says("", channel="D0DM", channel_type="im", **SCREENSHOT)
    await running.idle()
    assert anthropic_api.bodies() == []
    [notice] = [c.params for c in slack.calls_to("chat.postMessage") if c.params["channel"] == AGENTS_CHANNEL]
    assert f"<@{CUSTOMER}>" in notice["text"] and "only a file" in notice["text"]
    assert "cannot read" in notice["text"]  # the reason, in words


async def test_a_customer_from_another_organisation_gets_the_stream_and_our_agents_get_the_thread(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """A Slack Connect channel: the customer's events name their workspace, the agents' name ours."""
    running = await make_bot(agent_users=[AGENT], slack_streaming="on")
    anthropic_api.classify_fn = sure
    theirs, customer, ts = "T0THEIRS", "U0EXTERNAL", running.next_ts()
    text = "I'd like a refund for order 1234"
    slack.add_message(CHANNEL, ts, customer, text)
    event = message_event(text, CHANNEL, customer, ts, team=theirs, user_team=theirs, source_team=theirs)
    body = event_callback(event, team_id=theirs) | {"is_ext_shared_channel": True}
    body["authorizations"][0]["team_id"] = slack.team_id
    assert (await running.send(body))[0] == 200
    await running.idle()
    [start] = [call.params for call in slack.calls_to("chat.startStream")]
    assert (start["recipient_user_id"], start["recipient_team_id"]) == (customer, theirs)
    answer = await click(running, event, ACTION_CORRECT, AGENT, "correct")
    assert "recorded as the right route" in answer["text"]
    await running.customer_says("Looking into it now", user=AGENT, thread_ts=ts)
    await running.idle()
    thread = await running.store.get_thread(slack.team_id, CHANNEL, ts)
    assert thread is not None and thread.taken_over_by == AGENT


async def test_a_failed_agents_lookup_is_retried_soon_not_taken_for_an_empty_group(
    make_bot: BotFactory, slack: FakeSlack, clock: list[float]
) -> None:
    """Slack cannot list AGENT_USERGROUP at start: the group is read again soon after (in the background,
    never holding up Slack's acknowledgement), not taken for an empty group for the cache's five minutes;
    the agent who writes in the thread meanwhile takes it over (not answered by the bot)."""
    slack.add_usergroup("S0SUPPORT", [AGENT])
    slack.fail_next("usergroups.users.list", error="fatal_error")
    running = await make_bot(agent_usergroup="S0SUPPORT")  # reads the group at start: it fails
    event = await running.customer_says("How do I change my email address?")  # is its author an agent?
    await running.idle()
    assert lookups(slack) == [False] and len(running.replies(event)) == 1
    clock[0] += 30
    await running.customer_says("I'll take this one", user=AGENT, thread_ts=event["ts"])
    await running.customer_says("thanks, it still fails", thread_ts=event["ts"])
    await running.idle()
    assert len(running.replies(event)) == 1  # neither the agent nor the customer answered by the bot
    thread = await running.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and thread.taken_over_by == AGENT
    assert lookups(slack) == [False, True]
    assert await running.bot.directory.agent_status(AGENT, wait=False) is True


async def test_the_acknowledgement_never_waits_on_slack_for_the_agents_group(
    make_bot: BotFactory, slack: FakeSlack, clock: list[float]
) -> None:
    """The group is due for reading again and Slack is slow: a burst of deliveries is acknowledged at
    once, and the group is read once for all of them, in the background."""
    slack.add_usergroup("S0SUPPORT", [AGENT])
    running = await make_bot(agent_usergroup="S0SUPPORT")
    assert lookups(slack) == [True]
    clock[0] += agents.GROUP_CACHE_SECONDS + 1
    slack.set_latency("usergroups.users.list", 5.0)
    events = await asyncio.gather(*(running.customer_says(f"Where is my order {i}?") for i in range(20)))
    # Every delivery acknowledged while Slack has not yet answered the group's read (it takes 5 s).
    assert not [c for c in slack.calls_to("usergroups.users.list")[1:] if c.response]
    await running.idle()
    assert all(len(running.replies(e)) == 1 for e in events)
    deadline = time.monotonic() + 10
    while len(lookups(slack)) < 2:
        assert time.monotonic() < deadline, "the group was never read again"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    assert len(lookups(slack)) == 2  # one read for the twenty (it may time out: Slack is that slow here)


async def test_while_slack_cannot_say_who_the_agents_are_someone_else_in_the_thread_takes_it_over(
    make_bot: BotFactory, slack: FakeSlack, clock: list[float]
) -> None:
    """The group was never read (Slack keeps failing): a person other than the customer writing in the
    thread is taken for an agent, as with no agents configured; the bot steps aside (Hand back undoes it)."""
    running = await make_bot(agent_usergroup="S0SUPPORT")
    slack.add_usergroup("S0SUPPORT", [AGENT])
    slack.fail_next("usergroups.users.list", error="fatal_error", count=10)
    event = await running.customer_says("How do I change my email address?")
    await running.idle()
    await running.customer_says("I'll take this one", user=AGENT, thread_ts=event["ts"])
    await running.idle()
    thread = await running.store.get_thread(slack.team_id, CHANNEL, event["ts"])
    assert thread is not None and thread.taken_over_by == AGENT
    assert len(running.replies(event)) == 1


async def test_the_agents_group_is_unknown_after_a_failed_first_lookup_and_stale_after_a_later_one(
    slack: FakeSlack, clock: list[float]
) -> None:
    client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
    directory = agents.Directory(client, agent_users=["U0LISTED"], agent_usergroup="S0SUPPORT")
    slack.add_usergroup("S0SUPPORT", [AGENT])
    slack.fail_next("usergroups.users.list", error="ratelimited", count=2)
    # Never read: unknown, not "no agents"; AGENT_USERS still count.
    assert await directory.agent_status(AGENT) is None
    assert await directory.is_agent(AGENT) is False
    assert await directory.agent_status("U0LISTED") is True and await directory.is_agent("U0LISTED")
    assert lookups(slack) == [False]  # not asked again on every message while Slack fails
    clock[0] += agents.LOOKUP_RETRY_SECONDS
    assert await directory.agent_status(AGENT) is None
    clock[0] += agents.LOOKUP_RETRY_SECONDS
    assert await directory.agent_status(AGENT) is True
    assert await directory.agent_status(CUSTOMER) is False
    assert lookups(slack) == [False, False, True]
    # Read once, then failing: the members last read stay (stale beats empty), asked again soon.
    clock[0] += agents.GROUP_CACHE_SECONDS
    slack.fail_next("usergroups.users.list", error="fatal_error")
    assert await directory.is_agent(AGENT) and await directory.agent_status(AGENT) is True
    assert lookups(slack) == [False, False, True, False]
    slack.add_usergroup("S0SUPPORT", [])
    clock[0] += agents.LOOKUP_RETRY_SECONDS
    assert await directory.is_agent(AGENT) is False  # Slack answers again: the group has changed
    assert lookups(slack) == [False, False, True, False, True]


async def test_two_agents_handing_back_at_once_leave_one_note(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, "U0AGENT2"])
    event = await escalate(running, anthropic_api, "about my order")
    await asyncio.gather(
        press(running, event, ACTION_HAND_BACK, AGENT, "first"),
        press(running, event, ACTION_HAND_BACK, "U0AGENT2", "second"),
    )
    await bot_free_again(running, event)

    def told() -> list[str]:
        return [r["text"] for name in ("first", "second") for r in running.slack.responses.get(name) or []]

    deadline = time.monotonic() + 10
    while not told():
        assert time.monotonic() < deadline, "the agent whose click came second was not told"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    assert told() == [NOTHING_TO_HAND_BACK]
    notes = [r for r in running.replies(event) if "handed this thread back" in r["text"]]
    assert len(notes) == 1  # the customer reads it once


@pytest.mark.parametrize("streaming", ["on", "off"])
async def test_an_answer_cut_off_at_max_tokens_is_answered_with_the_note_not_escalated(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic, streaming: str
) -> None:
    running = await make_bot(agent_users=[AGENT], slack_streaming=streaming)
    steps = "\n".join(f"sudo step-{i:02d}" for i in range(30))
    anthropic_api.answer_fn = lambda body: f"Run these:\n\n```bash\n{steps}\n```\n\nThen reboot."
    anthropic_api.fail_next("max_tokens", only="answer")  # stops inside the code block
    event = await running.customer_says("How do I reinstall the app on Linux?")
    await running.idle()
    [answer] = running.replies(event)
    assert f"<@{AGENT}>" not in answer["text"] and "sudo step-05" in answer["text"]
    code, note = answer["text"].rsplit("```", 1)  # the note follows a fence that closes the block
    assert code.count("```") == 1 and note.strip() == CUT_OFF_NOTE
