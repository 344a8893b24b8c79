"""Slack's refusals, as the bot tells them apart: what a Web API call raises once slack_sdk's retries are
spent, which refusals no retry would change, which failures may hide a call Slack carried out all the same,
how long Slack asked to wait, and what to record."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError

# What a Web API call raises once slack_sdk's own retries are spent: Slack's refusal, a connection that
# failed, or a call that took too long.
SLACK_ERRORS = (TimeoutError, SlackApiError, aiohttp.ClientError)
# chat.postMessage's refusals of a message's size or shape: its text past 40,000 characters, its blocks'
# text past what Slack takes in one message, more than 50 blocks or a section past 3,000 characters.
REFUSED_SHAPE = frozenset({"msg_too_long", "msg_blocks_too_long", "invalid_blocks", "invalid_blocks_format"})
# The call that posts a message whole.
POST_CALLS = frozenset({"chat.postMessage"})
# The calls that add to a started stream, or close it.
STREAM_CALLS = frozenset({"chat.appendStream", "chat.stopStream"})
# Slack's error codes that say, in its documentation, that some of the call may have been carried out.
MAYBE_CARRIED_OUT = frozenset({"fatal_error", "internal_error"})


def refused_for_good(error: BaseException) -> bool:
    """Whether Slack refused to post a message for its size or shape (:data:`REFUSED_SHAPE`): the same
    message would be refused on every attempt."""
    return _refused_shape(error, POST_CALLS)


def stream_refused_for_good(error: BaseException) -> bool:
    """Whether Slack refused a started stream's append or stop for its size or shape (the stream grown
    past what Slack takes: ``msg_too_long``): that stream will take no more on any attempt, while the
    answer, posted whole as messages within Slack's limits, may well be taken now."""
    return _refused_shape(error, STREAM_CALLS)


def _refused_shape(error: BaseException, methods: frozenset[str]) -> bool:
    """Whether Slack answered one of ``methods`` with a refusal of the message's size or shape."""
    return (
        isinstance(error, SlackApiError)
        and _method(error) in methods
        and error.response.get("error") in REFUSED_SHAPE
    )


def maybe_carried_out(error: BaseException) -> bool:
    """Whether Slack may have carried out the call that failed with ``error`` all the same (a message
    posted, a stream started): no answer came (a timeout, a connection dropped mid-call), a 5xx, or
    Slack's word that part of it may have gone through (:data:`MAYBE_CARRIED_OUT`). Not a connection
    never made, nor a refusal Slack answered: nothing was done, and nothing needs looking for."""
    if isinstance(error, SlackApiError):
        return error.response.status_code >= 500 or error.response.get("error") in MAYBE_CARRIED_OUT
    return not isinstance(error, aiohttp.ClientConnectorError)


def failure(error: BaseException) -> str:
    """What an attempt's error says, for the log and the record: Slack's refusal as the method and its
    code ("Slack refused chat.postMessage: msg_too_long"), with the HTTP status unless 200 (a 5xx, a
    429), any other error as its type and message."""
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        http = "" if status == 200 else f" (HTTP {status})"
        return f"Slack refused {_method(error) or 'a call'}: {why(error)}{http}"
    return f"{type(error).__name__}: {error}"


def _method(error: SlackApiError) -> str:
    """The Web API method Slack refused (the last part of the URL called)."""
    return str(getattr(error.response, "api_url", "") or "").rsplit("/", 1)[-1]


def why(error: BaseException) -> str:
    """Slack's error code for a refused call, else the exception."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or error.response.status_code)
    return f"{type(error).__name__}: {error}"


def retry_after(error: SlackApiError) -> float:
    """Seconds Slack asked to wait (its Retry-After header), 1 when it did not say."""
    for name, value in (error.response.headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return float(value[0] if isinstance(value, list) else value)
            except (TypeError, ValueError):
                break
    return 1.0
