"""The external clients, built from settings in one place with their timeouts and retries explicit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import anthropic
import httpx2
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings
from router.assemble import build_router
from router.config import RoutesConfig
from router.router import Router
from router.routes_file import load_routes

SLACK_RETRIES = 3
# The Web API methods that put words in front of a customer. A 5xx or a connection dropped mid-call does
# not say whether Slack did it: sent again blind, the answer (or a stream's words) would show twice. So
# slack_sdk does not repeat them; the attempt fails, and the next one looks in the thread first
# (`Recovery._recover_posted`, bot.recovery). A 429 says Slack did nothing, and is waited out as for any
# other method.
POSTING_METHODS = frozenset({"chat.postMessage", "chat.startStream", "chat.appendStream"})


def _posts(request: HttpRequest) -> bool:
    return request.url.rsplit("/", 1)[-1] in POSTING_METHODS


class _ServerErrorRetries(AsyncServerErrorRetryHandler):
    """5xx retried, except for the posting methods (see :data:`POSTING_METHODS`)."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return not _posts(request) and await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


class _ConnectionErrorRetries(AsyncConnectionErrorRetryHandler):
    """Connection errors retried; for the posting methods only a connection never made (nothing sent)."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if _posts(request) and not isinstance(error, aiohttp.ClientConnectorError):
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client, retrying 429 (honouring Retry-After), connection errors and 5xx (the last two
    not for a post: see :data:`POSTING_METHODS`)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        retry_handlers=[
            _ConnectionErrorRetries(max_retry_count=SLACK_RETRIES),
            AsyncRateLimitErrorRetryHandler(max_retry_count=SLACK_RETRIES),
            _ServerErrorRetries(max_retry_count=SLACK_RETRIES),
        ],
    )


def without_rate_limit_waits(client: AsyncWebClient) -> AsyncWebClient:
    """``client``'s twin (same token, address, session and other retries) that does not wait out a rate
    limit: its caller has something better to do than wait (see ``bot.streaming.StreamedReply``)."""
    return AsyncWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        session=client.session,
        logger=client.logger,
        retry_handlers=[
            h for h in client.retry_handlers if not isinstance(h, AsyncRateLimitErrorRetryHandler)
        ],
    )


def anthropic_client(settings: Settings) -> anthropic.AsyncAnthropic | None:
    """The Anthropic client, or None in offline mode (no ANTHROPIC_API_KEY)."""
    if settings.offline or settings.anthropic_api_key is None:
        return None
    return anthropic.AsyncAnthropic(
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=settings.anthropic_base_url,
        timeout=settings.anthropic_timeout,
        max_retries=settings.anthropic_max_retries,
        http_client=_http_client(settings),
    )


# aiohttp pauses a connection's socket once more than twice this many unread bytes wait for the reader.
# Its default (64 KiB) keeps reading: every few tokens of an answer, sent as their own event, wake the
# loop and go through the HTTP parser on their own. With one byte the socket rests while the handler
# paces its reads (router.handlers.READ_INTERVAL_SECONDS), the events gather in the kernel and come in
# one read: less than half the CPU of the router with the SDK (docs/performance.md).
STREAM_READ_BUFFER_BYTES = 1


def _http_client(settings: Settings) -> httpx2.AsyncClient:
    """The SDK's aiohttp client (aiohttp's C parser reads the answer streams' many small chunks for a
    fraction of the CPU of httpx's pure-Python HTTP/1.1), its connections resting between reads."""
    return _RestingAioHttpClient(timeout=settings.anthropic_timeout)


class _RestingAioHttpClient(anthropic.DefaultAioHttpClient):
    # The transports are still built by the SDK's client, so proxies from the environment
    # (HTTPS_PROXY, NO_PROXY) keep working: passing a transport of our own would turn them off.
    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx2.AsyncBaseTransport:
        return _resting(super()._init_transport(*args, **kwargs))

    def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> httpx2.AsyncBaseTransport:
        return _resting(super()._init_proxy_transport(*args, **kwargs))


def _resting(transport: httpx2.AsyncBaseTransport) -> httpx2.AsyncBaseTransport:
    """The SDK's aiohttp transport, its sessions built with :data:`STREAM_READ_BUFFER_BYTES`."""
    try:
        # The SDK's transport for aiohttp (vendored from httpx-aiohttp) takes a session factory.
        from anthropic._vendor.httpx_aiohttp import AiohttpTransport
    except ImportError:  # a later SDK moved it: its own sessions, with aiohttp's default buffer
        return transport
    if not isinstance(transport, AiohttpTransport) or transport.client is not None:
        return transport
    if transport.uds or transport.local_address:
        return transport  # connections the factory below does not build

    def session() -> aiohttp.ClientSession:
        # What the transport builds itself (its limits, certificates), plus the read buffer.
        limits = transport.limits
        connector = aiohttp.TCPConnector(
            keepalive_timeout=limits.keepalive_expiry,
            ssl=transport.ssl_context,
            limit=limits.max_connections or 0,  # None: no limit (aiohttp's 0)
        )
        return aiohttp.ClientSession(connector=connector, read_bufsize=STREAM_READ_BUFFER_BYTES)

    transport.client = session
    return transport


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
