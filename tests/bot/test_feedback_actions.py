"""Agent controls end to end: a signed click confirms or re-routes, and the stats follow."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import yaml

from bot.formatting import ACTION_CORRECT, ACTION_REROUTE
from bot.stats import build_report, parse_arguments
from router.routes_file import default_routes_path
from tests.bot.conftest import BotFactory
from tests.bot.harness import RunningBot
from tests.bot.test_intake import FORWARD
from tests.fakes import FakeAnthropic, FakeSlack
from tests.fakes.slack_signing import block_actions_form, block_actions_payload

AGENT = "U0AGENT"


async def click(
    running: RunningBot,
    event: dict[str, Any],
    action_id: str,
    user: str,
    name: str,
    category: str | None = None,
) -> dict[str, Any]:
    """Click an agent control under the bot's first reply to ``event``; returns the private answer."""
    await press(running, event, action_id, user, name, category)
    deadline = time.monotonic() + 10
    while not running.slack.responses.get(name):
        assert time.monotonic() < deadline, "no private answer to the click"
        await asyncio.sleep(0.01)
    return running.slack.responses[name][0]


async def press(
    running: RunningBot,
    event: dict[str, Any],
    action_id: str,
    user: str,
    name: str,
    category: str | None = None,
    *,
    notice: tuple[str, dict[str, Any]] | None = None,
) -> None:
    """Send a signed click on an agent control under the bot's first reply to ``event``, or under
    ``notice`` (the agents' channel, and the DM's notice there), whose controls act on the DM."""
    channel, reply = notice or (event["channel"], running.replies(event)[0])
    key = f"{event['channel']}:{event['ts']}"
    payload = block_actions_payload(
        action_id,
        key,
        user,
        channel,
        reply["ts"],
        running.slack.response_url(name),
        block_id=f"agent_controls:{key}",
        message=reply,
        action_type="button" if category is None else "static_select",
        selected=category,
        action_ts=running.next_ts(),  # clicked after what was written so far, before what follows
    )
    status, _ = await running.send_form(block_actions_form(payload))
    assert status == 200


async def replies_count(running: RunningBot, event: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The thread's replies once ``count`` of them are there and finished (a finished reply carries its
    metadata)."""
    deadline = time.monotonic() + 10
    while not (len(replies := running.replies(event)) >= count and all("metadata" in r for r in replies)):
        assert time.monotonic() < deadline, f"expected {count} finished replies, got {replies}"
        await asyncio.sleep(0.01)
    return replies


async def answered_as(running: RunningBot, event: dict[str, Any], category: str) -> None:
    """Wait until the re-routed answer as ``category`` is recorded (after it is posted): the click's work
    is over, and the bot may stop."""
    deadline = time.monotonic() + 10
    while True:
        target = await running.store.find_decision(running.slack.team_id, event["channel"], event["ts"])
        if target is not None and target.answered_as == category:
            return
        assert time.monotonic() < deadline, f"the re-route to {category} was never recorded: {target}"
        await asyncio.sleep(0.01)


async def test_a_re_route_answers_again_with_the_new_handler_and_changes_the_stats(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    [first] = running.replies(event)
    assert first["metadata"]["event_payload"]["category"] == "Refund Request"
    before = await build_report(running.store, parse_arguments("7d"))
    assert (before.feedback_total.reviewed, before.feedback_total.rerouted) == (0, 0)

    answer = await click(running, event, ACTION_REROUTE, AGENT, "reroute", "Technical Support")
    assert "Re-routed to *Technical Support*" in answer["text"]
    assert answer["response_type"] == "ephemeral"
    replies = await replies_count(running, event, 2)
    second = replies[1]
    assert second["thread_ts"] == event["ts"]
    assert second["metadata"]["event_payload"]["category"] == "Technical Support"
    assert second["metadata"]["event_payload"]["source"] == "agent"
    # Under it, why the customer has a second answer (not "confidence 1.00").
    context = [b for b in second["blocks"] if b["type"] == "context"]
    said = context[0]["elements"][0]["text"]
    assert said == "Re-routed to *Technical Support* by a member of our support team"
    last_answer = anthropic_api.bodies("answer")[-1]
    assert "technical support specialist" in last_answer["system"][0]["text"]

    deadline = time.monotonic() + 10
    while (after := await build_report(running.store, parse_arguments("7d"))).reroutes_answered < 1:
        assert time.monotonic() < deadline, "the re-routed answer was never recorded"
        await asyncio.sleep(0.02)
    refunds = {f.category: f for f in after.feedback}["Refund Request"]
    assert (refunds.reviewed, refunds.rerouted, refunds.accuracy, refunds.reroute_rate) == (1, 1, 0.0, 1.0)
    assert after.messages == 1  # the re-route answered again, but it is the same customer message
    assert after.reroutes_answered == 1
    assert after.input_tokens > before.input_tokens

    # "Correct" on the re-routed answer confirms the re-route; it does not undo it.
    confirmed = await click(running, event, ACTION_CORRECT, AGENT, "confirm")
    assert "stays re-routed to *Technical Support*" in confirmed["text"]
    # Pressed under the replaced answer, it may mean the first route was right: the agent is told how.
    assert "If *Refund Request* was right after all, choose it in *Re-route to…*" in confirmed["text"]
    target = await running.store.find_decision(slack.team_id, event["channel"], event["ts"])
    assert target is not None
    feedback = await running.store.get_feedback(target.decision_id)
    assert feedback is not None and feedback.category == "Technical Support"


async def test_marking_a_route_correct_counts_as_accurate(running: RunningBot) -> None:
    event = await running.customer_says("My app crashes every time I open the settings page")
    await running.idle()
    answer = await click(running, event, ACTION_CORRECT, AGENT, "correct")
    assert "is recorded as the right route" in answer["text"]
    report = await build_report(running.store, parse_arguments("24h"))
    assert (
        report.feedback_total.reviewed,
        report.feedback_total.correct,
        report.feedback_total.accuracy,
    ) == (
        1,
        1,
        1.0,
    )
    assert len(running.replies(event)) == 1


async def test_someone_who_is_not_an_agent_is_told_privately_and_nothing_changes(
    make_bot: BotFactory,
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    for action, name, category in ((ACTION_CORRECT, "c", None), (ACTION_REROUTE, "r", "General Question")):
        answer = await click(running, event, action, "U0CUSTOMER", name, category)
        assert answer["text"] == "Only support agents can use these controls."
        assert answer["response_type"] == "ephemeral"
    await asyncio.sleep(0.1)
    assert len(running.replies(event)) == 1
    report = await build_report(running.store, parse_arguments("7d"))
    assert report.feedback_total.reviewed == 0


async def test_with_no_agents_configured_a_customer_cannot_judge_their_own_route(
    running: RunningBot,
) -> None:
    # Everyone in the channel acts as an agent then, except on their own conversation.
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    for action, name, category in ((ACTION_CORRECT, "c", None), (ACTION_REROUTE, "r", "General Question")):
        answer = await click(running, event, action, "U0CUSTOMER", name, category)
        assert answer["text"] == "Only support agents can use these controls."
    answer = await click(running, event, ACTION_CORRECT, "U0COLLEAGUE", "colleague")
    assert "is recorded as the right route" in answer["text"]


AGENT2 = "U0AGENT2"


def menu(reply: dict[str, Any]) -> list[str]:
    """The categories a reply's Re-route menu offers."""
    return [
        option["value"]
        for block in reply["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "static_select"
        for option in element["options"]
    ]


def unsure(text: str, categories: list[str]) -> dict[str, Any]:
    return {"category": "Refund Request", "confidence": 0.4, "reasoning": "unsure", "wants_human": False}


async def told(running: RunningBot, name: str, count: int) -> list[str]:
    """The private answers to the click ``name``, once there are ``count`` of them."""
    deadline = time.monotonic() + 10
    while len(running.slack.responses.get(name) or []) < count:
        assert time.monotonic() < deadline, f"the agent was not told: {running.slack.responses.get(name)}"
        await asyncio.sleep(0.01)
    return [r["text"] for r in running.slack.responses[name]]


async def test_an_escalation_can_be_answered_as_the_classifiers_guess(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = unsure
    event = await running.customer_says("hmm, about that charge from before")
    await running.idle()
    [escalation] = running.replies(event)
    assert "Refund Request" in menu(escalation)  # the guess is on offer: the agent agrees with it
    await click(running, event, ACTION_REROUTE, AGENT, "agree", "Refund Request")
    _escalation, answer = await replies_count(running, event, 2)
    assert answer["metadata"]["event_payload"]["category"] == "Refund Request"
    target = await running.store.find_decision(slack.team_id, event["channel"], event["ts"])
    assert target is not None
    feedback = await running.store.get_feedback(target.decision_id)
    assert feedback is not None and feedback.verdict == "correct"  # the classifier's guess was right


async def test_re_routing_back_to_the_first_category_answers_again_but_never_twice(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, AGENT2])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    # Two agents choose the same category at once: one answer.
    await asyncio.gather(
        press(running, event, ACTION_REROUTE, AGENT, "a", "Technical Support"),
        press(running, event, ACTION_REROUTE, AGENT2, "b", "Technical Support"),
    )
    await replies_count(running, event, 2)
    texts = sorted([(await told(running, "a", 1))[0], (await told(running, "b", 1))[0]])
    assert texts[0].startswith("Re-routed to *Technical Support*: its answer follows")
    assert texts[1] == "Recorded *Technical Support* as the right route; the customer has its answer already."
    await running.idle()
    assert len(running.replies(event)) == 2
    # Back to the classifier's category, from the re-routed answer's menu: its answer again.
    await click(running, event, ACTION_REROUTE, AGENT, "back", "Refund Request")
    replies = await replies_count(running, event, 3)
    assert replies[2]["metadata"]["event_payload"]["category"] == "Refund Request"


async def test_two_agents_re_routing_at_once_on_two_replicas_give_one_answer(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    # Two replicas behind a load balancer, one database: each agent's click reaches another one.
    first = await make_bot(agent_users=[AGENT, AGENT2])
    second = await make_bot(agent_users=[AGENT, AGENT2])
    event = await first.customer_says("I was charged twice for my order, I want my money back")
    await first.idle()
    anthropic_api.first_token_latency = 0.5  # both clicks land while the first re-route is answered
    await asyncio.gather(
        press(first, event, ACTION_REROUTE, AGENT, "a", "Technical Support"),
        press(second, event, ACTION_REROUTE, AGENT2, "b", "Technical Support"),
    )
    texts = sorted([(await told(first, "a", 1))[0], (await told(second, "b", 1))[0]])
    assert texts[0].startswith("Re-routed to *Technical Support*: its answer follows")
    assert texts[1] == "Recorded *Technical Support* as the right route; the customer has its answer already."
    await first.idle()
    await second.idle()
    assert len(first.replies(event)) == 2


async def test_a_re_route_is_answered_knowing_what_the_customer_forwarded(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says("can you help with this?", attachments=[FORWARD])
    await running.idle()
    await click(running, event, ACTION_REROUTE, AGENT, "reroute", "General Question")
    await answered_as(running, event, "General Question")
    rerouted = anthropic_api.bodies("answer")[-1]["messages"]
    assert "can you help with this?" in str(rerouted) and "Checkout fails with <error 502>" in str(rerouted)


async def test_a_follow_up_does_not_wait_behind_a_re_route_waiting_for_another_replica(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    running = await make_bot(agent_users=[AGENT], claim_lease_seconds=8.0)
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    target = await running.store.find_decision(slack.team_id, event["channel"], event["ts"])
    assert target is not None
    # Another replica answering its own re-route of the message holds it, until it lets go below.
    holding = await running.store.hold_answered(target.message, 600.0)
    assert holding is not None
    await press(running, event, ACTION_REROUTE, AGENT, "a", "Technical Support")
    await asyncio.sleep(0.3)  # the click waits for that hold
    follow_up = await running.customer_says("also, do you ship to Canada?", thread_ts=event["ts"])
    # Answered while the re-route still waits for the hold: not behind it.
    second = (await replies_count(running, event, 2))[1]
    assert second["metadata"]["event_payload"]["message_ts"] == follow_up["ts"]
    await running.store.release_answered(target.message, holding)
    await running.idle(20)
    assert len(running.replies(event)) == 3  # then the re-route, once it was free


async def test_a_re_route_in_a_thread_another_agent_handles_is_recorded_without_an_answer(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, AGENT2])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    await running.customer_says("Refunded the duplicate charge just now", user=AGENT, thread_ts=event["ts"])
    await running.idle()
    answer = await click(running, event, ACTION_REROUTE, AGENT2, "label", "General Question")
    assert f"<@{AGENT}> is handling this thread" in answer["text"]
    await running.idle()
    assert len(running.replies(event)) == 1
    thread = await running.store.get_thread(slack.team_id, event["channel"], event["ts"])
    assert thread is not None and thread.taken_over_by == AGENT  # still theirs
    target = await running.store.find_decision(slack.team_id, event["channel"], event["ts"])
    assert target is not None
    feedback = await running.store.get_feedback(target.decision_id)
    assert feedback is not None and feedback.category == "General Question"
    # The agent handling it says the first route was right: no re-routed answer stands, so it counts.
    confirmed = await click(running, event, ACTION_CORRECT, AGENT, "confirm")
    assert "recorded as the right route" in confirmed["text"]
    feedback = await running.store.get_feedback(target.decision_id)
    assert feedback is not None and feedback.verdict == "correct"


async def test_a_re_route_that_cannot_be_answered_tells_the_agent_alone(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    before = await build_report(running.store, parse_arguments("24h"))
    anthropic_api.fail_next("stream_break", only="answer")
    await press(running, event, ACTION_REROUTE, AGENT, "rr", "Technical Support")
    texts = await told(running, "rr", 2)
    assert "could not answer as *Technical Support* (answering failed)" in texts[1]
    await running.idle()
    assert len(running.replies(event)) == 1  # no half answer, no second tag of the whole team
    thread = await running.store.get_thread(slack.team_id, event["channel"], event["ts"])
    assert thread is not None and not thread.bot_silent
    # What the failed answer cost is on record; it is no answer, and the customer's is still the first.
    after = await build_report(running.store, parse_arguments("24h"))
    assert after.input_tokens > before.input_tokens and after.reroutes_answered == 0
    assert after.messages == before.messages == 1
    target = await running.store.find_decision(slack.team_id, event["channel"], event["ts"])
    assert target is not None and target.answered_as == "Refund Request"


async def test_while_slack_cannot_list_the_agents_group_only_agent_users_may_use_the_controls(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    slack.add_usergroup("S0SUPPORT", [AGENT])
    slack.fail_next("usergroups.users.list", error="fatal_error", count=50)
    running = await make_bot(agent_usergroup="S0SUPPORT", agent_users=["U0LEAD1"])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    # Anyone's click would re-route a customer's thread and count as an agent's verdict: held back, and
    # said so (an agent in the group is told why, not that they are no agent).
    stranger = await click(running, event, ACTION_CORRECT, "U0STRANGER", "stranger")
    assert stranger["text"].startswith("Slack cannot say right now who is in the agents' group")
    target = await running.store.find_decision(slack.team_id, event["channel"], event["ts"])
    assert target is not None and await running.store.get_feedback(target.decision_id) is None
    lead = await click(running, event, ACTION_CORRECT, "U0LEAD1", "lead")
    assert "recorded as the right route" in lead["text"]
    # The customer still cannot judge their own message.
    own = await click(running, event, ACTION_CORRECT, "U0CUSTOMER", "own")
    assert own["text"].startswith("Slack cannot say right now")


REPLACED = "[An earlier reply of ours, which a support agent has since replaced: do not repeat it.]"


async def test_a_re_route_answers_the_conversation_as_it_stands_without_repeating_the_wrong_answer(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    first = "I was charged twice for my order, I want my money back"
    event = await running.customer_says(first)
    await running.idle()
    await running.customer_says("it came after the app crashed at checkout, error 504", thread_ts=event["ts"])
    await running.idle()
    wrong, follow_up_answer = running.replies(event)

    await click(running, event, ACTION_REROUTE, AGENT, "reroute", "Technical Support")
    *_, rerouted = await replies_count(running, event, 3)
    await answered_as(running, event, "Technical Support")
    messages = anthropic_api.bodies("answer")[-1]["messages"]
    # The thread in its order, the customer's follow-up and its answer included; the replaced answer
    # marked; the re-routed message asked again last.
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[0]["content"] == first
    assert messages[1]["content"].startswith(REPLACED) and wrong["text"] in messages[1]["content"]
    assert "error 504" in messages[2]["content"]
    assert messages[3]["content"] == follow_up_answer["text"]
    assert "re-routed this message" in messages[4]["content"] and messages[4]["content"].endswith(first)

    # The customer writes on: the replaced answer stays marked, and the re-routed one keeps its place
    # after the follow-up it was written knowing.
    await running.customer_says("how long will the fix take?", thread_ts=event["ts"])
    await running.idle()
    messages = anthropic_api.bodies("answer")[-1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[1]["content"].startswith(REPLACED)
    assert messages[3]["content"] == f"{follow_up_answer['text']}\n\n{rerouted['text']}"
    assert REPLACED not in messages[3]["content"]


async def test_a_re_routed_escalation_is_answered_with_what_the_customer_added_meanwhile(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = unsure
    event = await running.customer_says("hmm, about that thing from before")
    await running.idle()
    # The thread is the agents' now: the customer's detail is not answered by the bot, but it is there.
    await running.customer_says("it's order 1234, the charge went through twice", thread_ts=event["ts"])
    await running.customer_says("Checking, one moment", user=AGENT, thread_ts=event["ts"])
    await running.idle()
    assert anthropic_api.bodies("answer") == []
    await click(running, event, ACTION_REROUTE, AGENT, "reroute", "Refund Request")
    await replies_count(running, event, 2)
    await answered_as(running, event, "Refund Request")
    [answer] = anthropic_api.bodies("answer")
    messages = answer["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[1]["content"].startswith(REPLACED)  # "a person will follow up" is not said again
    # What the customer was told, not the agents' part (their tags, the guess and its reasoning).
    assert "a person will follow up right here" in messages[1]["content"]
    assert "Best guess" not in messages[1]["content"] and "unsure" not in messages[1]["content"]
    assert messages[2]["content"] == "it's order 1234, the charge went through twice"
    assert messages[3]["content"] == "[A support agent wrote:]\nChecking, one moment"
    assert messages[4]["content"].endswith("hmm, about that thing from before")


async def test_two_agents_re_routing_to_different_categories_at_once_give_one_new_answer(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    running = await make_bot(agent_users=[AGENT, AGENT2])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    await asyncio.gather(
        press(running, event, ACTION_REROUTE, AGENT, "a", "Technical Support"),
        press(running, event, ACTION_REROUTE, AGENT2, "b", "General Question"),
    )
    _first, new = await replies_count(running, event, 2)
    category = new["metadata"]["event_payload"]["category"]
    await answered_as(running, event, category)
    texts = [*(await told(running, "a", 1)), *(await told(running, "b", 1))]
    [overtaken] = [t for t in texts if "while you chose" in t]
    assert f"re-routed this message to *{category}*" in overtaken
    assert len(running.replies(event)) == 2  # the first answer and one re-routed answer, not two
    # The verdict on record is the one the customer's answer follows.
    target = await running.store.find_decision(slack.team_id, event["channel"], event["ts"])
    assert target is not None
    feedback = await running.store.get_feedback(target.decision_id)
    assert feedback is not None and feedback.category == category


async def test_a_re_route_under_way_when_the_bot_stops_is_finished_first(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    anthropic_api.first_token_latency = 1.0  # the re-routed answer is still being written at the stop
    await press(running, event, ACTION_REROUTE, AGENT, "reroute", "Technical Support")
    await asyncio.sleep(0.2)
    await running.bot.stop()  # what serve does on SIGTERM: finish the work in flight, then close
    replies = running.replies(event)
    assert len(replies) == 2 and "metadata" in replies[1]
    target = await running.store.find_decision(running.slack.team_id, event["channel"], event["ts"])
    assert target is not None and target.answered_as == "Technical Support"


async def test_a_route_confirmed_while_another_agents_re_route_is_answered_leaves_the_re_route(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    """An agent presses Route is correct under the first answer while another agent's re-route is being
    answered: chosen without seeing the re-route, it must not overrule it (the accuracy would count as
    right a route the customer no longer has, the re-route rate would lose it), and the agent is told
    what they would have been told a moment later, once the re-routed answer was in the thread."""
    running = await make_bot(agent_users=[AGENT, AGENT2])
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    answers = anthropic_api.counters["answer"]
    anthropic_api.first_token_latency = 2.0  # the re-routed answer is still being written at the click
    await press(running, event, ACTION_REROUTE, AGENT, "reroute", "Technical Support")
    deadline = time.monotonic() + 10
    while anthropic_api.counters["answer"] == answers:
        assert time.monotonic() < deadline, "the re-route was never answered"
        await asyncio.sleep(0.01)
    await press(running, event, ACTION_CORRECT, AGENT2, "correct")
    [confirmed] = await told(running, "correct", 1)
    assert confirmed.startswith("Noted: this message stays re-routed to *Technical Support*")
    await answered_as(running, event, "Technical Support")
    target = await running.store.find_decision(running.slack.team_id, event["channel"], event["ts"])
    assert target is not None
    feedback = await running.store.get_feedback(target.decision_id)
    assert feedback is not None and (feedback.verdict, feedback.category) == ("rerouted", "Technical Support")
    report = await build_report(running.store, parse_arguments("24h"))
    assert (report.feedback_total.reviewed, report.feedback_total.rerouted) == (1, 1)


async def test_confirming_an_escalations_guess_says_the_customer_still_waits_for_a_person(
    make_bot: BotFactory, anthropic_api: FakeAnthropic
) -> None:
    """Route is correct under an escalation records the guess, and answers no one: the agent is told the
    customer still waits for a person, and how to have the bot answer as the guess instead. Once an agent
    has written in the thread, the customer is in a person's hands: the verdict alone is acknowledged."""
    running = await make_bot(agent_users=[AGENT])
    anthropic_api.classify_fn = unsure
    event = await running.customer_says("hmm, about that charge from before")
    await running.idle()
    answer = await click(running, event, ACTION_CORRECT, AGENT, "confirm")
    assert answer["text"].startswith("Thanks: *Refund Request* is recorded as the right route.")
    assert "still waits for a person" in answer["text"]
    assert "choose *Refund Request* in *Re-route to…*" in answer["text"]
    assert len(running.replies(event)) == 1  # nothing posted for the customer
    await running.customer_says("I'll sort this out for you", user=AGENT, thread_ts=event["ts"])
    await running.idle()
    again = await click(running, event, ACTION_CORRECT, AGENT, "confirm again")
    assert again["text"] == "Thanks: *Refund Request* is recorded as the right route."


async def test_a_re_routed_answer_describes_agents_as_the_routes_file_does(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    # escalation.agent_description was offered in the routes file and read nowhere: customers were told
    # "by a support agent" whatever it said.
    routes = yaml.safe_load(default_routes_path().read_text(encoding="utf-8"))
    routes["escalation"]["agent_description"] = "our care team"
    path = tmp_path / "routes.yml"
    path.write_text(yaml.safe_dump(routes), encoding="utf-8")
    running = await make_bot(agent_users=[AGENT], routes_file=path)
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    await click(running, event, ACTION_REROUTE, AGENT, "reroute", "Technical Support")
    second = (await replies_count(running, event, 2))[1]
    context = [b for b in second["blocks"] if b["type"] == "context"]
    assert context[0]["elements"][0]["text"] == "Re-routed to *Technical Support* by our care team"
