"""Private answers on a ``response_url`` (a slash command's, an agent control's click), seen only by the
person who asked or clicked; a refusal Slack gives there is logged, since nobody else would learn of it."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncRespond

logger = logging.getLogger(__name__)


async def reply_privately(respond: AsyncRespond, what: str, **message: Any) -> str | None:
    """Answer the person privately (an ephemeral message); None once Slack took it, else its refusal (HTTP
    status and body), logged as the refusal of ``what``: a reply Slack refuses (too large, its URL used
    up) would otherwise vanish with no one told.

    Args:
        respond: Bolt's ``respond`` for the request.
        what: What the reply is, for the log ("the /routing-stats answer").
        **message: The message: ``text``, ``blocks``; for a click, ``replace_original=False`` (the message
            clicked stays as it is).
    """
    response = await respond(response_type="ephemeral", **message)
    if response.status_code == 200:
        return None
    refused = f"HTTP {response.status_code}: {str(response.body or '')[:200]}"
    logger.warning("Slack refused %s on its response_url (%s)", what, refused)
    return refused
