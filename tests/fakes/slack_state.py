"""The fake Slack workspace's data: ids, users, user groups and the messages in each channel."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

TEAM_ID = "T111"
TEAM_NAME = "Test Team"
APP_ID = "A111"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_NAME = "support-router"
BOT_TOKEN = "xoxb-test-token"
SIGNING_SECRET = "test-signing-secret"
FIRST_TS = 1_700_000_000_000_100  # microseconds: the first generated ts is "1700000000.000100"


def ts_key(ts: str) -> tuple[int, int]:
    """Sort key of a Slack ``ts`` ("seconds.micros") without float rounding."""
    sec, _, frac = str(ts).partition(".")
    return int(sec), int((frac or "0").ljust(6, "0")[:6])


@dataclass
class Workspace:
    """Users, groups and messages; ``messages[channel]`` holds message dicts shaped like the API's."""

    team_id: str = TEAM_ID
    bot_user_id: str = BOT_USER_ID
    bot_id: str = BOT_ID
    app_id: str = APP_ID
    auto_users: bool = True
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    streams: dict[tuple[str, str], str] = field(default_factory=dict)
    # What each stream carries its text in, from its first call that carried any: markdown_text or chunks.
    stream_modes: dict[tuple[str, str], str] = field(default_factory=dict)
    # The bot's DM channels, as conversations.list shows them (``id``, ``user``, ``created``, ...).
    direct_messages: list[dict[str, Any]] = field(default_factory=list)
    _last_us: int = FIRST_TS - 100

    def next_ts(self) -> str:
        """A fresh ``ts``, strictly after every ts seen so far."""
        self._last_us += 100
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def _saw(self, ts: str) -> None:
        sec, micro = ts_key(ts)
        self._last_us = max(self._last_us, sec * 1_000_000 + micro)

    def add_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """Adds or replaces a user; ``fields`` override the defaults of a plain member."""
        name = fields.pop("name", user_id.lower())
        user = {
            "id": user_id,
            "team_id": fields.pop("team_id", self.team_id),
            "name": name,
            "deleted": False,
            "real_name": fields.pop("real_name", name.title()),
            "tz": "Europe/London",
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": False,
            "is_app_user": False,
        }
        user.update(fields)
        user["profile"] = {"real_name": user["real_name"], "display_name": name, "team": user["team_id"]}
        if user["is_bot"]:
            user["profile"]["bot_id"] = fields.get("bot_id", self.bot_id)
        self.users[user_id] = user
        return user

    def user(self, user_id: str) -> dict[str, Any] | None:
        """The user, made up as a plain member when ``auto_users`` and unknown."""
        if user_id not in self.users and self.auto_users and user_id[:1] in ("U", "W"):
            self.add_user(user_id)
        return self.users.get(user_id)

    def add_message(self, channel: str, message: dict[str, Any]) -> dict[str, Any]:
        """Stores ``message`` (giving it a ts if it has none) and updates its thread's parent."""
        message.setdefault("type", "message")
        message.setdefault("ts", self.next_ts())
        self._saw(message["ts"])
        message.setdefault("team", self.team_id)
        self.messages.setdefault(channel, []).append(message)
        parent_ts = message.get("thread_ts")
        parent = self.find(channel, parent_ts) if parent_ts and parent_ts != message["ts"] else None
        if parent is not None:
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["latest_reply"] = max(message["ts"], parent.get("latest_reply", "0"), key=ts_key)
            users = parent.setdefault("reply_users", [])
            if message.get("user") and message["user"] not in users:
                users.append(message["user"])
            message.setdefault("parent_user_id", parent.get("user"))
        return message

    def find(self, channel: str, ts: str | None) -> dict[str, Any] | None:
        """The message at ``ts`` in ``channel``, if any."""
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The thread's parent and replies, oldest first."""
        found = [m for m in self.messages.get(channel, []) if thread_ts in (m["ts"], m.get("thread_ts"))]
        return sorted(found, key=lambda m: ts_key(m["ts"]))

    def bot_message(self, channel: str, **fields: Any) -> dict[str, Any]:
        """Stores a message posted by the bot."""
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": "",
            **{k: v for k, v in fields.items() if v is not None},
        }
        return self.add_message(channel, message)


def public_copy(message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
    """What ``conversations.replies`` shows of a message (metadata only when asked for)."""
    shown = copy.deepcopy(message)
    if not with_metadata:
        shown.pop("metadata", None)
    return shown


def chunk_text(chunks: Any) -> str:
    """The markdown text carried by ``markdown_text`` streaming chunks."""
    if not isinstance(chunks, list):
        return ""
    return "".join(
        c.get("text", "") for c in chunks if isinstance(c, dict) and c.get("type") == "markdown_text"
    )
