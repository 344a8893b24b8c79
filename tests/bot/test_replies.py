"""A streamed reply reaches Slack whole, however much text waits to go in one call."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import streaming
from bot.clients import slack_client, without_rate_limit_waits
from bot.settings import Settings
from bot.store.records import InboundMessage
from bot.streaming import MARKDOWN_TEXT_LIMIT, StreamedReply, markdown_pieces
from router.errors import AnswerStopped
from tests.fakes import BOT_TOKEN, FakeSlack

STREAM_METHODS = ("chat.startStream", "chat.appendStream", "chat.stopStream")
# Three calls' worth and more, numbered so that a piece lost or sent out of order shows.
LONG = "".join(f"{n:05d} " for n in range(6_000))


@pytest.fixture
def customer_message(slack: FakeSlack) -> InboundMessage:
    root = slack.add_message("C1", None, "U1", "help")
    return InboundMessage(team_id=slack.team_id, channel_id="C1", ts=root["ts"], user_id="U1")


def reply_for(slack: FakeSlack, msg: InboundMessage, *, required: bool = True) -> StreamedReply:
    """A reply through a client without retries: each fault the fake Slack is told of is seen."""
    return StreamedReply(AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url), msg, required=required)


def sent_texts(slack: FakeSlack) -> list[str]:
    return [
        str(call.params.get("markdown_text") or "")
        for method in STREAM_METHODS
        for call in slack.calls_to(method)
    ]


def test_markdown_pieces_cut_at_the_limit_and_join_back() -> None:
    assert markdown_pieces("") == []
    assert markdown_pieces("abcdefg", limit=3) == ["abc", "def", "g"]
    assert "".join(markdown_pieces(LONG)) == LONG
    assert [len(p) for p in markdown_pieces("x" * (2 * MARKDOWN_TEXT_LIMIT))] == [MARKDOWN_TEXT_LIMIT] * 2


async def test_a_long_first_chunk_starts_the_stream_and_appends_the_rest(
    slack: FakeSlack, customer_message: InboundMessage
) -> None:
    reply = reply_for(slack, customer_message)
    await reply.feed(LONG)
    assert await reply.finish(None, {"event_type": "t", "event_payload": {}}) == reply.ts
    [posted] = slack.thread_replies("C1", customer_message.ts)
    assert posted["text"] == LONG
    assert max(len(text) for text in sent_texts(slack)) <= MARKDOWN_TEXT_LIMIT
    assert [len(slack.calls_to(m)) for m in STREAM_METHODS] == [1, 2, 1]


async def test_a_backlog_after_a_pause_goes_in_appends_each_slack_accepts(
    slack: FakeSlack, customer_message: InboundMessage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every feed is sent at once, as the first one after a pause is: the whole backlog in one go.
    monkeypatch.setattr(streaming, "APPEND_INTERVAL_S", 0.0)
    reply = reply_for(slack, customer_message)
    await reply.feed("Here is everything: ")
    await reply.feed(LONG)
    await reply.finish(None, {"event_type": "t", "event_payload": {}})
    [posted] = slack.thread_replies("C1", customer_message.ts)
    assert posted["text"] == "Here is everything: " + LONG
    assert max(len(text) for text in sent_texts(slack)) <= MARKDOWN_TEXT_LIMIT
    assert slack.stream_state("C1", posted["ts"]) == "completed"


async def test_the_end_of_a_long_answer_rides_on_stop_with_the_blocks(
    slack: FakeSlack, customer_message: InboundMessage
) -> None:
    reply = reply_for(slack, customer_message)
    await reply.feed("First words. ")
    await reply.feed(LONG)  # within the append interval: it waits for the end of the answer
    blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": "General Question"}]}]
    await reply.finish(blocks, {"event_type": "t", "event_payload": {}})
    [posted] = slack.thread_replies("C1", customer_message.ts)
    assert posted["text"] == "First words. " + LONG
    assert max(len(text) for text in sent_texts(slack)) <= MARKDOWN_TEXT_LIMIT
    [stop] = slack.calls_to("chat.stopStream")
    assert LONG.endswith(stop.params["markdown_text"]) and posted["blocks"] == blocks


async def test_appends_slack_rate_limits_go_later_in_one_and_the_answer_is_whole(
    slack: FakeSlack, customer_message: InboundMessage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of answers can pass Slack's rate limit on chat.appendStream: the append it refuses (after
    slack_sdk's retries) waits out Retry-After and goes with the next, instead of failing the answer."""
    monkeypatch.setattr(streaming, "APPEND_INTERVAL_S", 0.0)
    reply = reply_for(slack, customer_message)
    await reply.feed("First words. ")
    slack.fail_next("chat.appendStream", status=429, retry_after=1)
    await reply.feed("More ")  # refused: kept
    await reply.feed("and more.")  # within the Retry-After: not sent
    assert [call.ok for call in slack.calls_to("chat.appendStream")] == [False]
    assert await reply.finish(None, {"event_type": "t", "event_payload": {}}) == reply.ts
    [posted] = slack.thread_replies("C1", customer_message.ts)
    assert posted["text"] == "First words. More and more."
    [stop] = slack.calls_to("chat.stopStream")
    assert stop.params["markdown_text"] == "More and more."
    assert stop.time - slack.calls_to("chat.appendStream")[0].time >= 1.0  # Slack's Retry-After, waited


async def test_the_bots_client_leaves_a_rate_limited_append_to_the_reply_not_to_slack_sdk(
    slack: FakeSlack, customer_message: InboundMessage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """slack_sdk's rate-limit handler would sleep out Retry-After with Claude's words waiting unread; the
    twin client the reply streams through fails at once, and the text goes with a later call."""
    monkeypatch.setattr(streaming, "APPEND_INTERVAL_S", 0.0)
    client = slack_client(Settings(slack_api_url=slack.base_url, slack_bot_token=BOT_TOKEN, _env_file=None))
    reply = StreamedReply(client, customer_message, quick_client=without_rate_limit_waits(client))
    await reply.feed("First words. ")
    slack.fail_next("chat.appendStream", status=429, retry_after=1)
    await reply.feed("More.")
    assert [call.ok for call in slack.calls_to("chat.appendStream")] == [False]  # not retried meanwhile
    await reply.finish(None, {"event_type": "t", "event_payload": {}})
    [posted] = slack.thread_replies("C1", customer_message.ts)
    assert posted["text"] == "First words. More."


@pytest.mark.parametrize("status", [429, 500])
async def test_a_stream_slack_will_not_start_yet_is_posted_whole(
    slack: FakeSlack, customer_message: InboundMessage, status: int
) -> None:
    """Rate-limited or failing still after slack_sdk's retries, the start gives way to one message when
    the answer is written (the retry of a failed attempt would ask Claude for it again); with
    SLACK_STREAMING=on, where streaming is required, it fails the attempt."""
    slack.fail_next("chat.startStream", status=status, retry_after=1)
    reply = reply_for(slack, customer_message, required=False)
    await reply.feed("First words.")
    await reply.feed(" And the rest.")
    assert reply.refused and await reply.finish(None, {"event_type": "t", "event_payload": {}}) is None
    assert [len(slack.calls_to(m)) for m in STREAM_METHODS] == [1, 0, 0]
    slack.fail_next("chat.startStream", status=429, retry_after=1)
    with pytest.raises(SlackApiError):
        await reply_for(slack, customer_message).feed("First words.")


async def test_a_stream_slack_stops_taking_goes_on_to_the_end_and_then_fails(
    slack: FakeSlack, customer_message: InboundMessage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An append Slack fails (after slack_sdk's retries) does not cut Claude off mid-answer (the attempt
    would end with no decision, and its retry ask Claude again): the rest is not sent, and finishing
    raises, for the attempt to fail with its answer made (kept for the next one)."""
    monkeypatch.setattr(streaming, "APPEND_INTERVAL_S", 0.0)
    reply = reply_for(slack, customer_message)
    await reply.feed("First words. ")
    slack.fail_next("chat.appendStream", status=500)
    await reply.feed("More ")
    await reply.feed("and more.")
    assert [call.ok for call in slack.calls_to("chat.appendStream")] == [False]
    with pytest.raises(SlackApiError):
        await reply.finish(None, {"event_type": "t", "event_payload": {}})
    assert slack.calls_to("chat.stopStream") == []


async def test_a_stream_its_reader_stopped_ends_there_and_counts_as_posted(
    slack: FakeSlack, customer_message: InboundMessage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The customer stops the answer in Slack (chat.appendStream: stopped_by_user). What they stopped
    stays theirs: the rest is not sent, the writer is told to stop (the answer's request is closed), and
    finishing returns the reply's ts instead of raising, which failed the attempt and had its retry post
    the whole answer they had just stopped."""
    monkeypatch.setattr(streaming, "APPEND_INTERVAL_S", 0.0)
    reply = reply_for(slack, customer_message)
    await reply.feed("First words. ")
    assert reply.ts is not None
    slack.stop_stream_as_user("C1", reply.ts)
    with pytest.raises(AnswerStopped):
        await reply.feed("More ")
    assert [call.response.get("error") for call in slack.calls_to("chat.appendStream")] == ["stopped_by_user"]
    assert await reply.finish(None, {"event_type": "t", "event_payload": {}}) == reply.ts
    [posted] = slack.thread_replies("C1", customer_message.ts)
    assert posted["text"] == "First words. "
    assert len(slack.calls_to("chat.appendStream")) == 1  # nothing more after the stop


async def test_a_stream_its_reader_stopped_after_the_last_append_ends_there_too(
    slack: FakeSlack, customer_message: InboundMessage
) -> None:
    """Stopped between the last append and the stop (Slack answers chat.stopStream
    message_not_in_streaming_state then): finishing raised, the attempt failed, and its retry removed
    the answer the customer had stopped and posted it again, whole."""
    reply = reply_for(slack, customer_message)
    await reply.feed("First words. ")
    await reply.feed("The rest, held for the stop.")  # within the append interval: it waits for finish
    assert reply.ts is not None
    slack.stop_stream_as_user("C1", reply.ts)
    assert await reply.finish(None, {"event_type": "t", "event_payload": {}}) == reply.ts
    assert reply.stopped_by_user
    [posted] = slack.thread_replies("C1", customer_message.ts)
    assert posted["text"] == "First words. "
