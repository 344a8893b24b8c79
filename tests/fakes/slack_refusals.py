"""Slack's refusals of what a message carries, as its chat methods answer them (HTTP 200, ``ok: false``):
its size and shape (text, blocks) and its metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.slack_api import FakeSlack

Body = dict[str, Any]
# chat.postMessage's documented limits: a message's text (msg_too_long), its blocks (invalid_blocks, with
# the JSON pointer of what broke the rule) and a section's text (idem).
MESSAGE_TEXT_LIMIT = 40_000
MAX_BLOCKS = 50
SECTION_TEXT_LIMIT = 3000
# What Slack's maintainers gave as the blocks' text all together (bolt-js #2509: "12,000 text characters
# with a buffer for block containers"); refusals are reported from 11,341 (#2867) to 13,297 (#2509).
BLOCK_TEXT_LIMIT = 12_000


def fail(error: str) -> Body:
    return {"ok": False, "error": error}


def refused_markdown(params: Body) -> Body | None:
    """``markdown_text`` "should not be used in conjunction with blocks or text": Slack answers
    ``markdown_text_conflict`` (chat.postMessage, chat.postEphemeral)."""
    if params.get("markdown_text") and (params.get("text") or params.get("blocks")):
        return fail("markdown_text_conflict")
    return None


def refused_metadata(params: Body) -> Body | None:
    """Slack's refusal of a message's ``metadata``: not a JSON object (``invalid_metadata_format``), or one
    without a string ``event_type`` and an object ``event_payload`` (``invalid_metadata_schema``)."""
    if "metadata" not in params or params["metadata"] is None:
        return None
    metadata = params["metadata"]
    if not isinstance(metadata, dict):
        return fail("invalid_metadata_format")
    if not isinstance(metadata.get("event_type"), str) or not metadata["event_type"]:
        return fail("invalid_metadata_schema")
    if not isinstance(metadata.get("event_payload"), dict):
        return fail("invalid_metadata_schema")
    return None


def _block_texts(node: Any) -> list[str]:
    """Every ``text`` string in a block tree (section and context text, button and option labels...)."""
    if isinstance(node, list):
        return [text for item in node for text in _block_texts(item)]
    if not isinstance(node, dict):
        return []
    texts = [node["text"]] if isinstance(node.get("text"), str) else []
    return texts + [
        text for value in node.values() if not isinstance(value, str) for text in _block_texts(value)
    ]


def refused_shape(fake: FakeSlack, params: Body) -> Body | None:
    """Slack's refusal of a message's size or shape, as chat.postMessage answers it (HTTP 200, ok false),
    or None. The blocks' text all together has a limit Slack does not document: ``fake.block_text_limit``."""
    text = params.get("text") or params.get("markdown_text") or ""
    if len(text) > MESSAGE_TEXT_LIMIT:
        return fail("msg_too_long")
    blocks = params.get("blocks")
    if not blocks:
        return None
    if not isinstance(blocks, list):
        return fail("invalid_blocks_format")
    problems = (
        []
        if len(blocks) <= MAX_BLOCKS
        else [f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"]
    )
    for n, block in enumerate(blocks):
        section = block.get("text") if isinstance(block, dict) and block.get("type") == "section" else None
        if isinstance(section, dict) and len(str(section.get("text") or "")) > SECTION_TEXT_LIMIT:
            problems.append(
                f"must be less than {SECTION_TEXT_LIMIT + 1} characters [json-pointer:/blocks/{n}/text/text]"
            )
    if problems:
        return {**fail("invalid_blocks"), "errors": problems, "response_metadata": {"messages": problems}}
    if sum(len(t) for t in _block_texts(blocks)) > fake.block_text_limit:
        return fail("msg_blocks_too_long")
    return None
