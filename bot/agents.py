"""Who the agents are (AGENT_USERS, AGENT_USERGROUP) and who may read the stats."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

GROUP_CACHE_SECONDS = 300.0


class Directory:
    """Membership checks against configured users and user groups, with a short cache.

    The agents (AGENT_USERS, AGENT_USERGROUP) are given at construction: who they are decides whose words
    in a thread are an agent's.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        agent_users: Sequence[str] = (),
        agent_usergroup: str | None = None,
        cache_seconds: float = GROUP_CACHE_SECONDS,
    ) -> None:
        self._client = client
        self._agent_users = tuple(agent_users)
        self._agent_usergroup = agent_usergroup
        self._cache_seconds = cache_seconds
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    @property
    def agents_configured(self) -> bool:
        return bool(self._agent_users or self._agent_usergroup)

    async def is_agent(self, user_id: str) -> bool:
        """A configured agent; with none configured, nobody is known to be one."""
        return await self.is_member(user_id, self._agent_users, self._agent_usergroup)

    async def group_members(self, usergroup: str) -> frozenset[str]:
        """Members of ``usergroup`` (empty, and logged, when Slack cannot say)."""
        cached = self._groups.get(usergroup)
        if cached and time.monotonic() - cached[0] < self._cache_seconds:
            return cached[1]
        try:
            response = await self._client.usergroups_users_list(usergroup=usergroup)
            members = frozenset(response.get("users") or [])
        except SlackApiError as e:
            logger.warning("cannot list user group %s: %s", usergroup, e.response.get("error"))
            members = cached[1] if cached else frozenset()
        self._groups[usergroup] = (time.monotonic(), members)
        return members

    async def is_member(self, user_id: str, users: Sequence[str], usergroup: str | None) -> bool:
        """True when ``user_id`` is listed in ``users`` or belongs to ``usergroup``."""
        if user_id in users:
            return True
        return bool(usergroup) and user_id in await self.group_members(usergroup or "")

    async def is_admin(self, user_id: str) -> bool:
        """True for workspace admins and owners."""
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as e:
            logger.warning("cannot look up user %s: %s", user_id, e.response.get("error"))
            return False
        user = response.get("user") or {}
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
