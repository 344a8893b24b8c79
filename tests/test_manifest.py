"""manifest.yml validates against Slack's official schema and declares exactly what the code uses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from slack_bolt.async_app import AsyncApp

from bot.app import SupportBot
from bot.settings import Settings
from bot.slack_scopes import BOT_SCOPES
from router.assemble import build_router
from router.routes_file import load_routes

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "data" / "slack" / "manifest-schema" / "manifest.schema.1.0.0.json"
# The Events API subscriptions that deliver each event type the app listens for.
SUBSCRIPTIONS = {
    "message": {"message.channels", "message.groups", "message.im"},
    "app_mention": {"app_mention"},
}
# Scopes each Web API method and subscription needs (Slack's method and event reference pages).
SCOPES = {
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "app_mention": "app_mentions:read",
    "slash commands": "commands",
}


# Every Web API method the code calls, by its slack_sdk name, with the bot scopes it needs (Slack's method
# reference). The conversation readers need the history scope of each kind of conversation the bot reads,
# the same ones its message subscriptions need. auth.test needs none; apps.connections.open is called with
# the app-level token, whose scope (connections:write) is given when that token is made, not here.
HISTORY = {"channels:history", "groups:history", "im:history"}
METHOD_SCOPES: dict[str, set[str]] = {
    "auth_test": set(),
    "apps_connections_open": set(),
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_delete": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_startStream": {"chat:write"},
    "chat_appendStream": {"chat:write"},
    "chat_stopStream": {"chat:write"},
    "conversations_replies": HISTORY,
    "conversations_history": HISTORY,
    # The catch-up at start lists the bot's DMs alone (types=im).
    "conversations_list": {"im:read"},
    "users_info": {"users:read"},
    "usergroups_users_list": {"usergroups:read"},
}
_FAMILIES = (
    r"(?:admin|apps|assistant|auth|bookmarks|bots|calls|canvases|chat|conversations|dialog|dnd|emoji|"
    r"files|pins|reactions|reminders|search|stars|team|usergroups|users|views|workflows)_[A-Za-z_]+"
)
# A method called (``client.chat_postMessage(``), or a client's method handed on to be called by another
# function (a retrying read takes ``self._client.conversations_list`` itself).
_WEB_API_CALL = re.compile(rf"\.({_FAMILIES})\(|client\.({_FAMILIES})\b(?=[,)])")


def web_api_methods() -> set[str]:
    """The Web API methods called anywhere in bot/ (``client.chat_postMessage(`` and the like)."""
    return {
        m.group(1) or m.group(2)
        for path in (ROOT / "bot").rglob("*.py")
        for m in _WEB_API_CALL.finditer(path.read_text())
    }


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


@pytest.fixture
def listeners(monkeypatch: pytest.MonkeyPatch) -> tuple[set[str], set[str], set[str]]:
    """What the app registers: event types, slash commands and block action ids."""
    seen: dict[str, set[str]] = {"event": set(), "command": set(), "action": set()}
    for kind in seen:
        original = getattr(AsyncApp, kind)

        def spy(self, constraint, *args, _kind=kind, _original=original, **kwargs):
            seen[_kind].add(constraint if isinstance(constraint, str) else str(constraint))
            return _original(self, constraint, *args, **kwargs)

        monkeypatch.setattr(AsyncApp, kind, spy)
    settings = Settings(_env_file=None, slack_bot_token="xoxb-x", slack_signing_secret="s")
    routes = load_routes()
    SupportBot(settings, build_router(routes, None), store=None)  # type: ignore[arg-type]
    return seen["event"], seen["command"], seen["action"]


@pytest.mark.skipif(not SCHEMA.exists(), reason="../shared/data/slack/manifest-schema is not present")
def test_manifest_validates_against_the_official_schema(manifest: dict) -> None:
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))


def test_every_event_and_command_listened_for_is_declared(manifest: dict, listeners) -> None:
    events, commands, actions = listeners
    assert events, "the spy saw no listeners"
    declared_events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert declared_events == set().union(*(SUBSCRIPTIONS[e] for e in events))
    declared_commands = {c["command"] for c in manifest["features"].get("slash_commands", [])}
    assert declared_commands == commands
    assert manifest["settings"]["interactivity"]["is_enabled"] is bool(actions)


def test_scopes_are_exactly_those_needed(manifest: dict) -> None:
    called = web_api_methods()
    assert "chat_postMessage" in called, "the scan found none of the bot's calls"
    # A call added without its scopes here would fail in production with missing_scope: name it.
    assert called <= METHOD_SCOPES.keys(), f"add the scopes of {sorted(called - METHOD_SCOPES.keys())}"
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = {SCOPES[e] for e in manifest["settings"]["event_subscriptions"]["bot_events"]}
    needed |= set().union(*(METHOD_SCOPES[method] for method in called))
    if manifest["features"].get("slash_commands"):
        needed.add(SCOPES["slash commands"])
    assert scopes == needed


def test_serve_checks_the_installed_app_for_the_manifests_scopes(manifest: dict) -> None:
    # serve warns at start of each scope the app lacks, from this list: one the manifest adds must be here.
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES.keys()
