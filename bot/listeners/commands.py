"""``/routing-stats``: acknowledged at once, answered privately to the caller, numbers only for managers.

Who may read the numbers: ``STATS_USERS`` and members of ``STATS_USERGROUP``; with neither set, the
workspace's admins and owners (``users.info``). When Slack cannot say who they are, the caller is told to
try again rather than refused.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.private_replies import reply_privately
from bot.stats import USAGE, StatsUsageError, build_report, parse_arguments
from bot.stats.blocks import report_blocks, usage_blocks
from bot.stats.period import StatsRequest
from bot.store.errors import StoreError

if TYPE_CHECKING:
    from bot.app import SupportBot
    from bot.settings import Settings

logger = logging.getLogger(__name__)

COMMAND = "/routing-stats"
FAILED = "Sorry, I couldn't read the routing stats just now; please try again in a minute."
ACCESS_UNKNOWN = (
    "Slack cannot say right now whether you may see routing stats, so I couldn't check your access: try "
    "again in a minute."
)


def refusal(settings: Settings) -> str:
    """What a caller who may not see the numbers is told: who may, and who can change that. With neither
    setting, the workspace's admins and owners may, and the member cannot simply be added to STATS_USERS:
    set alone, it would take the admins' access away."""
    refused = "Sorry, routing stats are for support managers"
    if settings.stats_usergroup:
        return f"{refused}: members of <!subteam^{settings.stats_usergroup}>. Ask to be added to it."
    if settings.stats_users:
        return f"{refused}, listed in STATS_USERS: ask whoever runs the support router to add you."
    return (
        f"{refused}; until STATS_USERS or STATS_USERGROUP names them, only workspace admins and owners may "
        "see them. Ask whoever runs the support router to set them."
    )


async def may_read_stats(bot: SupportBot, user_id: str) -> bool | None:
    """Whether ``user_id`` may see the numbers; None when Slack cannot say (the stats group never read,
    or ``users.info`` failing): the caller is then told to try again, not refused."""
    settings = bot.settings
    if settings.stats_users or settings.stats_usergroup:
        return await bot.directory.member_status(user_id, settings.stats_users, settings.stats_usergroup)
    return await bot.directory.workspace_admin_status(user_id)


def register(app: AsyncApp, bot: SupportBot) -> None:
    @app.command(COMMAND)
    async def routing_stats(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        # Acknowledge first: Slack gives three seconds, the report is then sent to the response_url.
        await ack()
        bot.worker.keep_in_flight()
        try:
            await _answer(bot, command, respond)
        except StoreError as e:
            logger.error("routing stats failed: %s", e)
            await _send(respond, text=FAILED)
        except Exception:
            # After the ack, Bolt's error handler can no longer answer: the manager would get nothing.
            logger.exception("routing stats failed")
            await _send(respond, text=FAILED)


async def _answer(bot: SupportBot, command: dict[str, Any], respond: AsyncRespond) -> None:
    """The caller's answer: the usage, a refusal, the help, or the report."""
    try:
        request = parse_arguments(command.get("text") or "")
    except StatsUsageError as e:
        await _send(respond, text=str(e), blocks=usage_blocks(str(e)))
        return
    allowed = await may_read_stats(bot, command["user_id"])
    if not allowed:
        await _send(respond, text=refusal(bot.settings) if allowed is False else ACCESS_UNKNOWN)
        return
    if request.help:
        await _send(respond, text=USAGE, blocks=usage_blocks(USAGE))
        return
    text, blocks = report_blocks(await build_report(bot.store, request))
    if (refused := await _send(respond, text=text, blocks=blocks)) is not None:
        # The figures are there; only their layout was refused: the manager learns where to read them.
        await _send(respond, text=too_large(text, request, refused))


def too_large(summary: str, request: StatsRequest, refused: str) -> str:
    """What a manager whose report Slack refused to show is told: its summary line, and the terminal
    command that prints it whole."""
    channel = f" --channel {request.channel_id}" if request.channel_id else ""
    return (
        f"{summary}. Slack would not show the whole report ({refused}); "
        f"`support-router stats {request.period}{channel}` prints it in a terminal where the bot runs, or "
        "ask for a shorter period or one channel."
    )


async def _send(respond: AsyncRespond, **message: Any) -> str | None:
    """Answer the caller privately; None once Slack took it, else its refusal, logged."""
    return await reply_privately(respond, "the /routing-stats answer", **message)
