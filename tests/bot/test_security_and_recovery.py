"""Signatures are checked before anything else; claimed messages survive a crash; streaming modes."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta

import pytest

from bot.reply_metadata import reply_metadata
from bot.store.records import InboundMessage
from bot.store.repository import Store
from tests.bot.harness import CHANNEL, CUSTOMER, SECRET, RunningBot
from tests.fakes import FakeAnthropic, FakeSlack, event_callback, message_event
from tests.fakes.slack_signing import sign
from tests.reliability.helpers import eventually


async def test_slacks_url_verification_gets_its_challenge_back(
    running: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    # Events API deliveries take the lean path; everything else, this included, is Bolt's.
    status, text = await running.send({"type": "url_verification", "challenge": "3eZbrw1aB", "token": "x"})
    assert status == 200
    assert "3eZbrw1aB" in text
    assert "SLACK_SIGNING_SECRET" not in caplog.text
    status, _ = await running.send({"type": "url_verification", "challenge": "3eZbrw1aB"}, secret="wrong")
    assert status == 401
    # The operator is told why Slack says the request URL fails, once a minute at most.
    event = message_event("refund please", CHANNEL, CUSTOMER, running.next_ts())
    assert (await running.send(event_callback(event), secret="wrong"))[0] == 401
    warnings = [r for r in caplog.records if "SLACK_SIGNING_SECRET is wrong" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"


async def test_wrong_or_stale_signature_is_refused_and_reaches_nothing(
    running: RunningBot, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    event = message_event("refund please", CHANNEL, CUSTOMER, running.next_ts())
    status, _ = await running.send(event_callback(event), secret="not-the-secret")
    assert status == 401
    status, _ = await running.send(event_callback(event), timestamp=int(time.time()) - 6 * 60)
    assert status == 401
    body = json.dumps(event_callback(event)).encode()
    headers = {"Content-Type": "application/json", **sign(body, SECRET)}
    status, _ = await running.post_raw(body, headers | {"X-Slack-Request-Timestamp": "yesterday"})
    assert status == 401  # not a 500 and a traceback for anyone who sends a word there
    await running.idle()
    assert anthropic_api.requests == []
    assert slack.calls_to("chat.postMessage") == []
    # Nothing was claimed: the same message, properly signed, is still answered.
    slack.add_message(CHANNEL, event["ts"], CUSTOMER, event["text"])
    assert (await running.send(event_callback(event)))[0] == 200
    await running.idle()
    assert len(running.replies(event)) == 1


def _pending(slack: FakeSlack, ts: str, text: str) -> InboundMessage:
    slack.add_message(CHANNEL, ts, CUSTOMER, text)
    return InboundMessage(team_id=slack.team_id, channel_id=CHANNEL, ts=ts, user_id=CUSTOMER, text=text)


async def _dead_process_store(url: str) -> Store:
    """The store of a process that is about to die: migrated, for it to claim messages in."""
    from bot.store.migrate import upgrade_async

    store = await Store.connect(url)
    await upgrade_async(store.engine)
    return store


def _reply_posted(slack: FakeSlack, msg: InboundMessage, text: str) -> None:
    """The finished reply to ``msg`` that the dead process posted but never recorded."""
    slack.add_message(
        CHANNEL,
        None,
        slack.bot_user_id,
        text,
        thread_ts=msg.ts,
        bot_id=slack.bot_id,
        metadata=reply_metadata(msg, {"category": "Technical Support"}),
    )


async def _until_nothing_pending(running: RunningBot) -> None:
    for _ in range(300):
        if not await _pending_count(running):
            break
        await asyncio.sleep(0.05)
    await running.idle()


async def test_a_restart_finishes_messages_claimed_before_the_crash(
    make_bot, slack: FakeSlack, bot_db_url: str
) -> None:
    # A first process claimed two messages and died: one before answering, one after posting its
    # answer but before recording it.
    store = await _dead_process_store(bot_db_url)
    unanswered = _pending(slack, "1700000100.000001", "I was charged twice")
    answered = _pending(slack, "1700000100.000002", "My app crashes on start")
    for msg in (unanswered, answered):
        # SQLite (one process) resumes at once; on PostgreSQL, where other replicas may be alive, a
        # message is resumed when its lease runs out.
        assert await store.claim(msg, lease_seconds=1)
    _reply_posted(slack, answered, "Try reinstalling.")
    await store.close()

    running = await make_bot()
    for _ in range(300):
        if slack.thread_replies(CHANNEL, unanswered.ts) and not await _pending_count(running):
            break
        await asyncio.sleep(0.05)
    await running.idle()
    assert len(slack.thread_replies(CHANNEL, unanswered.ts)) == 1
    assert len(slack.thread_replies(CHANNEL, answered.ts)) == 1  # not answered twice
    assert await running.store.take_stale(include_leased=True) == []  # nothing left pending


async def test_a_reply_posted_after_the_customers_next_words_is_found_after_a_crash(
    make_bot, slack: FakeSlack, bot_db_url: str
) -> None:
    """The customer added a detail while the answer was streaming; the process died before recording it."""
    store = await _dead_process_store(bot_db_url)
    msg = _pending(slack, "1700000150.000001", "My app crashes on start")
    assert await store.claim(msg, lease_seconds=1)
    slack.add_message(CHANNEL, "1700000150.000002", CUSTOMER, "it's android 14", thread_ts=msg.ts)
    _reply_posted(slack, msg, "Try reinstalling.")
    await store.close()

    running = await make_bot()
    await _until_nothing_pending(running)
    assert [r["text"] for r in slack.thread_replies(CHANNEL, msg.ts)] == ["Try reinstalling."]
    assert not slack.calls_to("chat.delete")
    [decision] = await _decisions(running)
    assert decision["reasoning"].startswith("Recovered after a restart")


@pytest.mark.parametrize("kept", [True, False], ids=["kept", "decision-lost"])
async def test_a_long_answer_half_posted_before_a_crash_is_finished_not_begun_again(
    make_bot, slack: FakeSlack, anthropic_api: FakeAnthropic, bot_db_url: str, kept: bool
) -> None:
    """The dead process had posted the first message of an answer too long for one (its decision kept
    before the first): the restart posts the others, under it, without asking Claude again. Had keeping
    the decision failed, the half answer is removed and the message answered again, once."""
    from bot.formatting import answer_messages
    from bot.recovery import decision_payload
    from bot.reply_metadata import part_metadata
    from tests.store.samples import decision

    store = await _dead_process_store(bot_db_url)
    msg = _pending(slack, "1700000160.000001", "How do I set the app up?")
    assert await store.claim(msg, lease_seconds=1)
    guide = "\n\n".join(f"Step {n}: " + "check the settings page carefully. " * 80 for n in range(1, 13))
    answered = decision(query=msg.text, escalated=False, escalation_reason=None, answer=guide)
    if kept:
        await store.keep_decision(msg, answered)
    messages = answer_messages(guide, answered)
    assert len(messages) >= 3
    metadata = part_metadata(reply_metadata(msg, decision_payload(answered)), 1, len(messages))
    first = slack.add_message(
        CHANNEL,
        None,
        slack.bot_user_id,
        messages[0][0],
        thread_ts=msg.ts,
        bot_id=slack.bot_id,
        metadata=metadata,
    )
    await store.close()

    running = await make_bot()
    await _until_nothing_pending(running)
    replies = slack.thread_replies(CHANNEL, msg.ts)
    [recorded] = await _decisions(running)
    assert recorded["reply_ts"] == replies[0]["ts"] and not recorded["escalated"]
    if not kept:
        assert [c.params["ts"] for c in slack.calls_to("chat.delete")] == [first["ts"]]
        assert len(anthropic_api.bodies("answer")) == len(replies) == 1
        return
    assert [r["text"] for r in replies] == [text for text, _ in messages]
    assert replies[0]["ts"] == first["ts"] and not slack.calls_to("chat.delete")
    assert anthropic_api.bodies("answer") == []


async def test_streaming_shows_the_first_words_then_the_whole_answer(
    make_bot, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    anthropic_api.answer_tokens = 60
    running = await make_bot(slack_streaming="on")
    event = await running.customer_says("How do I reset my password?")
    await running.idle()
    [reply] = running.replies(event)
    assert len(slack.calls_to("chat.startStream")) == 1
    assert len(slack.calls_to("chat.stopStream")) == 1
    assert slack.calls_to("chat.postMessage") == []
    start = slack.calls_to("chat.startStream")[0].params
    assert start["recipient_user_id"] == CUSTOMER and start["recipient_team_id"] == slack.team_id
    assert reply["text"].startswith("**Answer**") and len(reply["text"].split()) == 60
    assert reply["metadata"]["event_payload"]["message_ts"] == event["ts"]


async def test_streaming_off_posts_one_message_in_mrkdwn(make_bot, slack: FakeSlack) -> None:
    running = await make_bot(slack_streaming="off")
    event = await running.customer_says("How do I reset my password?")
    await running.idle()
    [reply] = running.replies(event)
    assert slack.calls_to("chat.startStream") == []
    assert reply["text"].startswith("*Answer*")  # Markdown bold became mrkdwn bold


async def test_auto_streaming_falls_back_when_slack_refuses_it(make_bot, slack: FakeSlack) -> None:
    running = await make_bot(slack_streaming="auto")
    slack.fail_next("chat.startStream", error="not_allowed_channel_type")
    event = await running.customer_says("How do I reset my password?")
    await running.idle()
    assert len(running.replies(event)) == 1
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_auto_streaming_does_not_wait_out_a_rate_limit_on_starting_a_stream(
    make_bot, slack: FakeSlack
) -> None:
    """Starting streams has a lower limit than posting: rate-limited, the answer is posted whole when
    Claude has written it, not after Slack's Retry-After (a minute here) waited out three times."""
    running = await make_bot(slack_streaming="auto")
    slack.fail_next("chat.startStream", status=429, retry_after=60)
    event = await running.customer_says("How do I reset my password?")
    await running.idle()
    [reply] = running.replies(event)
    assert reply["text"].startswith("*Answer*") and len(slack.calls_to("chat.startStream")) == 1


async def test_with_streaming_required_a_rate_limit_on_starting_a_stream_is_waited_out(
    make_bot, slack: FakeSlack
) -> None:
    running = await make_bot(slack_streaming="on")
    slack.fail_next("chat.startStream", status=429, retry_after=0)
    event = await running.customer_says("My app crashes on start")
    await running.idle()
    assert len(running.replies(event)) == 1
    assert [call.ok for call in slack.calls_to("chat.startStream")] == [False, True]


async def test_a_message_that_keeps_failing_is_retried_then_escalated_to_a_person(
    make_bot, slack: FakeSlack
) -> None:
    running = await make_bot(
        slack_streaming="off", retry_attempts=2, retry_base_seconds=0.05, agent_users=["U0AGENT"]
    )
    slack.fail_next("chat.postMessage", error="fatal_error", count=2)
    event = await running.customer_says("How do I reset my password?")
    for _ in range(200):
        if running.replies(event):
            break
        await running.idle()
        await asyncio.sleep(0.05)
    await running.idle()  # the escalation is posted before its decision is recorded
    [reply] = running.replies(event)
    assert "<@U0AGENT>" in reply["text"] and "answering failed" in reply["text"]
    decisions = await _decisions(running)
    assert len(decisions) == 1 and decisions[0]["escalated"] and "fatal_error" in decisions[0]["error"]


async def test_healthz_reports_the_database(running: RunningBot) -> None:
    async with running.session.get(running.url.replace("/slack/events", "/healthz")) as response:
        assert response.status == 200
        assert (await response.json())["database"] == "ok"


async def _pending_count(running: RunningBot) -> int:
    from sqlalchemy import func, select

    from bot.store.tables.messages import inbound_messages

    query = select(func.count()).where(inbound_messages.c.state == "pending")
    async with running.store.reading() as conn:
        return int((await conn.execute(query)).scalar_one())


async def _decisions(running: RunningBot) -> list[dict]:
    from sqlalchemy import select

    from bot.store.tables.decisions import routing_decisions

    async with running.store.reading() as conn:
        rows = (await conn.execute(select(routing_decisions))).mappings().all()
    return [dict(row) for row in rows]


async def test_a_reply_half_streamed_before_a_crash_is_replaced_not_doubled(
    make_bot, slack: FakeSlack, bot_db_url: str
) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    store = await _dead_process_store(bot_db_url)
    msg = _pending(slack, "1700000300.000001", "My app crashes on start")
    assert await store.claim(msg, lease_seconds=1)
    # The dead process had started streaming its answer: the customer sees half a message.
    client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
    started = await client.chat_startStream(
        channel=CHANNEL,
        thread_ts=msg.ts,
        markdown_text="Sorry about the cra",
        recipient_team_id=slack.team_id,
        recipient_user_id=CUSTOMER,
    )
    await client.session.close() if client.session else None
    await store.note_reply_started(msg, started["ts"])
    await store.close()

    running = await make_bot()
    await _until_nothing_pending(running)
    replies = slack.thread_replies(CHANNEL, msg.ts)
    assert len(replies) == 1 and replies[0]["ts"] != started["ts"]
    assert not replies[0]["text"].startswith("Sorry about the cra")
    assert [c.params["ts"] for c in slack.calls_to("chat.delete")] == [started["ts"]]


async def test_a_message_whose_lease_lapsed_while_it_is_answered_here_is_not_started_twice_here(
    make_bot, slack: FakeSlack, anthropic_api: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    """A stalled event loop (a loaded machine) can make the heartbeat late: the lease lapses while this
    worker is still answering. Its own recovery pass must not start the message a second time."""
    from sqlalchemy import update

    from bot.store.tables.base import utcnow
    from bot.store.tables.messages import inbound_messages

    anthropic_api.first_token_latency = 1.0
    running = await make_bot(recovery_interval_seconds=3600)  # the pass below is the only one
    event = await running.customer_says("My app crashes on start")
    await eventually(lambda: bool(anthropic_api.requests), "the message to be answered")
    lapsed = update(inbound_messages).values(lease_until=utcnow() - timedelta(seconds=1))
    async with running.store.engine.begin() as conn:
        await conn.execute(lapsed)

    assert await running.bot.worker.recover() == 0
    await running.idle()
    assert len(running.replies(event)) == 1
    assert len(await _decisions(running)) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
