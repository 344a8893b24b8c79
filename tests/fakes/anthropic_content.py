"""What the fake Anthropic API says: request inspection, default verdicts and answers, message bodies.

Pure functions only; the server in ``anthropic_api`` decides when and how to send them.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from typing import Any

CUSTOMER_RE = re.compile(r"<customer_message>(.*?)</customer_message>", re.DOTALL)
HUMAN_RE = re.compile(r"\b(human|person|agent|representative|operator|real people)\b", re.IGNORECASE)
REFUND_WORDS = ("refund", "money back", "charged", "return")
TECH_WORDS = ("crash", "error", "password", "login", "log in", "bug", "not working")
DEFAULT_CONFIDENCE = 0.92
FILLER = "Here is what you can do next to sort this out quickly and safely"
REFUSAL_DETAILS = {"type": "refusal", "category": None, "explanation": "This request was refused by policy."}
Classification = tuple[str, dict[str, Any], str | None]
_BASE62 = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """An id shaped like the API's, e.g. ``msg_01...`` (24 base62 characters after the prefix)."""
    return f"{prefix}_01" + "".join(secrets.choice(_BASE62) for _ in range(22))


def text_of(content: Any) -> str:
    """The text of a message ``content``: a plain string or a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the last ``user`` turn of a request."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def customer_text(body: dict[str, Any]) -> str:
    """The customer's words: the last ``<customer_message>`` of the last user turn, else the whole turn."""
    text = last_user_text(body)
    found = CUSTOMER_RE.findall(text)
    return (found[-1] if found else text).strip()


def system_text(body: dict[str, Any]) -> str:
    """The system prompt of a request as one string (it may be a string or text blocks)."""
    return text_of(body.get("system") or "")


def _resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follows a local ``$ref`` (``#/$defs/X`` or ``#/definitions/X``) to its definition."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 10:
        target: Any = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node, seen = target, seen + 1
    return node if isinstance(node, dict) else {}


def enum_values(root: dict[str, Any], prop: dict[str, Any]) -> list[Any]:
    """The allowed values of a property: ``enum``, ``const``, or a union of those, refs resolved."""
    prop = _resolve(root, prop)
    if "enum" in prop:
        return list(prop["enum"])
    if "const" in prop:
        return [prop["const"]]
    values: list[Any] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in prop.get(key) or []:
            values += [v for v in enum_values(root, option) if v is not None and v not in values]
    return values


def classification_schema(body: dict[str, Any]) -> Classification | None:
    """``(mode, schema, tool_name)`` if ``body`` is a classification request, else ``None``.

    ``mode`` is ``"json_schema"`` (structured outputs, ``messages.parse``) or ``"tool"`` (forced tool use).
    """
    fmt = (body.get("output_config") or {}).get("format") or {}
    if fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        return "json_schema", fmt["schema"], None
    choice = body.get("tool_choice") or {}
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and "input_schema" in t]
    if tools and choice.get("type") in ("tool", "any"):
        tool = next((t for t in tools if t.get("name") == choice.get("name")), tools[0])
        return "tool", tool["input_schema"], tool["name"]
    return None


def categories_of(schema: dict[str, Any]) -> list[str]:
    """The category names: the enum of the schema's ``category`` property (empty if unconstrained)."""
    prop = (schema.get("properties") or {}).get("category")
    return [str(v) for v in enum_values(schema, prop)] if prop else []


def _pick(categories: list[str], needle: str, fallback: str) -> str:
    return next((c for c in categories if needle.lower() in c.lower()), fallback)


def default_classify(text: str, categories: list[str]) -> dict[str, Any]:
    """The default verdict: a keyword heuristic (refund words, technical words, else general)."""
    lowered = text.lower()
    refund = next((w for w in REFUND_WORDS if w in lowered), None)
    tech = next((w for w in TECH_WORDS if w in lowered), None)
    general = _pick(categories, "General", categories[0] if categories else "General Question")
    if refund:
        category, reason = _pick(categories, "Refund", "Refund Request"), f"Mentions '{refund}'."
    elif tech:
        category, reason = _pick(categories, "Technical", "Technical Support"), f"Mentions '{tech}'."
    else:
        category, reason = general, "No refund or technical keywords."
    return {
        "category": category,
        "confidence": DEFAULT_CONFIDENCE,
        "reasoning": reason,
        "wants_human": bool(HUMAN_RE.search(text)),
    }


def _placeholder(root: dict[str, Any], prop: dict[str, Any]) -> Any:
    """A schema-valid stand-in for a property the verdict does not fill."""
    allowed = enum_values(root, prop)
    if allowed:
        return allowed[0]
    kind: Any = _resolve(root, prop).get("type")
    kind = next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else kind
    return {"number": 0.5, "integer": 0, "boolean": False, "array": [], "object": {}}.get(str(kind), "")


def fill_schema(schema: dict[str, Any], verdict: dict[str, Any]) -> dict[str, Any]:
    """The reply object: exactly the schema's properties (and required names), filled from ``verdict``."""
    props: dict[str, Any] = schema.get("properties") or {}
    names = list(props) + [n for n in schema.get("required") or [] if n not in props]
    return {n: verdict[n] if n in verdict else _placeholder(schema, props.get(n, {})) for n in names}


def default_answer(body: dict[str, Any], words: int) -> str:
    """``**Answer** from <system prompt's first five words>: re “<customer's words>” ...``: ``words`` words.

    Never shorter than the part naming the system prompt, so tests can always tell which handler answered.
    """
    head = " ".join(system_text(body).split()[:5]) or "no system prompt"
    marker = f"**Answer** from {head}:".split()
    question = customer_text(body).split()[:6]
    filler = FILLER.split()
    tail = ["re", *f"“{' '.join(question)}”".split(), *(filler * (words // len(filler) + 1))]
    return " ".join([*marker, *tail][: max(words, len(marker))]).rstrip(".,") + "."


def split_tokens(text: str) -> list[str]:
    """Splits text into word-sized deltas that concatenate back to ``text``."""
    return re.findall(r"\s*\S+", text) or [text]


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token, as the API's English average)."""
    return max(1, len(text) // 4)


def input_tokens(body: dict[str, Any]) -> tuple[int, str | None, int]:
    """``(total, cache_key, prefix_tokens)``; ``cache_key`` is set when a ``cache_control`` is present."""
    blob = json.dumps([body.get("system"), body.get("tools"), body.get("messages")])
    total = estimate_tokens(blob)
    if '"cache_control"' not in blob:
        return total, None, 0
    prefix = json.dumps([body.get("tools"), body.get("system")], sort_keys=True)
    return total, prefix, min(total, estimate_tokens(prefix))


def usage(
    in_total: int, out: int, *, cache_read: int = 0, cache_write: int = 0, final: bool = True
) -> dict[str, Any]:
    """A ``usage`` object shaped like the recorded responses."""
    return {
        "input_tokens": max(1, in_total - cache_read - cache_write),
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {"ephemeral_5m_input_tokens": cache_write, "ephemeral_1h_input_tokens": 0},
        "output_tokens": out if final else 1,
        "service_tier": "standard",
    }


def message(
    message_id: str, model: str, content: list[dict[str, Any]], stop_reason: str, use: dict[str, Any]
) -> dict[str, Any]:
    """A ``message`` body as the API returns it."""
    body: dict[str, Any] = {
        "model": model,
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": use,
    }
    if stop_reason == "refusal":
        body["stop_details"] = REFUSAL_DETAILS
    return body


def malformed_text(verdict: dict[str, Any]) -> str:
    """Classification text that is not JSON at all."""
    return f"I think this is about {verdict.get('category', 'something')}, fairly sure."


def schema_violation(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON object that breaks the schema: an unknown category, a confidence above one, a field missing."""
    props = schema.get("properties") or {}
    bad: dict[str, Any] = {"category": "Definitely Not A Category", "confidence": 1.7}
    return {k: v for k, v in bad.items() if k in props or not props}


def cut_off(text: str) -> str:
    """The first half of ``text``: what ``max_tokens`` leaves of a reply."""
    return text[: max(1, len(text) // 2)]
