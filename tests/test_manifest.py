"""manifest.yml validates against Slack's official schema and declares exactly what the code uses."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from slack_bolt.async_app import AsyncApp

from bot.app import SupportBot
from bot.settings import Settings
from router.assemble import build_router
from router.config import load_routes

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
    "chat.postMessage": "chat:write",
    "users.info": "users:read",
    "usergroups.users.list": "usergroups:read",
    "slash commands": "commands",
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
    settings = Settings(_env_file=None, slack_bot_token="xoxb-x", slack_signing_secret="s")  # type: ignore[call-arg]
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
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = {SCOPES[e] for e in manifest["settings"]["event_subscriptions"]["bot_events"]}
    needed |= {SCOPES["chat.postMessage"], SCOPES["users.info"], SCOPES["usergroups.users.list"]}
    if manifest["features"].get("slash_commands"):
        needed.add(SCOPES["slash commands"])
    assert scopes == needed
