"""The bot scopes manifest.yml asks Slack for, and what the bot cannot do without each.

``serve`` compares them at start with the scopes Slack says the bot token has: an app created by hand, or
installed before a scope joined the manifest, lacks some until it is reinstalled, and nothing else would
say so (a missing ``users:read`` read as "try again in a minute" to every manager, for ever).
tests/test_manifest.py keeps this list and the manifest's alike.
"""

from __future__ import annotations

BOT_SCOPES = {
    "app_mentions:read": "mentions of the bot are not delivered to it",
    "channels:history": "public channels' messages are not delivered, nor their threads read",
    "groups:history": "private channels' messages are not delivered, nor their threads read",
    "im:history": "direct messages are not delivered, nor read back",
    "im:read": "the catch-up at start cannot find the DMs opened while the bot was away",
    "chat:write": "the bot cannot post anything",
    "commands": "/routing-stats is not delivered",
    "users:read": "/routing-stats cannot tell who is an admin, and members cannot be checked",
    "usergroups:read": "AGENT_USERGROUP and STATS_USERGROUP cannot be read",
}


def missing_scopes(granted: str | None) -> str | None:
    """What the bot cannot do for want of scopes, given Slack's ``X-OAuth-Scopes`` header (the token's
    scopes, comma-separated), in one line with the fix; None when none is missing or Slack did not say."""
    if granted is None:
        return None
    has = {scope.strip() for scope in granted.split(",")}
    lacking = [f"{scope} ({why})" for scope, why in BOT_SCOPES.items() if scope not in has]
    if not lacking:
        return None
    return (
        f"the app lacks the bot scope(s) {'; '.join(lacking)}: update the app's manifest from manifest.yml "
        "(App Manifest in the app's settings) and reinstall it to the workspace"
    )
