"""The Web API methods the fake Slack answers: one function per method, ``(fake, params) -> body``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.fakes import slack_streams
from tests.fakes.slack_refusals import (
    BLOCK_TEXT_LIMIT,
    Body,
    fail,
    refused_markdown,
    refused_metadata,
    refused_shape,
)
from tests.fakes.slack_state import public_copy, ts_key

if TYPE_CHECKING:
    from tests.fakes.slack_api import FakeSlack

_MESSAGE_FIELDS = ("blocks", "attachments", "metadata", "username", "icon_emoji", "icon_url")


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def auth_test(fake: FakeSlack, params: Body) -> Body:
    return {
        "ok": True,
        "url": f"https://{fake.team.lower().replace(' ', '-')}.slack.com/",
        "team": fake.team,
        "user": fake.bot_name,
        "team_id": fake.team_id,
        "user_id": fake.bot_user_id,
        "bot_id": fake.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(fake: FakeSlack, params: Body) -> Body:
    channel = params.get("channel")
    if not channel:
        return fail("channel_not_found")
    text = params.get("text") or params.get("markdown_text")
    if not (text or params.get("blocks") or params.get("attachments")):
        return fail("no_text")
    if (
        refused := refused_markdown(params) or refused_shape(fake, params) or refused_metadata(params)
    ) is not None:
        return refused
    fields = {k: params.get(k) for k in _MESSAGE_FIELDS}
    message = fake.workspace.bot_message(
        channel, text=text or "", thread_ts=params.get("thread_ts"), **fields
    )
    return {"ok": True, "channel": channel, "ts": message["ts"], "message": public_copy(message, True)}


def chat_post_ephemeral(fake: FakeSlack, params: Body) -> Body:
    channel, user = params.get("channel"), params.get("user")
    if not channel or not user:
        return fail("channel_not_found" if not channel else "user_not_found")
    if not (
        params.get("text") or params.get("markdown_text") or params.get("blocks") or params.get("attachments")
    ):
        return fail("no_text")
    # Ephemeral messages have the same limits on their text and blocks; their metadata is ignored.
    if (refused := refused_markdown(params) or refused_shape(fake, params)) is not None:
        return refused
    ts = fake.workspace.next_ts()
    fake.workspace.ephemerals.append({**params, "ts": ts})
    return {"ok": True, "message_ts": ts}


def chat_update(fake: FakeSlack, params: Body) -> Body:
    """Slack's chat.update: ``channel`` and ``ts`` required; the blocks (and attachments) given replace the
    message's, and a text given without blocks removes them (Slack then renders the text); metadata left
    out is kept."""
    channel, ts = params.get("channel"), params.get("ts")
    if not channel:
        return fail("channel_not_found")
    message = fake.workspace.find(str(channel), ts) if ts else None
    if message is None:
        return fail("message_not_found")
    if message.get("user") != fake.bot_user_id:
        return fail("cant_update_message")
    text = params.get("text") or params.get("markdown_text")
    if not (text or params.get("blocks") or params.get("attachments")):
        return fail("no_text")
    if (refused := refused_shape(fake, params) or refused_metadata(params)) is not None:
        return refused
    if text is not None:
        message["text"] = text
        if "blocks" not in params:
            message.pop("blocks", None)
    message.update({k: params[k] for k in _MESSAGE_FIELDS if k in params})
    message["edited"] = {"user": fake.bot_user_id, "ts": fake.workspace.next_ts()}
    return {
        "ok": True,
        "channel": channel,
        "ts": ts,
        "text": message["text"],
        "message": public_copy(message, True),
    }


def chat_delete(fake: FakeSlack, params: Body) -> Body:
    channel, ts = str(params.get("channel")), params.get("ts")
    message = fake.workspace.find(channel, ts)
    if message is None:
        return fail("message_not_found")
    if message.get("user") != fake.bot_user_id:
        return fail("cant_delete_message")
    fake.workspace.messages[channel].remove(message)
    fake.workspace.streams.pop((channel, str(ts)), None)
    return {"ok": True, "channel": channel, "ts": ts}


def _page(messages: list[Body], params: Body, *, default_limit: int) -> Body:
    """One page of ``messages`` as the conversations.* methods return it (cursor = offset)."""
    start = int(params.get("cursor") or 0)
    limit = int(params.get("limit") or default_limit)
    more = start + limit < len(messages)
    metadata = _truthy(params.get("include_all_metadata"))
    return {
        "ok": True,
        "messages": [public_copy(m, metadata) for m in messages[start : start + limit]],
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def conversations_replies(fake: FakeSlack, params: Body) -> Body:
    channel, ts = params.get("channel"), params.get("ts")
    if not channel:
        return fail("channel_not_found")
    # ``ts`` may be the thread's parent or any message in it: either way, the whole thread.
    message = fake.workspace.find(str(channel), str(ts)) if ts else None
    if message is None:
        return fail("thread_not_found")
    thread = fake.workspace.thread(str(channel), str(message.get("thread_ts") or message["ts"]))
    # The parent comes first whatever the range, as Slack gives it; the replies between the bounds.
    inside = _between(params)
    return _page(thread[:1] + [m for m in thread[1:] if inside(m)], params, default_limit=1000)


def _between(params: Body) -> Callable[[Body], bool]:
    """Whether a message is between ``oldest`` and ``latest`` (both exclusive unless ``inclusive``)."""
    inclusive = _truthy(params.get("inclusive"))
    latest = ts_key(str(params["latest"])) if params.get("latest") else None
    oldest = ts_key(str(params["oldest"])) if params.get("oldest") else None

    def inside(m: Body) -> bool:
        key = ts_key(m["ts"])
        if latest is not None and (key > latest or (key == latest and not inclusive)):
            return False
        return oldest is None or key > oldest or (key == oldest and inclusive)

    return inside


def conversations_history(fake: FakeSlack, params: Body) -> Body:
    """A channel's top-level messages (and thread broadcasts), newest first, between ``oldest`` and
    ``latest`` (both exclusive unless ``inclusive``)."""
    channel = params.get("channel")
    if not channel:
        return fail("channel_not_found")
    inside = _between(params)
    top = [
        m
        for m in fake.workspace.messages.get(str(channel), [])
        if (m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast") and inside(m)
    ]
    top.sort(key=lambda m: ts_key(m["ts"]), reverse=True)
    return _page(top, params, default_limit=100)


def conversations_list(fake: FakeSlack, params: Body) -> Body:
    """The bot's conversations of ``types``: only DMs (``im``) are kept here; cursor = offset."""
    types = str(params.get("types") or "public_channel").split(",")
    found = list(fake.workspace.direct_messages) if "im" in types else []
    start, limit = int(params.get("cursor") or 0), int(params.get("limit") or 100)
    more = start + limit < len(found)
    return {
        "ok": True,
        "channels": [dict(c) for c in found[start : start + limit]],
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def users_info(fake: FakeSlack, params: Body) -> Body:
    user = fake.workspace.user(str(params.get("user", "")))
    return {"ok": True, "user": dict(user)} if user else fail("user_not_found")


def usergroups_users_list(fake: FakeSlack, params: Body) -> Body:
    members = fake.workspace.usergroups.get(str(params.get("usergroup", "")))
    return {"ok": True, "users": list(members)} if members is not None else fail("no_such_subteam")


def apps_connections_open(fake: FakeSlack, params: Body) -> Body:
    """Socket Mode: the websocket URL to connect to (set ``fake.socket_mode_url`` first)."""
    url = fake.socket_mode_url
    return {"ok": True, "url": url} if url else fail("not_allowed_token_type")


__all__ = ["BLOCK_TEXT_LIMIT", "HANDLERS"]

HANDLERS: dict[str, Callable[[FakeSlack, Body], Body]] = {
    "apps.connections.open": apps_connections_open,
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.startStream": slack_streams.chat_start_stream,
    "chat.appendStream": slack_streams.chat_append_stream,
    "chat.stopStream": slack_streams.chat_stop_stream,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "conversations.list": conversations_list,
    "users.info": users_info,
    "usergroups.users.list": usergroups_users_list,
}
