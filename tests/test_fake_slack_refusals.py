"""The fake Slack Web API refuses what Slack refuses, with Slack's error codes (HTTP 200, ``ok: false``),
and reads a thread as Slack does: a fake that took what Slack refuses would let the suite pass while
production failed. The codes are those Slack's method pages list (docs.slack.dev/reference/methods/...)."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import FakeSlack

REPLY = {"event_type": "support_router_reply", "event_payload": {"message_ts": "1.2"}}
CHUNK = [{"type": "markdown_text", "text": "chunked"}]


async def _refused(call: Any) -> str:
    with pytest.raises(SlackApiError) as failed:
        await call
    assert failed.value.response.status_code == 200 and failed.value.response["ok"] is False
    return str(failed.value.response["error"])


async def _stream(web_client: AsyncWebClient, **start: Any) -> str:
    root = await web_client.chat_postMessage(channel="D1", text="help")
    return str((await web_client.chat_startStream(channel="D1", thread_ts=root["ts"], **start))["ts"])


async def test_an_append_carries_markdown_text_or_chunks_one_of_the_two(
    slack: FakeSlack, web_client: AsyncWebClient
) -> None:
    """chat.appendStream: markdown_text or chunks is required, not both, and the one the stream began with."""
    ts = await _stream(web_client, markdown_text="Hello")
    assert (
        await _refused(web_client.chat_appendStream(channel="D1", ts=ts))
        == "markdown_text_or_chunks_required"
    )
    assert await _refused(
        web_client.chat_appendStream(channel="D1", ts=ts, markdown_text="x", chunks=CHUNK)
    ) == ("cannot_provide_both_markdown_text_and_chunks")
    assert await _refused(web_client.chat_appendStream(channel="D1", ts=ts, chunks=CHUNK)) == (
        "streaming_mode_mismatch"
    )
    await web_client.chat_appendStream(channel="D1", ts=ts, markdown_text=" there")
    assert (
        await _refused(web_client.chat_stopStream(channel="D1", ts=ts, chunks=CHUNK))
        == "streaming_mode_mismatch"
    )
    await web_client.chat_stopStream(channel="D1", ts=ts)
    assert slack.messages("D1")[-1]["text"] == "Hello there"
    # A stream begun with nothing takes either, then keeps to it.
    chunked = await _stream(web_client)
    await web_client.chat_appendStream(channel="D1", ts=chunked, chunks=CHUNK)
    assert await _refused(web_client.chat_appendStream(channel="D1", ts=chunked, markdown_text="x")) == (
        "streaming_mode_mismatch"
    )


async def test_only_the_apps_own_streaming_message_takes_appends(
    slack: FakeSlack, web_client: AsyncWebClient
) -> None:
    someone = slack.add_message("D1", None, "U1", "mine")
    appended = web_client.chat_appendStream(channel="D1", ts=someone["ts"], markdown_text="x")
    assert await _refused(appended) == "message_not_owned_by_app"
    posted = await web_client.chat_postMessage(channel="D1", text="not a stream")
    appended = web_client.chat_appendStream(channel="D1", ts=posted["ts"], markdown_text="x")
    assert await _refused(appended) == "message_not_in_streaming_state"


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ("not json", "invalid_metadata_format"),
        ({"event_payload": {"a": 1}}, "invalid_metadata_schema"),
        ({"event_type": "support_router_reply"}, "invalid_metadata_schema"),
        ({"event_type": "support_router_reply", "event_payload": "1.2"}, "invalid_metadata_schema"),
    ],
)
async def test_metadata_without_its_event_type_and_payload_is_refused(
    slack: FakeSlack, web_client: AsyncWebClient, metadata: Any, error: str
) -> None:
    """Message metadata is an object with an ``event_type`` and an ``event_payload`` object
    (docs.slack.dev/messaging/message-metadata), on chat.postMessage, chat.update and chat.stopStream."""
    assert await _refused(web_client.chat_postMessage(channel="C1", text="x", metadata=metadata)) == error
    posted = await web_client.chat_postMessage(channel="C1", text="x", metadata=REPLY)
    assert (
        await _refused(web_client.chat_update(channel="C1", ts=posted["ts"], text="y", metadata=metadata))
        == error
    )
    ts = await _stream(web_client, markdown_text="Hello")
    assert await _refused(web_client.chat_stopStream(channel="D1", ts=ts, metadata=metadata)) == error
    assert slack.stream_state("D1", ts) == "in_progress"
    assert [m["text"] for m in slack.messages("C1")] == ["x"]


async def test_a_replys_ts_reads_its_whole_thread(slack: FakeSlack, web_client: AsyncWebClient) -> None:
    """conversations.replies: ``ts`` is "either a thread's parent message or a message in the thread";
    one that names no message is thread_not_found, and no channel channel_not_found."""
    root = slack.add_message("C1", None, "U1", "question")
    reply = slack.add_message("C1", None, "U2", "answer", thread_ts=root["ts"])
    slack.add_message("C1", None, "U1", "thanks", thread_ts=root["ts"])
    whole = await web_client.conversations_replies(channel="C1", ts=reply["ts"])
    assert [m["text"] for m in whole["messages"]] == ["question", "answer", "thanks"]
    lone = slack.add_message("C1", None, "U1", "unthreaded")
    assert [
        m["text"] for m in (await web_client.conversations_replies(channel="C1", ts=lone["ts"]))["messages"]
    ] == ["unthreaded"]
    assert await _refused(web_client.conversations_replies(channel="C1", ts="1.000001")) == "thread_not_found"
    assert await _refused(web_client.api_call("conversations.replies", params={"ts": root["ts"]})) == (
        "channel_not_found"
    )


async def test_an_ephemeral_message_has_a_messages_limits(
    slack: FakeSlack, web_client: AsyncWebClient
) -> None:
    """chat.postEphemeral refuses what chat.postMessage refuses for its size and shape (msg_too_long,
    invalid_blocks, markdown_text_conflict), and nothing reaches the user."""
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert (
        await _refused(web_client.chat_postEphemeral(channel="C1", user="U1", text="x" * 40_001))
        == "msg_too_long"
    )
    refused = web_client.chat_postEphemeral(channel="C1", user="U1", text="x", blocks=[section])
    assert await _refused(refused) == "invalid_blocks"
    refused = web_client.chat_postEphemeral(channel="C1", user="U1", text="x", markdown_text="**x**")
    assert await _refused(refused) == "markdown_text_conflict"
    assert slack.workspace.ephemerals == []
    await web_client.chat_postEphemeral(channel="C1", user="U1", markdown_text="**x**")
    assert [e["markdown_text"] for e in slack.workspace.ephemerals] == ["**x**"]
    assert await _refused(web_client.chat_postMessage(channel="C1", text="x", markdown_text="**x**")) == (
        "markdown_text_conflict"
    )


async def test_a_stream_its_reader_stopped_takes_no_more(
    slack: FakeSlack, web_client: AsyncWebClient
) -> None:
    """chat.appendStream: stopped_by_user, "the streaming message was stopped by the user and no further
    appends are accepted"; the stream cannot be stopped again either."""
    ts = await _stream(web_client, markdown_text="First words")
    slack.stop_stream_as_user("D1", ts)
    assert (
        await _refused(web_client.chat_appendStream(channel="D1", ts=ts, markdown_text=" more"))
        == "stopped_by_user"
    )
    assert await _refused(web_client.chat_stopStream(channel="D1", ts=ts)) == "message_not_in_streaming_state"
    assert slack.messages("D1")[-1]["text"] == "First words"
    assert slack.stream_state("D1", ts) == "stopped_by_user"
