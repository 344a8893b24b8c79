"""The external clients, built from settings in one place with their timeouts and retries explicit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anthropic

from bot.settings import Settings
from router.assemble import build_router
from router.config import RoutesConfig, load_routes
from router.router import Router


def anthropic_client(settings: Settings) -> anthropic.AsyncAnthropic | None:
    """The Anthropic client, or None in offline mode (no ANTHROPIC_API_KEY)."""
    if settings.offline or settings.anthropic_api_key is None:
        return None
    return anthropic.AsyncAnthropic(
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=settings.anthropic_base_url,
        timeout=settings.anthropic_timeout,
        max_retries=settings.anthropic_max_retries,
        # aiohttp's C parser reads the answer streams' many small chunks for a fraction of the CPU
        # that httpx's pure-Python HTTP/1.1 stack (h11) spends on them.
        http_client=anthropic.DefaultAioHttpClient(timeout=settings.anthropic_timeout),
    )


def routes_from(settings: Settings) -> RoutesConfig:
    """The routes file named by ROUTES_FILE, or the packaged default."""
    return load_routes(settings.routes_file)


@asynccontextmanager
async def open_router(settings: Settings, routes: RoutesConfig | None = None) -> AsyncIterator[Router]:
    """A Router built from settings (Claude when a key is set, the offline model otherwise); its HTTP
    client is closed on exit."""
    routes = routes or routes_from(settings)
    client = anthropic_client(settings)
    try:
        yield build_router(routes, client, max_query_chars=settings.max_message_chars)
    finally:
        if client is not None:
            await client.close()
