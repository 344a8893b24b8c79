"""The line under the agent controls that shows the team the verdict on record: "✓ Route to Refund
Request confirmed by @ann", "↪ Re-routed to Technical Support by @bob". After a click, the message the
controls sit under (an answer, an escalation, a DM's notice) is updated in place with it, its answer,
blocks and metadata as they were, so that a second agent sees a colleague has judged it before judging
it again. The latest verdict is the one on record and shown; the same verdict again, by another agent,
leaves the first agent's (:func:`repeats`).

Customers read the answers in a support channel, controls and line included: the line says what was
done, in the words of the controls, and nothing of the bot being wrong.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.formatting import CONTROLS_BLOCK
from bot.mrkdwn_inline import escape
from bot.slack_errors import SLACK_ERRORS, why
from bot.slack_ids import is_dm_channel
from bot.store.feedback import Feedback, Verdict

logger = logging.getLogger(__name__)

VERDICT_BLOCK = "agent_verdict:"
# Blocks that show a message's words; a streamed answer has none of them: its words are the message's
# text, which blocks sent with chat.update would replace on screen.
_CONTENT = frozenset({"section", "markdown", "rich_text", "header"})


def repeats(earlier: Feedback | None, user: str, verdict: Verdict, category: str | None = None) -> bool:
    """Whether ``verdict`` (``category``: a re-route's) is the one another agent has on record already:
    theirs stays, and their name under the controls."""
    chosen = category if verdict is Verdict.REROUTED else None
    return (
        earlier is not None
        and earlier.agent_id != user
        and (earlier.verdict, earlier.category) == (verdict, chosen)
    )


def verdict_line(feedback: Feedback, routed: str) -> str:
    """The verdict on record and the agent who gave it, as the team reads it under the controls;
    ``routed``: the category the classifier chose, named because the controls under a re-routed answer
    judge that route too, not the answer's."""
    if feedback.verdict is Verdict.REROUTED:
        return f"↪ Re-routed to *{escape(feedback.category or '')}* by <@{feedback.agent_id}>"
    return f"✓ Route to *{escape(routed)}* confirmed by <@{feedback.agent_id}>"


def with_verdict(message: dict[str, Any], key: str, line: str) -> list[dict[str, Any]] | None:
    """``message``'s blocks with ``line`` under its controls for ``key`` (in place of an earlier line);
    None when it carries no such controls, or its words could not be kept."""
    blocks = [b for b in message.get("blocks") or [] if b.get("block_id") != VERDICT_BLOCK + key]
    at = next((n for n, b in enumerate(blocks) if b.get("block_id") == CONTROLS_BLOCK + key), None)
    if at is None:
        return None
    context = {
        "type": "context",
        "block_id": VERDICT_BLOCK + key,
        "elements": [{"type": "mrkdwn", "text": line}],
    }
    blocks.insert(at + 1, context)
    if not any(b.get("type") in _CONTENT for b in blocks):
        # A streamed answer: its Markdown, kept on screen as a markdown block (what the stream showed).
        if not message.get("text"):
            return None
        blocks.insert(0, {"type": "markdown", "text": message["text"]})
    return blocks


async def show_verdict(
    client: AsyncWebClient, body: dict[str, Any], key: str, feedback: Feedback | None, routed: str
) -> None:
    """Update the message whose controls were clicked (``body``, Slack's block_actions payload) with the
    line of ``feedback`` on the route to ``routed``. Not in a DM, where only the customer would read an
    agent's name; and a refusal is logged, not raised: the verdict is recorded whatever Slack makes of
    its line."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel, ts = str(container.get("channel_id") or ""), str(container.get("message_ts") or "")
    if feedback is None or not channel or not ts or is_dm_channel(channel) or container.get("is_ephemeral"):
        return
    line = verdict_line(feedback, routed)
    blocks = with_verdict(message, key, line)
    if blocks is None:
        return
    update: dict[str, Any] = {
        "channel": channel,
        "ts": ts,
        "text": message.get("text") or line,
        "blocks": blocks,
    }
    if message.get("metadata"):
        update["metadata"] = message["metadata"]  # as it was; Slack keeps it too when left out
    try:
        await client.chat_update(**update)
    except SLACK_ERRORS as e:
        logger.warning("could not show the verdict under %s/%s (%s)", channel, ts, why(e))
