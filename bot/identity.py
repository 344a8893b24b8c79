"""Who the bot is in a workspace, learnt from auth.test when it starts: its own messages and mentions are
told apart from everyone else's by it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    """Who the bot is in this workspace (from auth.test)."""

    user_id: str | None
    team_id: str | None
