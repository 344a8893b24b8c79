"""The Socket Mode connection: slack_sdk's websocket client serving the Bolt app, as Bolt's
``AsyncSocketModeHandler`` does, except once Slack turns the app's Socket Mode off.

slack_sdk reconnects after every ``disconnect`` message, whatever its reason, and after every closed
connection. For ``refresh_requested`` and ``warning`` (every few hours) and a dropped connection that is
right. For ``link_disabled`` (someone turned Socket Mode off in the app's settings) it is not: serve
would go on connecting to a link that delivers nothing, saying only "A new session has been established",
while customers went unanswered. Here that ends the connection for good and sets ``stop``: serve stops,
finishing the messages in flight, and says what to check.

An acknowledgement that cannot be sent because the connection dropped (no close frame: a network change,
a proxy cutting idle sockets) is the first sign of the drop. slack_sdk would log a traceback for it and
notice the dead connection only at its next ping, up to ``PING_INTERVAL_SECONDS`` later; here it is one
warning that says what follows, and a new connection is opened at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from aiohttp import ClientConnectionError
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

# Bolt's AsyncSocketModeHandler's: how often the connection is pinged, and checked for a reconnection.
PING_INTERVAL_SECONDS = 10.0

LINK_DISABLED = (
    "Slack turned Socket Mode off for this app (disconnect: link_disabled): no event reaches serve over "
    "SLACK_APP_TOKEN. Turn it on again (api.slack.com/apps → the app → Settings → Socket Mode, or "
    "socket_mode_enabled: true in manifest.yml) and start serve again; to serve over HTTP instead, unset "
    "SLACK_APP_TOKEN and set SLACK_SIGNING_SECRET"
)


class SocketModeLink(SocketModeClient):
    """The app's Socket Mode connection; ``link_disabled`` is True once Slack turned Socket Mode off,
    and ``stop`` is set then."""

    def __init__(
        self, app: AsyncApp, app_token: str, web_client: AsyncWebClient, stop: asyncio.Event
    ) -> None:
        super().__init__(
            app_token=app_token,
            logger=app.logger,
            web_client=web_client,
            ping_interval=PING_INTERVAL_SECONDS,
        )
        self.link_disabled = False
        self._app = app
        self._stop = stop
        self.socket_mode_request_listeners.append(self._handle)

    async def _handle(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        started = time.time()
        response = await run_async_bolt_app(self._app, request)
        try:
            await send_async_response(client, request, response, started)
        except (ConnectionError, ClientConnectionError) as error:
            logger.warning(
                "The connection to Slack dropped before it had the acknowledgement of %s %s (%s): Slack "
                "delivers an event again, whose claim keeps it answered once; a slash command or a button "
                "shows its user an error to try again. Reconnecting now",
                request.type,
                request.envelope_id,
                error,
            )
            if self.auto_reconnect_enabled and not self.closed:
                await self.connect_to_new_endpoint()

    async def enqueue_message(self, message: str) -> None:
        # Read as it arrives, before the close that follows it: slack_sdk reconnects on that close, and
        # its handling of the queued message would reconnect too.
        if _is_link_disabled(message):
            self.auto_reconnect_enabled = self.default_auto_reconnect_enabled = False
            self.link_disabled = True
            logger.error(
                "Slack turned Socket Mode off for this app (disconnect: link_disabled); serve stops once "
                "the messages being answered are finished"
            )
            self._stop.set()
            return
        await super().enqueue_message(message)


def _is_link_disabled(message: str) -> bool:
    if '"link_disabled"' not in message:
        return False
    try:
        data = json.loads(message)
    except ValueError:
        return False
    return (
        isinstance(data, dict) and data.get("type") == "disconnect" and data.get("reason") == "link_disabled"
    )
