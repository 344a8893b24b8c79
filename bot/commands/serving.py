"""``serve`` and ``db``: the bot itself and its database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.app import SupportBot
from bot.clients import open_router
from bot.server import serve_http, serve_socket_mode, stop_on_signals
from bot.settings import Settings
from bot.store.migrate import upgrade_async
from bot.store.repository import Store

logger = logging.getLogger(__name__)


async def open_store(settings: Settings) -> Store:
    """The store at DATABASE_URL, migrated to the latest revision."""
    store = await Store.connect(settings.database_url, message_text=settings.store_message_text)
    try:
        await upgrade_async(store.engine)
    except BaseException:
        await store.close()
        raise
    return store


async def serve(settings: Settings) -> None:
    """Apply the migrations, then serve Slack until SIGINT or SIGTERM."""
    settings.require_slack()
    if settings.offline:
        logger.warning(
            "No ANTHROPIC_API_KEY: running offline, the local model classifies and offline replies answer."
        )
    async with support_bot(settings) as bot:
        stop = stop_on_signals()
        if settings.socket_mode and settings.slack_app_token is not None:
            await serve_socket_mode(bot, settings.slack_app_token.get_secret_value(), stop)
        else:
            await serve_http(bot, settings.host, settings.port, stop)


@asynccontextmanager
async def support_bot(settings: Settings) -> AsyncIterator[SupportBot]:
    """The bot on a migrated store and a router from settings; all of it closed on exit."""
    store = await open_store(settings)
    try:
        async with open_router(settings) as router:
            bot = SupportBot(settings, router, store)
            try:
                yield bot
            finally:
                await bot.close()
    finally:
        await store.close()


async def db_upgrade(settings: Settings) -> None:
    store = await open_store(settings)
    await store.close()
