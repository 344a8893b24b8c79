"""Requests as Slack sends them to the app: payload builders, and signatures made with the signing secret.

Shapes follow shared/data/slack/events (Events API envelopes, slash command forms, block_actions).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode, urljoin

import aiohttp

from tests.fakes.slack_state import APP_ID, BOT_USER_ID, TEAM_ID

_event_ids = itertools.count(1)


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` headers Slack sends with ``body``."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    base = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def _now_ts() -> str:
    return f"{time.time():.6f}"


def event_callback(
    event: dict[str, Any],
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    event_id: str | None = None,
    *,
    bot_user_id: str = BOT_USER_ID,
    event_time: int | None = None,
) -> dict[str, Any]:
    """The Events API envelope around ``event`` (a fresh ``event_id`` unless given)."""
    return {
        "token": "verification_token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):08d}",
        "event_time": event_time
        if event_time is not None
        else int(float(event.get("event_ts", time.time()))),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event.get('type', 'message')}-{team_id}-{event.get('channel', '')}",
    }


def message_event(
    text: str,
    channel: str,
    user: str | None,
    ts: str | None = None,
    thread_ts: str | None = None,
    channel_type: str = "channel",
    subtype: str | None = None,
    bot_id: str | None = None,
    *,
    team: str = TEAM_ID,
    **extra: Any,
) -> dict[str, Any]:
    """A ``message`` event; ``channel_type`` is ``"channel"``, ``"group"`` or ``"im"``."""
    ts = ts or _now_ts()
    event: dict[str, Any] = {"type": "message", "text": text, "ts": ts, "team": team, "channel": channel}
    if user is not None:
        event["user"] = user
    if subtype is not None:
        event["subtype"] = subtype
    if bot_id is not None:
        event["bot_id"] = bot_id
        event["bot_profile"] = {
            "id": bot_id,
            "deleted": False,
            "name": "bot",
            "app_id": "A222",
            "team_id": team,
        }
    elif subtype is None:
        event["client_msg_id"] = str(uuid.uuid4())
        event["blocks"] = _rich_text(text)
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    event.update({"event_ts": ts, "channel_type": channel_type, **extra})
    return event


def app_mention_event(
    text: str,
    channel: str,
    user: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    *,
    team: str = TEAM_ID,
    **extra: Any,
) -> dict[str, Any]:
    """An ``app_mention`` event (``text`` should contain ``<@BOT_USER_ID>``)."""
    event = message_event(text, channel, user, ts, thread_ts, team=team, **extra)
    event["type"] = "app_mention"
    event.pop("channel_type", None)
    return event


def _rich_text(text: str) -> list[dict[str, Any]]:
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return [{"type": "rich_text", "block_id": uuid.uuid4().hex[:4], "elements": [section]}]


def slash_command_form(
    command: str,
    text: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    team_id: str = TEAM_ID,
    *,
    user_name: str = "user",
    channel_name: str = "support",
    team_domain: str = "test-team",
    api_app_id: str = APP_ID,
    trigger_id: str | None = None,
) -> bytes:
    """The form-encoded body Slack POSTs for a slash command."""
    fields = {
        "token": "verification_token",
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
    }
    return urlencode(fields).encode()


def block_actions_payload(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str,
    message_ts: str,
    response_url: str,
    *,
    block_id: str = "actions",
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    message: dict[str, Any] | None = None,
    action_type: str = "button",
    selected: str | None = None,
    action_ts: str | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on ``action_id`` in the message at ``message_ts``;
    ``selected``: the option chosen in a menu (its text and value alike); ``action_ts``: when it was
    clicked, on Slack's clock as its messages' ts are (now, unless given)."""
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "type": action_type,
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": value, "emoji": True}
    if selected is not None:
        action["selected_option"] = {"text": {"type": "plain_text", "text": selected}, "value": selected}
    action["action_ts"] = action_ts or _now_ts()
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "verification_token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex}",
        "team": {"id": team_id, "domain": "test-team"},
        "channel": {"id": channel_id, "name": "support"},
        "message": message or {"type": "message", "ts": message_ts, "text": ""},
        "response_url": response_url,
        "actions": [action],
    }


def block_actions_form(payload: dict[str, Any]) -> bytes:
    """The form-encoded body (``payload=<json>``) Slack POSTs for interactivity."""
    return urlencode({"payload": json.dumps(payload)}).encode()


async def post_signed(
    session_or_url: aiohttp.ClientSession | str,
    path: str,
    body: bytes | dict[str, Any],
    content_type: str,
    secret: str,
    retry_num: int | None = None,
    timestamp: int | None = None,
) -> tuple[int, str]:
    """POSTs ``body`` signed as Slack would; returns ``(status, text)``.

    With a URL string, ``path`` is joined to it; with a session, ``path`` is used as given (absolute, or
    relative to the session's ``base_url``). A dict body is sent as JSON. ``retry_num`` adds Slack's
    ``X-Slack-Retry-Num`` / ``X-Slack-Retry-Reason`` headers.
    """
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = {"Content-Type": content_type, **sign(raw, secret, timestamp)}
    if retry_num is not None:
        headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
    if isinstance(session_or_url, str):
        url = urljoin(
            session_or_url if session_or_url.endswith("/") else session_or_url + "/", path.lstrip("/")
        )
        async with aiohttp.ClientSession() as session, session.post(url, data=raw, headers=headers) as resp:
            return resp.status, await resp.text()
    async with session_or_url.post(path, data=raw, headers=headers) as resp:
        return resp.status, await resp.text()
