"""Slack's streaming methods, chat.startStream, appendStream and stopStream, as the fake answers them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fakes.slack_refusals import Body, fail, refused_metadata, refused_shape
from tests.fakes.slack_state import chunk_text, public_copy

if TYPE_CHECKING:
    from tests.fakes.slack_api import FakeSlack

# Slack's limit on markdown_text in each chat.startStream / appendStream / stopStream call. Its pages name
# no error for a longer text; msg_too_long is what its chat methods answer for a text past their limit.
MARKDOWN_TEXT_LIMIT = 12_000


def _too_long(params: Body) -> bool:
    return len(params.get("markdown_text") or "") > MARKDOWN_TEXT_LIMIT


def _stream_mode(params: Body) -> tuple[str | None, Body | None]:
    """Whether a streaming call carries ``markdown_text`` or ``chunks`` (None: neither); both at once is
    refused."""
    text, chunks = bool(params.get("markdown_text")), params.get("chunks") is not None
    if text and chunks:
        return None, fail("cannot_provide_both_markdown_text_and_chunks")
    return ("chunks" if chunks else "markdown_text" if text else None), None


def chat_start_stream(fake: FakeSlack, params: Body) -> Body:
    channel, thread_ts = params.get("channel"), params.get("thread_ts")
    if not channel or not thread_ts:
        return fail("invalid_arguments")
    mode, refused = _stream_mode(params)
    if refused is not None:
        return refused
    if _too_long(params):
        return fail("msg_too_long")
    if fake.require_stream_recipient and not str(channel).startswith("D"):
        if not params.get("recipient_team_id"):
            return fail("missing_recipient_team_id")
        if not params.get("recipient_user_id"):
            return fail("missing_recipient_user_id")
    text = (params.get("markdown_text") or "") + chunk_text(params.get("chunks"))
    message = fake.workspace.bot_message(channel, text=text, thread_ts=thread_ts)
    fake.workspace.streams[(channel, message["ts"])] = "in_progress"
    if mode is not None:
        fake.workspace.stream_modes[(channel, message["ts"])] = mode
    return {"ok": True, "channel": channel, "ts": message["ts"]}


def _streamed(
    fake: FakeSlack, params: Body, *, text_required: bool
) -> tuple[dict[str, Any] | None, Body | None]:
    """The streamed message an appendStream or stopStream adds to, or Slack's refusal: not found, not the
    app's, not streaming any more, markdown_text and chunks both or (for an append) neither, the other
    of the two than the stream began with, or too long."""
    channel, ts = str(params.get("channel")), str(params.get("ts"))
    message = fake.workspace.find(channel, ts)
    if message is None:
        return None, fail("message_not_found")
    if message.get("user") != fake.bot_user_id:
        return None, fail("message_not_owned_by_app")
    state = fake.workspace.streams.get((channel, ts))
    if state == "stopped_by_user" and text_required:
        return None, fail("stopped_by_user")
    if state != "in_progress":
        return None, fail("message_not_in_streaming_state")
    mode, refused = _stream_mode(params)
    if refused is not None:
        return None, refused
    if mode is None and text_required:
        return None, fail("markdown_text_or_chunks_required")
    began = fake.workspace.stream_modes.setdefault((channel, ts), mode) if mode else None
    if mode is not None and began != mode:
        return None, fail("streaming_mode_mismatch")
    if _too_long(params):
        return None, fail("msg_too_long")
    added = (params.get("markdown_text") or "") + chunk_text(params.get("chunks"))
    if fake.stream_text_limit is not None and len(message["text"]) + len(added) > fake.stream_text_limit:
        return None, fail("msg_too_long")
    message["text"] += added
    return message, None


def chat_append_stream(fake: FakeSlack, params: Body) -> Body:
    _, error = _streamed(fake, params, text_required=True)
    if error is not None:
        return error
    return {"ok": True, "channel": params["channel"], "ts": params["ts"]}


def chat_stop_stream(fake: FakeSlack, params: Body) -> Body:
    if params.get("blocks") and (refused := refused_shape(fake, {"blocks": params["blocks"]})) is not None:
        return refused
    if (refused := refused_metadata(params)) is not None:
        return refused
    message, error = _streamed(fake, params, text_required=False)
    if message is None:
        return error or fail("message_not_found")
    message.update({k: params[k] for k in ("blocks", "metadata") if params.get(k) is not None})
    fake.workspace.streams[(params["channel"], params["ts"])] = "completed"
    return {
        "ok": True,
        "channel": params["channel"],
        "ts": params["ts"],
        "message": public_copy(message, True),
    }
