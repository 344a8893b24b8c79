"""What the fake Anthropic API refuses in a Messages request, as the real API refuses it.

The real API checks a request before it does anything with it, and answers a request it will not take
with an error, never a reply: ``400 invalid_request_error`` for a missing or malformed field (its message
names the field: ``max_tokens: Field required``), ``404 not_found_error`` for a model it does not know.
A fake that took what the API refuses would let the suite pass while production answered 400.
"""

from __future__ import annotations

from typing import Any

# Every top-level field of the Messages API (platform.claude.com/docs/en/api/messages); anything else is
# answered "<name>: Extra inputs are not permitted".
MESSAGE_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
        "output_config",
        "container",
        "context_management",
        "mcp_servers",
        "inference_geo",
    }
)
# Structured outputs take a subset of JSON Schema: the SDK's ``transform_schema``
# (anthropic/lib/_parse/_transform.py) moves these keywords into the description, because the API
# refuses them in ``output_config.format.schema``; ``minItems`` is taken as 0 or 1 only.
UNSUPPORTED_KEYWORDS = frozenset(
    {
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
    }
)
Problem = tuple[int, str, str]


def _bad(text: str) -> Problem:
    return 400, "invalid_request_error", text


def request_problem(body: Any, unknown_models: set[str]) -> Problem | None:
    """``(status, error type, message)`` of the API's refusal of ``body``, or None if it takes it."""
    if not isinstance(body, dict):
        return _bad("Request body must be an object.")
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return _bad(f"{name}: Field required")
    extra = sorted(set(body) - MESSAGE_FIELDS)
    if extra:
        return _bad(f"{extra[0]}: Extra inputs are not permitted")
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        return _bad("max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        return _bad("max_tokens: Input should be greater than or equal to 1")
    problem = _messages_problem(body["messages"]) or _system_problem(body.get("system"))
    problem = problem or _format_problem(body.get("output_config"))
    if problem:
        return problem
    model = str(body["model"])
    if model in unknown_models or not model.startswith("claude-"):
        return 404, "not_found_error", f"model: {model}"
    return None


def _text_problem(where: str, text: Any) -> Problem | None:
    if not isinstance(text, str):
        return _bad(f"{where}: Input should be a valid string")
    if not text:
        return _bad(f"{where}: text content blocks must be non-empty")
    if not text.strip():
        return _bad(f"{where}: text content blocks must contain non-whitespace text")
    return None


def _messages_problem(messages: Any) -> Problem | None:
    if not isinstance(messages, list):
        return _bad("messages: Input should be a valid list")
    if not messages:
        return _bad("messages: at least one message is required")
    for n, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return _bad(f"messages.{n}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        final_assistant = n == len(messages) - 1 and message["role"] == "assistant"
        if content in ("", []) and not final_assistant:
            return _bad(
                f"messages.{n}: all messages must have non-empty content except for the optional final "
                "assistant message"
            )
        if isinstance(content, str) and content:
            problem = _text_problem(f"messages.{n}.content", content)
        elif isinstance(content, list):
            problem = _blocks_problem(f"messages.{n}.content", content)
        else:
            problem = None if content in ("", []) else _bad(f"messages.{n}.content: Field required")
        if problem:
            return problem
    return None


def _blocks_problem(where: str, blocks: list[Any]) -> Problem | None:
    for n, block in enumerate(blocks):
        if not isinstance(block, dict) or not block.get("type"):
            return _bad(f"{where}.{n}.type: Field required")
        if block["type"] == "text" and (problem := _text_problem(f"{where}.{n}.text", block.get("text"))):
            return problem
    return None


def _system_problem(system: Any) -> Problem | None:
    if system is None or (isinstance(system, str) and system == ""):
        return None
    if isinstance(system, str):
        return _text_problem("system", system)
    if not isinstance(system, list):
        return _bad("system: Input should be a valid string or list of text blocks")
    for n, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            return _bad(f"system.{n}.type: Input should be 'text'")
        if problem := _text_problem(f"system.{n}.text", block.get("text")):
            return problem
    return None


def _format_problem(output_config: Any) -> Problem | None:
    fmt = (output_config or {}).get("format") if isinstance(output_config, dict) else None
    if fmt is None:
        return None
    if (
        not isinstance(fmt, dict)
        or fmt.get("type") != "json_schema"
        or not isinstance(fmt.get("schema"), dict)
    ):
        return _bad("output_config.format: Input should be an object with type 'json_schema' and a schema")
    return _schema_problem("output_config.format.schema", fmt["schema"])


def _schema_problem(where: str, node: Any) -> Problem | None:
    """A JSON Schema the API's structured outputs will not take: an object that does not set
    ``additionalProperties`` to false, or a keyword it does not support (:data:`UNSUPPORTED_KEYWORDS`)."""
    if isinstance(node, list):
        return next((p for item in node if (p := _schema_problem(where, item))), None)
    if not isinstance(node, dict):
        return None
    kind = node.get("type")
    if kind == "object" and node.get("additionalProperties") is not False:
        return _bad(f"{where}: For 'object' type, 'additionalProperties' must be explicitly set to false")
    unsupported = sorted(UNSUPPORTED_KEYWORDS & set(node))
    if node.get("minItems") not in (None, 0, 1):
        unsupported.append("minItems")
    if unsupported:
        return _bad(f"{where}: For '{kind}' type, property '{unsupported[0]}' is not supported")
    children: list[Any] = [
        *(node.get("properties") or {}).values(),
        *(node.get("$defs") or {}).values(),
        *(node.get("definitions") or {}).values(),
        node.get("items"),
        *(node.get("anyOf") or []),
        *(node.get("allOf") or []),
    ]
    return next((p for child in children if (p := _schema_problem(where, child))), None)
