"""Customer messages: claimed before the acknowledgement, answered after it.

The claim runs in a global middleware, i.e. before Bolt acknowledges the event: if the database
cannot take it, Slack gets an error and delivers the event again, so an accepted message is never lost.
Over HTTP, event callbacks are taken the same way (``Intake.accept``, then the worker) by
:mod:`bot.deliveries` without Bolt's dispatch; these listeners serve Socket Mode.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.deliveries import RETRY_HEADER, retried

if TYPE_CHECKING:
    from bot.app import SupportBot

logger = logging.getLogger(__name__)

CLAIMED = "support_router_claimed"


def register(app: AsyncApp, bot: SupportBot) -> None:
    @app.middleware
    async def claim_customer_message(
        body: dict[str, Any],
        context: AsyncBoltContext,
        request: AsyncBoltRequest,
        next: Callable[[], Awaitable[None]],
    ) -> None:
        if body.get("type") == "event_callback":
            retry = (request.headers.get(RETRY_HEADER) or [""])[0]  # (``next`` is Bolt's, here)
            context[CLAIMED] = await bot.intake.accept(body, context.bot_user_id, redelivered=retried(retry))
        await next()

    async def answer(context: AsyncBoltContext) -> None:
        msg = context.get(CLAIMED)
        if msg is not None:
            bot.worker.submit(msg)

    app.event("message")(answer)
    app.event("app_mention")(answer)
