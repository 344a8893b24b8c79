"""The Web API methods the fake Slack answers: one function per method, ``(fake, params) -> body``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.fakes.slack_state import chunk_text, public_copy, ts_key

if TYPE_CHECKING:
    from tests.fakes.slack_api import FakeSlack

Body = dict[str, Any]
_MESSAGE_FIELDS = ("blocks", "attachments", "metadata", "username", "icon_emoji", "icon_url")
# Slack's limit on markdown_text in each chat.startStream / appendStream / stopStream call. Its pages name
# no error for a longer text; msg_too_long is what its chat methods answer for a text past their limit.
MARKDOWN_TEXT_LIMIT = 12_000
# chat.postMessage's documented limits: a message's text (msg_too_long), its blocks (invalid_blocks, with
# the JSON pointer of what broke the rule) and a section's text (idem).
MESSAGE_TEXT_LIMIT = 40_000
MAX_BLOCKS = 50
SECTION_TEXT_LIMIT = 3000
# What Slack's maintainers gave as the blocks' text all together (bolt-js #2509: "12,000 text characters
# with a buffer for block containers"); refusals are reported from 11,341 (#2867) to 13,297 (#2509).
BLOCK_TEXT_LIMIT = 12_000


def _fail(error: str) -> Body:
    return {"ok": False, "error": error}


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


def _block_texts(node: Any) -> list[str]:
    """Every ``text`` string in a block tree (section and context text, button and option labels...)."""
    if isinstance(node, list):
        return [text for item in node for text in _block_texts(item)]
    if not isinstance(node, dict):
        return []
    texts = [node["text"]] if isinstance(node.get("text"), str) else []
    return texts + [
        text for value in node.values() if not isinstance(value, str) for text in _block_texts(value)
    ]


def _refused_shape(fake: FakeSlack, params: Body) -> Body | None:
    """Slack's refusal of a message's size or shape, as chat.postMessage answers it (HTTP 200, ok false),
    or None. The blocks' text all together has a limit Slack does not document: ``fake.block_text_limit``."""
    text = params.get("text") or params.get("markdown_text") or ""
    if len(text) > MESSAGE_TEXT_LIMIT:
        return _fail("msg_too_long")
    blocks = params.get("blocks")
    if not blocks:
        return None
    if not isinstance(blocks, list):
        return _fail("invalid_blocks_format")
    problems = (
        []
        if len(blocks) <= MAX_BLOCKS
        else [f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"]
    )
    for n, block in enumerate(blocks):
        section = block.get("text") if isinstance(block, dict) and block.get("type") == "section" else None
        if isinstance(section, dict) and len(str(section.get("text") or "")) > SECTION_TEXT_LIMIT:
            problems.append(
                f"must be less than {SECTION_TEXT_LIMIT + 1} characters [json-pointer:/blocks/{n}/text/text]"
            )
    if problems:
        return {**_fail("invalid_blocks"), "errors": problems, "response_metadata": {"messages": problems}}
    if sum(len(t) for t in _block_texts(blocks)) > fake.block_text_limit:
        return _fail("msg_blocks_too_long")
    return None


def chat_post_message(fake: FakeSlack, params: Body) -> Body:
    channel = params.get("channel")
    if not channel:
        return _fail("channel_not_found")
    text = params.get("text") or params.get("markdown_text")
    if not (text or params.get("blocks") or params.get("attachments")):
        return _fail("no_text")
    if (refused := _refused_shape(fake, params)) is not None:
        return refused
    fields = {k: params.get(k) for k in _MESSAGE_FIELDS}
    message = fake.workspace.bot_message(
        channel, text=text or "", thread_ts=params.get("thread_ts"), **fields
    )
    return {"ok": True, "channel": channel, "ts": message["ts"], "message": public_copy(message, True)}


def chat_post_ephemeral(fake: FakeSlack, params: Body) -> Body:
    channel, user = params.get("channel"), params.get("user")
    if not channel or not user:
        return _fail("channel_not_found" if not channel else "user_not_found")
    if not (params.get("text") or params.get("blocks") or params.get("attachments")):
        return _fail("no_text")
    ts = fake.workspace.next_ts()
    fake.workspace.ephemerals.append({**params, "ts": ts})
    return {"ok": True, "message_ts": ts}


def chat_update(fake: FakeSlack, params: Body) -> Body:
    """Slack's chat.update: ``channel`` and ``ts`` required; the blocks (and attachments) given replace the
    message's, and a text given without blocks removes them (Slack then renders the text); metadata left
    out is kept."""
    channel, ts = params.get("channel"), params.get("ts")
    if not channel:
        return _fail("channel_not_found")
    message = fake.workspace.find(str(channel), ts) if ts else None
    if message is None:
        return _fail("message_not_found")
    if message.get("user") != fake.bot_user_id:
        return _fail("cant_update_message")
    text = params.get("text") or params.get("markdown_text")
    if not (text or params.get("blocks") or params.get("attachments")):
        return _fail("no_text")
    if (refused := _refused_shape(fake, params)) is not None:
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
        return _fail("message_not_found")
    if message.get("user") != fake.bot_user_id:
        return _fail("cant_delete_message")
    fake.workspace.messages[channel].remove(message)
    fake.workspace.streams.pop((channel, str(ts)), None)
    return {"ok": True, "channel": channel, "ts": ts}


def _too_long(params: Body) -> bool:
    return len(params.get("markdown_text") or "") > MARKDOWN_TEXT_LIMIT


def chat_start_stream(fake: FakeSlack, params: Body) -> Body:
    channel, thread_ts = params.get("channel"), params.get("thread_ts")
    if not channel or not thread_ts:
        return _fail("invalid_arguments")
    if _too_long(params):
        return _fail("msg_too_long")
    if fake.require_stream_recipient and not str(channel).startswith("D"):
        if not params.get("recipient_team_id"):
            return _fail("missing_recipient_team_id")
        if not params.get("recipient_user_id"):
            return _fail("missing_recipient_user_id")
    text = (params.get("markdown_text") or "") + chunk_text(params.get("chunks"))
    message = fake.workspace.bot_message(channel, text=text, thread_ts=thread_ts)
    fake.workspace.streams[(channel, message["ts"])] = "in_progress"
    return {"ok": True, "channel": channel, "ts": message["ts"]}


def _streamed(fake: FakeSlack, params: Body) -> tuple[dict[str, Any] | None, Body | None]:
    channel, ts = str(params.get("channel")), str(params.get("ts"))
    message = fake.workspace.find(channel, ts)
    if message is None:
        return None, _fail("message_not_found")
    if fake.workspace.streams.get((channel, ts)) != "in_progress":
        return None, _fail("message_not_in_streaming_state")
    if _too_long(params):
        return None, _fail("msg_too_long")
    added = (params.get("markdown_text") or "") + chunk_text(params.get("chunks"))
    if fake.stream_text_limit is not None and len(message["text"]) + len(added) > fake.stream_text_limit:
        return None, _fail("msg_too_long")
    message["text"] += added
    return message, None


def chat_append_stream(fake: FakeSlack, params: Body) -> Body:
    _, error = _streamed(fake, params)
    if error is not None:
        return error
    return {"ok": True, "channel": params["channel"], "ts": params["ts"]}


def chat_stop_stream(fake: FakeSlack, params: Body) -> Body:
    if params.get("blocks") and (refused := _refused_shape(fake, {"blocks": params["blocks"]})) is not None:
        return refused
    message, error = _streamed(fake, params)
    if message is None:
        return error or _fail("message_not_found")
    message.update({k: params[k] for k in ("blocks", "metadata") if params.get(k) is not None})
    fake.workspace.streams[(params["channel"], params["ts"])] = "completed"
    return {
        "ok": True,
        "channel": params["channel"],
        "ts": params["ts"],
        "message": public_copy(message, True),
    }


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
    if not channel or not ts:
        return _fail("invalid_arguments")
    thread = fake.workspace.thread(str(channel), str(ts))
    if not thread:
        return _fail("thread_not_found")
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
        return _fail("channel_not_found")
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
    return {"ok": True, "user": dict(user)} if user else _fail("user_not_found")


def usergroups_users_list(fake: FakeSlack, params: Body) -> Body:
    members = fake.workspace.usergroups.get(str(params.get("usergroup", "")))
    return {"ok": True, "users": list(members)} if members is not None else _fail("no_such_subteam")


def apps_connections_open(fake: FakeSlack, params: Body) -> Body:
    """Socket Mode: the websocket URL to connect to (set ``fake.socket_mode_url`` first)."""
    url = fake.socket_mode_url
    return {"ok": True, "url": url} if url else _fail("not_allowed_token_type")


HANDLERS: dict[str, Callable[[FakeSlack, Body], Body]] = {
    "apps.connections.open": apps_connections_open,
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.startStream": chat_start_stream,
    "chat.appendStream": chat_append_stream,
    "chat.stopStream": chat_stop_stream,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "conversations.list": conversations_list,
    "users.info": users_info,
    "usergroups.users.list": usergroups_users_list,
}
