"""An escalated DM is the agents' to take up in their own channel: a reply under its notice picks it up,
nobody's reply brings it up again there, and what the customer adds follows in that notice's thread."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from sqlalchemy import select

from bot.formatting import ACTION_HAND_BACK
from bot.reply_metadata import reply_payload
from bot.stats import build_report, parse_arguments
from bot.stats.blocks import report_blocks
from bot.stats.notes import escalated_notes
from bot.stats.terminal import print_report
from bot.store.tables.decisions import routing_decisions
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, CUSTOMER, RunningBot
from tests.bot.test_feedback_actions import press
from tests.bot.test_handoffs import AGENT, AGENTS_CHANNEL, bot_free_again, sure, unsure
from tests.bot.test_reminders import later
from tests.fakes import FakeAnthropic, FakeSlack
from tests.reliability.helpers import answered_later, eventually
from tests.store.plans import query_plan

OTHER_AGENT = "U0AGENT2"
DM = "D0DM"


def notices(slack: FakeSlack) -> list[dict[str, Any]]:
    """The bot's messages in the agents' channel, in posting order (thread replies included)."""
    return [m for m in slack.messages(AGENTS_CHANNEL) if m.get("user") == slack.bot_user_id]


async def escalated_dm(running: RunningBot, anthropic_api: FakeAnthropic) -> tuple[dict[str, Any], str]:
    """A DM the classifier is unsure of; returns its event and the ts of its notice to the agents."""
    anthropic_api.classify_fn = unsure
    event = await running.customer_says("hmm, about that thing from before", channel=DM, channel_type="im")
    await running.idle()
    [notice] = notices(running.slack)
    return event, notice["ts"]


async def test_an_agents_reply_under_the_notice_takes_the_dm_up(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT], escalation_channel=AGENTS_CHANNEL)
    event, notice_ts = await escalated_dm(running, anthropic_api)
    first = notices(slack)[0]["text"]
    assert f"<@{AGENT}>" in first and f"<@{OTHER_AGENT}>" in first
    await running.customer_says("I'll DM them", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=notice_ts)
    await running.idle()
    assert len(notices(slack)) == 1 and len(anthropic_api.bodies("classify")) == 1  # no answer to an agent
    thread = await running.store.get_thread(slack.team_id, DM, event["ts"])
    assert thread is not None and thread.taken_over_by == AGENT
    assert await running.bot.reminders.remind(later(120)) == 0
    report = await build_report(running.store, parse_arguments("24h"))
    assert (report.picked_up_within["15 min"], report.awaiting_agents) == (1, 0)
    # What the customer adds then goes to that agent alone, under the notice they answered.
    anthropic_api.classify_fn = sure
    await running.customer_says("it's order 1234", channel=DM, channel_type="im", thread_ts=event["ts"])
    await running.idle()
    first_notice, follow_up = notices(slack)
    assert follow_up["thread_ts"] == notice_ts and "> it's order 1234" in follow_up["text"]
    assert f"<@{AGENT}>" in follow_up["text"] and f"<@{OTHER_AGENT}>" not in follow_up["text"]
    assert first_notice["ts"] == notice_ts


async def test_a_new_dm_from_a_customer_an_agent_took_up_goes_to_that_agent(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """A new message in the DM (not under the escalated one) is escalated again: it goes to the agent
    who has this customer, not to every agent as if nobody had."""
    running = await make_bot(agent_users=[AGENT, OTHER_AGENT], escalation_channel=AGENTS_CHANNEL)
    _event, notice_ts = await escalated_dm(running, anthropic_api)
    await running.customer_says("I'll DM them", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=notice_ts)
    await running.idle()
    await running.customer_says("also, the other parcel is missing too", channel=DM, channel_type="im")
    await running.idle()
    _first, second = notices(slack)
    assert f"<@{AGENT}>" in second["text"] and f"<@{OTHER_AGENT}>" not in second["text"]


async def test_a_dm_nobody_takes_up_is_brought_up_again_under_its_notice(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    event, notice_ts = await escalated_dm(running, anthropic_api)
    # What the customer adds meanwhile follows the notice, to everyone: nobody has taken it up.
    anthropic_api.classify_fn = sure
    await running.customer_says("it's order 1234", channel=DM, channel_type="im", thread_ts=event["ts"])
    await running.idle()
    assert [m.get("thread_ts") or m["ts"] for m in notices(slack)] == [notice_ts, notice_ts]
    reminders = running.bot.reminders
    assert await reminders.remind(later(29)) == 0
    assert await reminders.remind(later(31)) == 1
    assert await reminders.remind(later(240)) == 0
    reminder = notices(slack)[-1]
    assert reminder["thread_ts"] == notice_ts
    assert reminder["text"] == (
        f"<@{AGENT}>: <@{CUSTOMER}> has been waiting for a person for 31 minutes; no agent has replied "
        "here since. Whoever writes to them, say so in this thread."
    )
    assert all("waiting" not in m["text"] for m in running.replies(event))  # nothing of it in the DM


async def test_a_dm_escalated_again_after_a_hand_back_is_brought_up_without_denying_the_agents_reply(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """The customer's next reply under their escalated message, after an agent took them up and handed
    them back, goes to a person again: its notice and reminder follow the first notice's thread, where the
    agent's reply stands."""
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    event, notice_ts = await escalated_dm(running, anthropic_api)
    await running.customer_says("I'll DM them", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=notice_ts)
    await running.idle()
    await press(running, event, ACTION_HAND_BACK, AGENT, "hb", notice=(AGENTS_CHANNEL, notices(slack)[0]))
    await bot_free_again(running, event)
    await running.customer_says(
        "hmm, and the other one?", channel=DM, channel_type="im", thread_ts=event["ts"]
    )
    await running.idle()
    assert await running.bot.reminders.remind(later(31)) == 1
    reminder = notices(slack)[-1]
    assert reminder["thread_ts"] == notice_ts
    assert reminder["text"].endswith(
        "no agent has replied here since. Whoever writes to them, say so in this thread."
    )


async def test_a_dm_reminder_slack_posted_but_answered_503_for_is_under_the_notice_once(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    _, notice_ts = await escalated_dm(running, anthropic_api)
    slack.fail_next("chat.postMessage", status=503, channel=AGENTS_CHANNEL, after_applying=True)
    reminders = running.bot.reminders
    assert await reminders.remind(later(31)) == 0
    assert await reminders.remind(later(32)) == 0  # found under the notice, by its metadata
    assert await reminders.remind(later(240)) == 0
    [notice, reminder] = notices(slack)
    assert notice["ts"] == notice_ts and reminder["thread_ts"] == notice_ts
    assert reminder["text"].startswith(f"<@{AGENT}>: <@{CUSTOMER}> has been waiting for a person")


async def test_a_notice_in_a_support_channel_is_taken_up_there_too(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    # No agents' channel: the DM is announced (without its words) in the first support channel.
    running = await make_bot(agent_users=[AGENT], support_channels=[CHANNEL])
    anthropic_api.classify_fn = unsure
    event = await running.customer_says("my account, privately", channel=DM, channel_type="im")
    await running.idle()
    [notice] = [m for m in slack.messages(CHANNEL) if m.get("user") == slack.bot_user_id]
    await running.customer_says("on it", user=AGENT, channel=CHANNEL, thread_ts=notice["ts"])
    await running.idle()
    thread = await running.store.get_thread(slack.team_id, DM, event["ts"])
    assert thread is not None and thread.taken_over_by == AGENT
    assert slack.thread_replies(CHANNEL, notice["ts"]) == []


async def test_the_agents_channel_is_no_support_channel(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    # Every channel the bot is in is a support channel (no SUPPORT_CHANNELS), but for the agents' own.
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    event = await running.customer_says("How do refunds work for annual plans?", channel=AGENTS_CHANNEL)
    await running.idle()
    assert running.replies(event) == [] and anthropic_api.bodies("classify") == []
    # Listed in SUPPORT_CHANNELS, it is one.
    listed = await make_bot(support_channels=[AGENTS_CHANNEL], escalation_channel=AGENTS_CHANNEL)
    event = await listed.customer_says("How do refunds work for annual plans?", channel=AGENTS_CHANNEL)
    await listed.idle()
    assert len(listed.replies(event)) == 1


async def test_the_notice_of_a_reply_is_found_through_its_index(make_bot: BotFactory) -> None:
    running = await make_bot()
    statement = running.store.noticed_thread_statement("T1", AGENTS_CHANNEL, "1.2")
    assert "ix_threads_notice" in await query_plan(running.store, statement)


async def test_a_dm_escalation_whose_note_to_the_customer_failed_is_announced_once(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(
        agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL, retry_base_seconds=0.05, slack_streaming="off"
    )
    anthropic_api.classify_fn = unsure
    # The customer's note fails: the attempt fails after the notice went out.
    slack.fail_next("chat.postMessage", status=503, retry_after=0, channel=DM)
    event = await running.customer_says("hmm, about that thing", channel=DM, channel_type="im")
    await answered_later(running, event, "the customer told, on a later attempt")
    assert len(notices(slack)) == 1 and len(anthropic_api.bodies("classify")) == 1


async def test_an_agent_who_answers_a_dms_notice_while_the_customer_is_told_ends_the_wait(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(
        agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL, retry_base_seconds=1.0, slack_streaming="off"
    )
    anthropic_api.classify_fn = unsure
    # The notice goes up; the word to the customer in the DM fails, and is retried a second later.
    slack.fail_next("chat.postMessage", status=503, retry_after=0, channel=DM)
    event = await running.customer_says("hmm, about that thing", channel=DM, channel_type="im")
    await eventually(lambda: bool(notices(slack)), "the notice to the agents")
    [notice] = notices(slack)
    # The bot notes the notice once Slack has answered its post: a reply a person writes comes later.
    known = running.store.noticed_thread
    await eventually(lambda: known(slack.team_id, AGENTS_CHANNEL, notice["ts"]), "the notice noted")
    await running.customer_says("I'll DM them", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=notice["ts"])
    await answered_later(running, event, "the customer is told once Slack takes it")
    await running.idle()
    assert await running.bot.reminders.remind(later(120)) == 0
    assert len(notices(slack)) == 1
    report = await build_report(running.store, parse_arguments("24h"))
    assert report.picked_up_within["15 min"] == 1 and report.awaiting_agents == 0


async def test_a_dm_given_up_on_reaches_the_agents_with_the_conversation_so_far(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(
        agent_users=[AGENT],
        escalation_channel=AGENTS_CHANNEL,
        slack_streaming="off",
        retry_attempts=2,
        retry_base_seconds=0.05,
    )
    anthropic_api.classify_fn = sure
    await running.customer_says("The app crashes when I upload photos", channel=DM, channel_type="im")
    await running.idle()
    # The next message's answer cannot be posted in the DM, twice: it is given up on, to the agents.
    slack.fail_next("chat.postMessage", error="fatal_error", count=2, channel=DM)
    event = await running.customer_says("It's version 4.2 on Android 14", channel=DM, channel_type="im")
    await answered_later(running, event, "the give-up, after the last attempt")
    [notice] = notices(slack)
    assert "Earlier in the conversation" in notice["text"] and "upload photos" in notice["text"]
    assert "version 4.2" in notice["text"]


async def test_a_follow_up_whose_dm_reply_fails_is_told_to_the_agents_once(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(
        agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL, slack_streaming="off", retry_base_seconds=0.1
    )
    event, notice_ts = await escalated_dm(running, anthropic_api)
    # The notice of what the customer adds goes out; the customer's note in the DM does not: the next
    # attempt tells the customer, and the agents not again.
    slack.fail_next("chat.postMessage", status=503, retry_after=0, channel=DM)
    anthropic_api.classify_fn = sure
    added = await running.customer_says(
        "it's order 1234", channel=DM, channel_type="im", thread_ts=event["ts"]
    )

    def told() -> list[dict[str, Any]]:
        return [m for m in running.replies(event) if reply_payload(m).get("message_ts") == added["ts"]]

    await eventually(told, "the note to the customer, on a later attempt")
    await running.idle()
    assert len(told()) == 1 and 503 in [call.status for call in slack.calls_to("chat.postMessage")]
    [_, follow_up] = notices(slack)
    assert follow_up["thread_ts"] == notice_ts and follow_up["text"].count("it's order 1234") == 1


async def test_what_a_customer_adds_under_an_escalated_dm_is_passed_on_not_escalated_again(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    running = await make_bot(agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    event, _ = await escalated_dm(running, anthropic_api)
    # Still unsure of each (the policy alone would say "low confidence"): they go to the person in charge.
    for text in ("it's order 1234", "any news?"):
        await running.customer_says(text, channel=DM, channel_type="im", thread_ts=event["ts"])
        await running.idle()
    async with running.store.reading() as conn:
        d = routing_decisions
        reasons = (await conn.execute(select(d.c.escalation_reason).order_by(d.c.id))).scalars().all()
    assert reasons == ["low_confidence", "with_a_person", "with_a_person"]
    assert all("already with a person" in notice["text"] for notice in notices(slack)[1:])
    report = await build_report(running.store, parse_arguments("24h"))
    assert (report.messages, report.follow_ups, report.passed_on) == (3, 2, 2)
    assert (report.escalations, [(s.name, s.count) for s in report.escalation_reasons]) == (
        1,
        [("low_confidence", 1)],
    )
    # Of the category's messages that could have been escalated, as the rate: the DM went to a person once.
    assert escalated_notes(report) == ["1 escalated (100%)"]
    assert report.escalations_to_pick_up == 1
    _, blocks = report_blocks(report)
    assert "Passed on to the person in charge: *2*" in str(blocks)
    printed = io.StringIO()
    terminal = Console(file=printed, width=160, color_system=None)
    print_report(report, terminal)
    assert "Passed on to the person in charge: 2" in printed.getvalue()


async def test_a_dm_notice_slack_posted_but_answered_500_for_is_not_posted_again(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """Slack posts the notice and its answer is lost (a 5xx, a dropped connection; or the bot dies before
    noting it): the next attempt finds the notice in the agents' channel, as a reply is found in its
    thread, and the agents are tagged once, in one thread, where an agent's reply takes the DM up."""
    running = await make_bot(
        agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL, retry_base_seconds=0.05, slack_streaming="off"
    )
    anthropic_api.classify_fn = unsure
    slack.fail_next("chat.postMessage", status=503, channel=AGENTS_CHANNEL, after_applying=True)
    event = await running.customer_says("hmm, about that thing", channel=DM, channel_type="im")
    await answered_later(running, event, "the customer told, on a later attempt")
    [notice] = notices(slack)
    assert len(anthropic_api.bodies("classify")) == 1
    await running.customer_says("I'll DM them", user=AGENT, channel=AGENTS_CHANNEL, thread_ts=notice["ts"])
    await running.idle()
    thread = await running.store.get_thread(slack.team_id, DM, event["ts"])
    assert thread is not None and thread.taken_over_by == AGENT
    # The agents' channel unreadable (the bot was removed from it): a DM's retry is answered all the same.
    slack.fail_next("chat.postMessage", status=503, channel=DM)
    slack.fail_next("conversations.history", error="not_in_channel", channel=AGENTS_CHANNEL, count=6)
    anthropic_api.classify_fn = sure
    answered = await running.customer_says("and how do I reset my password?", channel=DM, channel_type="im")
    await answered_later(running, answered, "the answer, on a later attempt")
