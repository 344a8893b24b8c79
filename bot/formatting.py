"""Pure builders of Slack text and Block Kit: answers, escalations, agent controls.

Claude writes Markdown; Slack's ``mrkdwn`` differs (``*bold*``, ``_italic_``, ``<url|text>``), and its
control characters ``& < >`` must be escaped so that the model can never produce a live mention.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.sanitize import sanitize
from router.models import EscalationReason, RoutingDecision

SECTION_LIMIT = 3000
REASON_TEXT = {
    EscalationReason.LOW_CONFIDENCE: "low confidence",
    EscalationReason.ASKED_FOR_HUMAN: "the customer asked for a person",
    EscalationReason.CATEGORY_RULE: "this category always goes to a person",
    EscalationReason.CLASSIFIER_ERROR: "classification failed",
    EscalationReason.HANDLER_ERROR: "answering failed",
}
ACTION_CORRECT = "route_correct"
ACTION_REROUTE = "route_change"
ACTION_HAND_BACK = "hand_back"

_CODE = re.compile(r"(```.*?```|`[^`\n]+`)", re.DOTALL)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE)
_BOLD_MARK = "\x00"


def escape(text: str) -> str:
    """Slack's three control characters, escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inline(text: str) -> str:
    text = escape(text)
    text = _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    text = _HEADING.sub(lambda m: f"{_BOLD_MARK}{m.group(1)}{_BOLD_MARK}", text)
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(2)}{_BOLD_MARK}", text)
    text = _ITALIC.sub(lambda m: f"_{m.group(1)}_", text)
    text = _STRIKE.sub(lambda m: f"~{m.group(1)}~", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    return text.replace(_BOLD_MARK, "*")


def markdown_to_mrkdwn(markdown: str) -> str:
    """Claude's Markdown as Slack mrkdwn, with every mention defused; code is kept verbatim."""
    parts = _CODE.split(markdown)
    out = [escape(part) if i % 2 else _inline(part) for i, part in enumerate(parts)]
    return sanitize("".join(out))


def _chunks(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    chunks = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*chunks, text] if text else chunks


def _sections(mrkdwn: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in _chunks(mrkdwn)]


def route_context(decision: RoutingDecision) -> dict[str, Any]:
    """A small grey line saying how the message was routed."""
    how = "offline answer" if decision.offline else f"{decision.source}"
    text = f"Routed to *{escape(decision.category)}* · confidence {decision.confidence:.2f} · {how}"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def agent_controls(key: str, categories: Sequence[str], current: str) -> dict[str, Any]:
    """Buttons for agents: confirm the route, or re-route to another category.

    ``key`` names the customer message ("channel:ts"), whose decision the feedback is stored against.
    """
    options = [
        {"text": {"type": "plain_text", "text": name[:75]}, "value": name[:150]}
        for name in categories
        if name != current
    ]
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": ACTION_CORRECT,
            "text": {"type": "plain_text", "text": "Route is correct"},
            "value": key,
        }
    ]
    if options:
        elements.append(
            {
                "type": "static_select",
                "action_id": ACTION_REROUTE,
                "placeholder": {"type": "plain_text", "text": "Re-route to…"},
                "options": options,
            }
        )
    return {"type": "actions", "block_id": f"agent_controls:{key}", "elements": elements}


def answer_message(answer_markdown: str, decision: RoutingDecision) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and blocks of a bot answer (the caller adds the agent controls)."""
    mrkdwn = markdown_to_mrkdwn(answer_markdown)
    return mrkdwn, [*_sections(mrkdwn), route_context(decision)]


def agent_mentions(users: Sequence[str], usergroup: str | None) -> str:
    """The configured agents as real Slack mentions; the only mentions the bot ever writes."""
    tags = [f"<!subteam^{usergroup}>"] if usergroup else []
    tags += [f"<@{user}>" for user in users]
    return " ".join(tags) or "Support team"


def escalation_message(
    decision: RoutingDecision, customer_text: str, mentions: str
) -> tuple[str, list[dict[str, Any]]]:
    """The customer-facing note and, for agents, the tags with the guess, confidence and reasoning."""
    reason = (
        REASON_TEXT.get(decision.escalation_reason, "needs a person") if decision.escalation_reason else ""
    )
    agent_text = (
        f"{mentions}: this conversation needs a person ({reason}).\n"
        f"*Best guess:* {escape(decision.category)} · *confidence* {decision.confidence:.2f} · "
        f"*classified by* {decision.source}\n"
        f"*Reasoning:* {escape(sanitize(decision.reasoning))}"
    )
    if decision.error:
        agent_text += f"\n*Error:* {escape(sanitize(decision.error))}"
    customer = escape(customer_text)
    blocks = [*_sections(customer), *_sections(agent_text)]
    return f"{customer}\n{agent_text}", blocks


def hand_back_control() -> dict[str, Any]:
    """The button an agent presses to let the bot answer in this thread again."""
    return {
        "type": "actions",
        "block_id": "hand_back",
        "elements": [
            {
                "type": "button",
                "action_id": ACTION_HAND_BACK,
                "text": {"type": "plain_text", "text": "Hand back to the bot"},
                "value": "hand_back",
            }
        ],
    }
