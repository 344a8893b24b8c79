"""The look at Slack before ``serve`` starts: that Slack answers and takes the bot's token (and, for
Socket Mode, the app-level token), that the bot is in the channels it is set to read and post in, and
that the user groups and members the settings name exist, and that the app has the scopes it needs; with
the wording of what Slack refused, or why it could not be reached, and what to check.

A wrong token or no way to Slack would otherwise be found only after the migrations and the model load;
an uninvited bot hears nothing and says nothing of it; a mistyped group or member id would tag nobody.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clients import slack_client, without_rate_limit_waits
from bot.settings import Settings, SettingsError
from bot.slack_ids import USER_ID, USERGROUP_ID
from bot.slack_scopes import missing_scopes

logger = logging.getLogger(__name__)


async def check_slack(settings: Settings) -> None:
    """Check that Slack answers and accepts SLACK_BOT_TOKEN (``auth.test``) and, for Socket Mode,
    SLACK_APP_TOKEN (``apps.connections.open``: Socket Mode itself retries a refused token for ever).

    Raises:
        SettingsError: one line saying what Slack answered, or why it could not be reached, and what to
            check.
    """
    client = slack_client(settings)
    try:
        identity = await client.auth_test()
        if lacking := missing_scopes(identity.headers.get("x-oauth-scopes")):
            logger.warning("SLACK_BOT_TOKEN: %s", lacking)
        if settings.socket_mode and settings.slack_app_token is not None:
            await client.apps_connections_open(app_token=settings.slack_app_token.get_secret_value())
        # A rate limit is not waited out: the start is worth more than the warning.
        checking = without_rate_limit_waits(client)
        await _warn_of_channels_without_the_bot(checking, settings, str(identity.get("user") or "the bot"))
        await _check_user_groups(checking, settings)
        await _check_users(checking, settings)
    except SlackApiError as e:
        raise SettingsError(slack_refused(settings, e)) from e
    except (aiohttp.ClientError, SlackClientError, TimeoutError, OSError) as e:
        raise SettingsError(slack_unreachable(settings, e)) from e


async def _warn_of_channels_without_the_bot(client: AsyncWebClient, settings: Settings, bot: str) -> None:
    """Warn of each channel of ESCALATION_CHANNEL and SUPPORT_CHANNELS the bot is not in (one history
    read each): uninvited, it hears nothing there, and an escalated DM's notice to the agents cannot be
    posted; nothing else would say so before a customer's message went unanswered."""
    channels = dict.fromkeys(settings.support_channels, "SUPPORT_CHANNELS")
    if settings.escalation_channel:
        channels = {settings.escalation_channel: "ESCALATION_CHANNEL"} | channels
    for channel, setting in channels.items():
        try:
            await client.conversations_history(channel=channel, limit=1)
        except SlackApiError as e:
            error = e.response.get("error")
            if error == "not_in_channel":
                logger.warning(
                    "%s: the bot is not in %s; invite it there (/invite @%s in the channel)",
                    setting,
                    channel,
                    bot,
                )
            elif error == "channel_not_found":
                logger.warning(
                    "%s: Slack shows the bot no channel %s; check the id (at the bottom of the channel's "
                    "details) and, for a private channel, invite the bot there (/invite @%s)",
                    setting,
                    channel,
                    bot,
                )
        except (aiohttp.ClientError, SlackClientError, TimeoutError, OSError):
            return  # Slack answered auth.test a moment ago; a check is not worth stopping the start for


async def _check_user_groups(client: AsyncWebClient, settings: Settings) -> None:
    """Read AGENT_USERGROUP and STATS_USERGROUP once each: a group Slack does not know (a mistyped id)
    stops the start; an empty agents' group, or one Slack cannot list now, is warned of.

    Raises:
        SettingsError: Slack knows no such group (``no_such_subteam``): naming the setting and the fix.
    """
    groups = {"AGENT_USERGROUP": settings.agent_usergroup, "STATS_USERGROUP": settings.stats_usergroup}
    for setting, group in groups.items():
        if not group:
            continue
        try:
            members = (await client.usergroups_users_list(usergroup=group)).get("users") or []
        except SlackApiError as e:
            error = e.response.get("error")
            if error == "no_such_subteam":
                raise SettingsError(
                    f"{setting}: Slack knows no user group {group}; {USERGROUP_ID.fix}, or leave it out"
                ) from e
            logger.warning(
                "%s: cannot list the user group %s now (%s); it is read again later", setting, group, error
            )
            continue
        except (aiohttp.ClientError, SlackClientError, TimeoutError, OSError) as e:
            logger.warning(
                "%s: cannot list the user group %s now (%s); it is read again later",
                setting,
                group,
                type(e).__name__,
            )
            continue
        if not members and setting == "AGENT_USERGROUP":
            logger.warning(
                "AGENT_USERGROUP: the user group %s has no members: escalations tag nobody and no one may "
                "use the agent controls until someone is added",
                group,
            )


async def _check_users(client: AsyncWebClient, settings: Settings) -> None:
    """Read each member of AGENT_USERS, then of STATS_USERS (``users.info``): one Slack does not know (a
    mistyped id) stops the start; a deactivated one is warned of. Slack's own trouble (a 5xx, a missing
    scope, a rate limit) ends the look, not the start.

    Raises:
        SettingsError: Slack knows no such member (``user_not_found``): naming the setting and the fix.
    """
    members = dict.fromkeys(settings.agent_users, "AGENT_USERS")
    members |= {user: "STATS_USERS" for user in settings.stats_users if user not in members}
    for user, setting in members.items():
        try:
            found = (await client.users_info(user=user)).get("user") or {}
        except SlackApiError as e:
            if e.response.get("error") == "user_not_found":
                raise SettingsError(
                    f"{setting}: Slack knows no member {user}; {USER_ID.fix}, or leave it out"
                ) from e
            return
        except (aiohttp.ClientError, SlackClientError, TimeoutError, OSError):
            return
        if found.get("deleted"):
            logger.warning("%s: %s is deactivated in Slack; remove it from the setting", setting, user)


def slack_refused(settings: Settings, error: SlackApiError) -> str:
    """What Slack refused (at start, or as ``serve`` connects) and the token or scope to check."""
    data = error.response.data
    answer = (data.get("error") if isinstance(data, dict) else None) or f"HTTP {error.response.status_code}"
    if error.response.api_url.endswith("/auth.test"):
        return (
            f"SLACK_BOT_TOKEN was refused by Slack ({answer}): copy the Bot User OAuth Token (xoxb-…) "
            "from OAuth & Permissions, and reinstall the app if it was revoked"
        )
    if error.response.api_url.endswith("/apps.connections.open"):
        return (
            f"SLACK_APP_TOKEN was refused by Slack ({answer}): create an app-level token with the "
            "connections:write scope (Basic Information → App-Level Tokens) and enable Socket Mode"
        )
    return f"Slack refused a start-up call ({answer}); check SLACK_BOT_TOKEN and the app's scopes"


def slack_unreachable(settings: Settings, error: BaseException) -> str:
    """Why Slack could not be reached, and the network settings to check."""
    return (
        f"cannot reach Slack at {settings.slack_api_url} ({type(error).__name__}: {error}); check the "
        "network connection and proxy (HTTPS_PROXY), or SLACK_API_URL"
    )
