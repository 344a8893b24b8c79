"""Messages written while the bot was away longer than Slack retries an event are answered at its start,
once, under the rules the events would have met."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot import paced_reads
from bot.reply_metadata import reply_payload
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, CUSTOMER, RunningBot, stop_bot
from tests.bot.test_dm_escalations import DM, escalated_dm, notices
from tests.bot.test_handoffs import AGENT, AGENTS_CHANNEL, sure, unsure
from tests.bot.test_reminders import later
from tests.fakes import FakeAnthropic, FakeSlack
from tests.reliability.helpers import eventually
from tests.store.plans import query_plan


def ago(seconds: float) -> str:
    """The Slack ts of a message posted ``seconds`` ago (the harness dates its own in 2023, which the
    catch-up, reading the channels of the last week, would not look at)."""
    return f"{time.time() - seconds:.6f}"


async def started(make_bot: BotFactory, **settings: object) -> RunningBot:
    running = await make_bot(**settings)
    running._ts = time.time() - 3600  # its messages posted an hour ago on
    # Its own look at start is over before a message comes: on a busy machine it could otherwise run
    # after the test's first message was claimed, and read that channel's history.
    await running.bot.caught_up()
    return running


async def settled(running: RunningBot) -> None:
    """The catch-up at start is over, and what it took is answered."""
    await running.bot.caught_up()
    await running.idle()


async def away(running: RunningBot) -> None:
    """The bot stops; its server and store go with it."""
    await running.idle()
    await stop_bot(running)


async def test_a_message_written_while_the_bot_was_away_is_answered_at_its_start(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    first = await started(make_bot, agent_users=[AGENT])
    before = await first.customer_says("How do I reset my password?")
    await away(first)
    # Written while it was away: no event reaches it (Slack gave up retrying).
    missed = {"channel": CHANNEL} | slack.add_message(
        CHANNEL, ago(600), CUSTOMER, "And how do I change my email?"
    )
    slack.add_message(CHANNEL, ago(590), AGENT, "Heads up team: release at 5pm")
    slack.add_message(CHANNEL, ago(580), None, "deploy finished", bot_id="B0OTHER")
    helped = {"channel": CHANNEL} | slack.add_message(CHANNEL, ago(570), CUSTOMER, "Is the API down?")
    slack.add_message(CHANNEL, ago(560), AGENT, "Looking now", thread_ts=helped["ts"])
    asked = len(anthropic_api.bodies("answer"))
    second = await started(make_bot, agent_users=[AGENT])
    await settled(second)
    assert len(second.replies(missed)) == 1 and len(second.replies(before)) == 1
    assert second.replies(helped) == []  # an agent answered it meanwhile: theirs
    assert len(anthropic_api.bodies("answer")) == asked + 1  # the agent's and the bot's posts asked nothing
    # Started again, nothing is answered twice, and the channel is read from the last message seen on.
    await away(second)
    third = await started(make_bot, agent_users=[AGENT])
    await settled(third)
    assert len(third.replies(missed)) == 1 and len(anthropic_api.bodies("answer")) == asked + 1
    # Read back to the oldest thread still the bot's (for their latest replies); no thread of its own in
    # full (nobody wrote in them while it was away), only the one someone else replied to, to tell who.
    assert slack.calls_to("conversations.history")[-1].params["oldest"] == before["ts"]
    assert set(thread_reads(slack)) == {helped["ts"]}


async def test_a_message_another_app_replied_to_while_the_bot_was_away_is_still_answered(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    first = await started(make_bot, agent_users=[AGENT])
    await first.customer_says("How do I reset my password?")
    await away(first)
    missed = {"channel": CHANNEL} | slack.add_message(CHANNEL, ago(600), CUSTOMER, "Is the API down?")
    # A ticketing app numbers every new message in its thread: no person has answered it.
    slack.add_message(
        CHANNEL, ago(599), "U0TICKETS", "Ticket #4521 opened", thread_ts=missed["ts"], bot_id="B0TICKETS"
    )
    second = await started(make_bot, agent_users=[AGENT])
    await settled(second)
    assert len(second.replies(missed)) == 1
    assert thread_reads(slack) == [missed["ts"]]  # read to tell who replied


async def test_a_slack_connect_customer_caught_up_gets_the_stream_as_a_member_of_their_workspace(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    first = await started(make_bot, slack_streaming="on")
    await first.customer_says("How do I reset my password?")
    await away(first)
    missed = {"channel": CHANNEL} | slack.add_message(
        CHANNEL, ago(600), "U0EXTERNAL", "Is the API down?", team="T0THEIRS", user_team="T0THEIRS"
    )
    second = await started(make_bot, slack_streaming="on")
    await settled(second)
    assert len(second.replies(missed)) == 1
    start = slack.calls_to("chat.startStream")[-1].params
    assert (start["recipient_user_id"], start["recipient_team_id"]) == ("U0EXTERNAL", "T0THEIRS")


def thread_reads(slack: FakeSlack) -> list[str]:
    """The threads the catch-up read in full (answering a follow-up reads its thread too, from the start)."""
    return [c.params["ts"] for c in slack.calls_to("conversations.replies") if "oldest" in c.params]


async def test_a_follow_up_written_in_a_thread_while_the_bot_was_away_is_answered_there_once(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    first = await started(make_bot, agent_users=[AGENT])
    asked = await first.customer_says("How do I reset my password?")
    await first.customer_says("My app crashes on start")
    await away(first)
    slack.add_message(CHANNEL, ago(0), CUSTOMER, "The reset email never arrives", thread_ts=asked["ts"])
    answers = len(anthropic_api.bodies("answer"))
    second = await started(make_bot, agent_users=[AGENT])
    await settled(second)
    assert len(second.replies(asked)) == 2  # the first answer, then the follow-up's in the same thread
    [answer] = anthropic_api.bodies("answer")[answers:]
    assert "How do I reset my password?" in str(answer["messages"])  # with the thread's earlier turns
    assert thread_reads(slack) == [asked["ts"]]  # the thread someone wrote in; not the quiet one
    await away(second)
    third = await started(make_bot, agent_users=[AGENT])
    await settled(third)
    assert len(third.replies(asked)) == 2 and len(anthropic_api.bodies("answer")) == answers + 1


async def test_a_customer_who_added_to_their_own_message_while_the_bot_was_away_is_answered_in_order(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    first = await started(make_bot)
    await first.customer_says("How do I reset my password?")
    await away(first)
    missed = {"channel": CHANNEL} | slack.add_message(CHANNEL, ago(2), CUSTOMER, "My app crashes on start")
    slack.add_message(CHANNEL, ago(1), CUSTOMER, "version 4.2 on Android 14", thread_ts=missed["ts"])
    answers = len(anthropic_api.bodies("answer"))
    second = await started(make_bot)
    await settled(second)
    assert len(second.replies(missed)) == 2
    root, follow_up = anthropic_api.bodies("answer")[answers:]
    assert "version 4.2" not in str(root["messages"]) and "My app crashes" in str(follow_up["messages"])


async def test_an_agent_who_wrote_in_a_thread_while_the_bot_was_away_has_taken_it_over(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    first = await started(make_bot, agent_users=[AGENT])
    asked = await first.customer_says("How do I reset my password?")
    await away(first)
    for n, (who, text) in enumerate([(CUSTOMER, "still stuck"), (AGENT, "On it"), (CUSTOMER, "thanks!")]):
        slack.add_message(CHANNEL, ago(3 - n), who, text, thread_ts=asked["ts"])
    answers = len(anthropic_api.bodies("answer"))
    second = await started(make_bot, agent_users=[AGENT])
    await settled(second)
    thread = await second.store.get_thread(slack.team_id, CHANNEL, asked["ts"])
    assert thread is not None and thread.taken_over_by == AGENT
    # Neither what the agent answered nor what the customer said to them afterwards is the bot's.
    assert len(anthropic_api.bodies("answer")) == answers
    assert not any("still stuck" in str(body) or "thanks!" in str(body) for body in anthropic_api.bodies())


async def test_what_a_customer_added_to_an_escalated_dm_while_the_bot_was_away_goes_on_to_the_agents(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    first = await started(make_bot, agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    event, notice_ts = await escalated_dm(first, anthropic_api)
    await away(first)
    slack.add_message(DM, ago(0), CUSTOMER, "it's order 1234", thread_ts=event["ts"])
    anthropic_api.classify_fn = sure
    second = await started(make_bot, agent_users=[AGENT], escalation_channel=AGENTS_CHANNEL)
    await settled(second)
    [_, follow_up] = notices(slack)
    assert follow_up["thread_ts"] == notice_ts and "> it's order 1234" in follow_up["text"]


async def test_a_thread_that_cannot_be_read_leaves_the_rest_of_its_channel_caught_up(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    first = await started(make_bot)
    asked = await first.customer_says("How do I reset my password?")
    await away(first)
    slack.add_message(CHANNEL, ago(1), CUSTOMER, "still stuck", thread_ts=asked["ts"])
    missed = {"channel": CHANNEL} | slack.add_message(CHANNEL, ago(0), CUSTOMER, "Is the API down?")
    slack.fail_next("conversations.replies", error="thread_not_found")  # its root deleted meanwhile
    second = await started(make_bot)
    await settled(second)
    assert thread_reads(slack) == [asked["ts"]] and len(second.replies(missed)) == 1


async def test_only_channels_the_bot_answered_in_and_only_the_last_hours_are_read(
    make_bot: BotFactory, slack: FakeSlack
) -> None:
    # A channel where the bot never took a message: its past is not the bot's to answer.
    slack.add_message("C0NEW", ago(7200), CUSTOMER, "anyone around?")
    first = await started(make_bot, catch_up_hours=0.0001)  # 0.36 s
    await first.customer_says("How do I reset my password?")
    await away(first)
    missed = {"channel": CHANNEL} | slack.add_message(CHANNEL, ago(5), CUSTOMER, "hello?")
    second = await started(make_bot, catch_up_hours=0.0001)
    await settled(second)
    assert second.replies(missed) == []  # five seconds old: older than CATCH_UP_HOURS
    [look] = slack.calls_to("conversations.history")
    assert look.params["channel"] == CHANNEL and float(look.params["oldest"]) > float(missed["ts"])


async def test_catching_up_is_off_at_zero_hours(make_bot: BotFactory, slack: FakeSlack) -> None:
    first = await started(make_bot, catch_up_hours=0)
    await first.customer_says("How do I reset my password?")
    await away(first)
    second = await started(make_bot, catch_up_hours=0)
    await settled(second)
    assert slack.calls_to("conversations.history") == []


async def test_the_channels_and_the_notices_are_read_from_their_index(make_bot: BotFactory) -> None:
    running = await make_bot()
    statement = running.store.last_seen_statement(datetime.now(UTC))
    assert "ix_inbound_messages_ts" in await query_plan(running.store, statement)
    statement = running.store.noticed_awaiting_statement(datetime.now(UTC), 200)
    assert "ix_threads_escalations" in await query_plan(running.store, statement)


async def test_the_reads_are_paced_and_stopping_does_not_wait_for_them(
    make_bot: BotFactory, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paced_reads, "READ_INTERVAL_SECONDS", 30.0)
    first = await started(make_bot)
    await first.customer_says("How do I reset my password?")
    await first.customer_says("My app crashes on start", channel="C0OTHER")
    await away(first)
    second = await make_bot()  # not started(): that waits for the whole look
    await eventually(lambda: bool(slack.calls_to("conversations.history")), "the first channel read")
    began = time.monotonic()
    await stop_bot(second)  # the second read is 30 s away: the look is cancelled, not waited for
    assert time.monotonic() - began < 10 and len(slack.calls_to("conversations.history")) == 1


async def test_a_customers_first_dm_written_while_the_bot_was_away_is_answered(
    make_bot: BotFactory, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    first = await started(make_bot)
    await first.customer_says("How do I reset my password?")
    await away(first)
    # Opened and written to while the bot was away: no message of this DM was ever taken.
    slack.open_direct_message("D0NEW", "U0NEWCUSTOMER", created=time.time() - 300)
    hello = {"channel": "D0NEW"} | slack.add_message("D0NEW", ago(299), "U0NEWCUSTOMER", "My app crashes")
    # Opened long ago, and quiet since (its past is not the bot's to answer).
    slack.open_direct_message("D0OLD", "U0OTHER", created=time.time() - 30 * 86400)
    slack.add_message("D0OLD", ago(30 * 86400 - 60), "U0OTHER", "hi")
    second = await started(make_bot)
    await settled(second)
    assert len(second.replies(hello)) == 1
    assert {c.params["channel"] for c in slack.calls_to("conversations.history")} == {CHANNEL, "D0NEW"}
    # Without the im:read scope (an app installed before it was asked for), the rest is still caught up.
    await away(second)
    missed = {"channel": CHANNEL} | slack.add_message(CHANNEL, ago(0), CUSTOMER, "Is the API down?")
    slack.fail_next("conversations.list", error="missing_scope", needed="im:read", provided="chat:write")
    third = await started(make_bot)
    await settled(third)
    assert len(third.replies(missed)) == 1
    assert "the app lacks im:read, reinstall it from manifest.yml" in caplog.text


@pytest.mark.parametrize("streaming", ["on", "off"])
async def test_a_reply_that_comes_late_begins_with_an_apology_and_one_on_time_does_not(
    make_bot: BotFactory, anthropic_api: FakeAnthropic, streaming: str
) -> None:
    running = await started(make_bot, late_reply_minutes=10, slack_streaming=streaming)
    late = await running.customer_says("How do I reset my password?")  # written an hour ago
    anthropic_api.classify_fn = unsure
    late_escalation = await running.customer_says("hmm, about that thing from before")
    anthropic_api.classify_fn = sure
    running._ts = time.time()
    on_time = await running.customer_says("My app crashes on start")
    await running.idle()
    note = "Sorry for the slow reply."
    [answer], [escalation], [prompt] = (running.replies(e) for e in (late, late_escalation, on_time))
    assert answer["text"].startswith(f"{note}\n\n") and escalation["text"].startswith(f"{note}\n\n")
    if streaming == "off":  # posted whole: in what Slack shows, not only in the notification's text
        assert answer["blocks"][0]["text"]["text"] == note
    assert not prompt["text"].startswith(note) and note not in str(prompt["blocks"])


async def test_an_agent_who_took_up_an_escalated_dm_while_the_bot_was_away_is_not_reminded_of_it(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    settings = {"agent_users": [AGENT], "escalation_channel": AGENTS_CHANNEL}
    first = await started(make_bot, **settings)
    event, notice_ts = await escalated_dm(first, anthropic_api)
    await away(first)
    slack.add_message(AGENTS_CHANNEL, ago(0), AGENT, "I'll DM them", thread_ts=notice_ts)
    second = await started(make_bot, **settings)
    await settled(second)
    thread = await second.store.get_thread(slack.team_id, DM, event["ts"])
    assert thread is not None and thread.taken_over_by == AGENT  # their pick-up
    assert await second.bot.reminders.remind(later(120)) == 0


async def test_a_reply_waiting_for_its_threads_first_message_is_answered_after_it_once_caught_up(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """The first message's deliveries were lost (the bot went down as it was written, and stayed down past
    Slack's retries); the customer's reply in its thread reached it and waits. At the next start the
    catch-up finds the first message, and both are answered, each once, the reply after it."""
    first = await started(make_bot)
    await first.customer_says("How do I reset my password?")
    root_ts = first.next_ts()
    slack.add_message(CHANNEL, root_ts, CUSTOMER, "The app crashes when I upload photos")
    root = {"channel": CHANNEL, "ts": root_ts}
    follow_up = await first.customer_says(
        "It's version 4.2 on Android 14", thread_ts=root_ts, parent_user_id=CUSTOMER
    )
    await away(first)
    answers = len(anthropic_api.bodies("answer"))
    second = await started(make_bot)
    await eventually(lambda: len(second.replies(root)) == 2, "the first message's and the reply's answers")
    await second.idle()
    assert [reply_payload(m)["message_ts"] for m in second.replies(root)] == [root_ts, follow_up["ts"]]
    first_answer, reply_answer = anthropic_api.bodies("answer")[answers:]
    assert "Android 14" not in str(first_answer["messages"])
    assert reply_answer["messages"][-1]["content"] == "It's version 4.2 on Android 14"


async def test_reads_slack_rate_limits_past_its_retries_are_read_again_not_skipped(
    make_bot: BotFactory, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a start after a long outage the answers read their threads too, and Slack may rate-limit the
    catch-up's reads longer than slack_sdk waits (three retries), or fail for a while: the channel, the
    thread and the list of DMs are read again once Slack allows, not passed over with what was written
    in them."""
    monkeypatch.setattr(paced_reads, "READ_INTERVAL_SECONDS", 0.0)
    monkeypatch.setattr(paced_reads, "TRANSIENT_WAIT_SECONDS", 0.0)
    first = await started(make_bot)
    asked = await first.customer_says("How do I reset my password?")
    await away(first)
    follow_up = {"channel": CHANNEL, "ts": ago(2)}
    slack.add_message(CHANNEL, follow_up["ts"], CUSTOMER, "still stuck", thread_ts=asked["ts"])
    missed = {"channel": CHANNEL} | slack.add_message(CHANNEL, ago(1), CUSTOMER, "Is the API down?")
    slack.open_direct_message("D0NEW", "U0NEWCUSTOMER", created=time.time() - 300)
    hello = {"channel": "D0NEW"} | slack.add_message("D0NEW", ago(299), "U0NEWCUSTOMER", "My app crashes")
    # Once more than slack_sdk retries, each.
    slack.fail_next("conversations.list", status=503, count=4)
    slack.fail_next("conversations.history", status=429, retry_after=0, count=4)
    slack.fail_next("conversations.replies", status=429, retry_after=0, count=4)
    second = await started(make_bot)
    await settled(second)
    assert len(second.replies(missed)) == 1 and len(second.replies(hello)) == 1
    assert [reply_payload(m)["message_ts"] for m in second.replies(asked)] == [asked["ts"], follow_up["ts"]]


async def test_a_mention_of_the_bot_in_a_thread_written_while_it_was_away_is_answered(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    """A customer asks the bot in the thread of an agent's post (a thread the bot had no part in): its
    ``app_mention`` event would have had it answered; caught up, the mention is one too."""
    first = await started(make_bot, agent_users=[AGENT])
    await first.customer_says("How do I reset my password?")
    await away(first)
    post = {"channel": CHANNEL} | slack.add_message(CHANNEL, ago(3), AGENT, "Heads up: release 4.3 is out")
    asked = slack.add_message(
        CHANNEL,
        ago(2),
        CUSTOMER,
        f"<@{slack.bot_user_id}> does 4.3 fix the upload crash?",
        thread_ts=post["ts"],
    )
    answers = len(anthropic_api.bodies("answer"))
    second = await started(make_bot, agent_users=[AGENT])
    await settled(second)
    assert [reply_payload(m)["message_ts"] for m in second.replies(post)] == [asked["ts"]]
    [answer] = anthropic_api.bodies("answer")[answers:]
    assert answer["messages"][-1]["content"].endswith("does 4.3 fix the upload crash?")
    assert "Heads up: release 4.3 is out" in str(answer["messages"])  # read with the thread it is in
