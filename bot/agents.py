"""Who the agents are (AGENT_USERS, AGENT_USERGROUP) and who may read the stats."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.escalation_messages import agent_mentions

logger = logging.getLogger(__name__)

GROUP_CACHE_SECONDS = 300.0
# After a failed usergroups.users.list, Slack is asked again this soon. Meanwhile the members last read
# are kept (stale beats empty) or, when none were ever read, the group is unknown: not cached as "no
# members" for GROUP_CACHE_SECONDS, nor asked for again on every message while Slack is down.
LOOKUP_RETRY_SECONDS = 5.0


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
        retry_seconds: float = LOOKUP_RETRY_SECONDS,
    ) -> None:
        self._client = client
        self._agent_users = tuple(agent_users)
        self._agent_usergroup = agent_usergroup
        self._cache_seconds = cache_seconds
        self._retry_seconds = retry_seconds
        # Per user group: when to ask Slack again, and the members last read (None: never read).
        self._groups: dict[str, tuple[float, frozenset[str] | None]] = {}
        # Per user group: the read under way, shared by every caller that needs it meanwhile.
        self._reading: dict[str, asyncio.Task[frozenset[str] | None]] = {}

    @property
    def agents_configured(self) -> bool:
        return bool(self._agent_users or self._agent_usergroup)

    @property
    def agents_unknown(self) -> bool:
        """Whether the agents' user group was never read (Slack failed): who is an agent is not known."""
        if not self._agent_usergroup:
            return False
        cached = self._groups.get(self._agent_usergroup)
        return cached is None or cached[1] is None

    async def is_agent(self, user_id: str, *, wait: bool = True) -> bool:
        """A configured agent; with none configured, nobody is known to be one. False too when the agents'
        user group cannot be read (see :meth:`agent_status` to tell that apart)."""
        return bool(await self.agent_status(user_id, wait=wait))

    async def agent_status(self, user_id: str, *, wait: bool = True) -> bool | None:
        """Whether ``user_id`` is a configured agent, or None when nobody can say: the user is not in
        AGENT_USERS and AGENT_USERGROUP has never been read (Slack failed). A caller with a safer guess
        than "not an agent" for such a user can make it.

        ``wait=False`` answers from what is known now, never waiting on Slack (the intake answers Slack
        within its three seconds): a group due for reading is read in the background meanwhile.
        """
        return await self.member_status(user_id, self._agent_users, self._agent_usergroup, wait=wait)

    async def mentions(self) -> str:
        """Every agent tagged once, as an escalation or a reminder tags them: AGENT_USERGROUP, and those
        of AGENT_USERS its tag does not reach already (its members, as last read). Slack notifies a
        group's members of its tag: an agent listed and in the group, tagged by both, was notified twice.
        While the group's members are unknown (Slack never listed them), all of AGENT_USERS: a second
        notification beats none. Never waits on Slack (the members as known now; a read due runs in the
        background): an escalation is not held back for a list read at start."""
        group, users = self._agent_usergroup, self._agent_users
        members = await self._members(group, wait=False) if group else None
        if members is not None:
            users = tuple(user for user in users if user not in members)
        return agent_mentions(users, group)

    async def warm(self) -> None:
        """Read the agents' user group once, so that the first messages find it known."""
        if self._agent_usergroup:
            await self._members(self._agent_usergroup)

    async def _members(self, usergroup: str, *, wait: bool = True) -> frozenset[str] | None:
        """Members of ``usergroup``, read at most every ``cache_seconds``; after a failure the previous
        members (None if there are none) until Slack is asked again ``retry_seconds`` later.

        One read of a group at a time: callers that arrive while it is under way share it (a burst of
        messages makes one call, not one each). Without ``wait``, the members known now are returned and
        a read that is due runs in the background.
        """
        cached = self._groups.get(usergroup)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        reading = self._reading.get(usergroup)
        if reading is None:
            reading = asyncio.create_task(self._read(usergroup), name=f"usergroup {usergroup}")
            self._reading[usergroup] = reading
            reading.add_done_callback(lambda _: self._reading.pop(usergroup, None))
        if not wait:
            return cached[1] if cached is not None else None
        return await asyncio.shield(reading)

    async def _read(self, usergroup: str) -> frozenset[str] | None:
        cached = self._groups.get(usergroup)
        try:
            response = await self._client.usergroups_users_list(usergroup=usergroup)
        except Exception as e:  # SlackApiError, or the connection itself (aiohttp, timeouts)
            previous = cached[1] if cached is not None else None
            error = e.response.get("error") if isinstance(e, SlackApiError) else type(e).__name__
            logger.warning(
                "cannot list user group %s: %s (%s; asking again in %gs)",
                usergroup,
                error,
                "keeping its last members" if previous is not None else "its members are unknown",
                self._retry_seconds,
            )
            self._groups[usergroup] = (time.monotonic() + self._retry_seconds, previous)
            return previous
        members = frozenset(response.get("users") or [])
        self._groups[usergroup] = (time.monotonic() + self._cache_seconds, members)
        return members

    async def member_status(
        self, user_id: str, users: Sequence[str], usergroup: str | None, *, wait: bool = True
    ) -> bool | None:
        """Whether ``user_id`` is listed in ``users`` or belongs to ``usergroup``; None when nobody can
        say: not listed, and the group has never been read (Slack failed). The members last read stand in
        for the group while Slack cannot list it (stale beats unknown)."""
        if user_id in users:
            return True
        if not usergroup:
            return False
        members = await self._members(usergroup, wait=wait)
        return None if members is None else user_id in members

    async def workspace_admin_status(self, user_id: str) -> bool | None:
        """Whether ``user_id`` is a workspace admin or owner; None, logged, when Slack cannot say (an error,
        a 5xx after slack_sdk's retries, a timeout): "not an admin" would refuse an admin for Slack's
        outage and tell them to ask for access they have."""
        try:
            response = await self._client.users_info(user=user_id)
        except Exception as e:  # SlackApiError, or the connection itself (aiohttp, timeouts)
            error = e.response.get("error") if isinstance(e, SlackApiError) else type(e).__name__
            logger.warning("cannot look up user %s: %s", user_id, error)
            return None
        user = response.get("user") or {}
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
