"""A fake Slack Web API on 127.0.0.1 for ``slack_sdk``'s ``AsyncWebClient`` (and Bolt through it).

It keeps a small workspace (users, user groups, messages by channel), answers the methods the bot uses,
records every call, and fails on demand. Point a client at it with ``AsyncWebClient(token=fake.token,
base_url=fake.base_url)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import slack_methods
from tests.fakes.server import LocalServer
from tests.fakes.slack_refusals import refused_shape
from tests.fakes.slack_state import BOT_NAME, BOT_TOKEN, TEAM_NAME, Workspace

# Fields that form-encoded callers send as JSON strings.
_JSON_FIELDS = ("blocks", "attachments", "metadata", "chunks", "unfurls")


@dataclass
class SlackCall:
    """One recorded Web API call; ``time`` is ``time.monotonic()`` on arrival."""

    method: str
    params: dict[str, Any]
    time: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether Slack answered ``ok: true``."""
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class _Fault:
    status: int
    retry_after: int
    error: str | None
    remaining: int
    extra: dict[str, Any] = field(default_factory=dict)
    # Only calls naming this channel fail (None: any).
    channel: str | None = None
    # Slack did the work, and its answer was lost (a 5xx, a dropped connection) on the way back.
    after_applying: bool = False
    # Calls let through before the first that fails.
    skip: int = 0
    # Seconds with no answer at all (after carrying the call out, with after_applying): a client that
    # gives up first sees a timeout.
    hang: float = 0.0


class FakeSlack(LocalServer):
    """The fake Slack Web API and ``response_url`` receiver."""

    def __init__(
        self,
        *,
        token: str = BOT_TOKEN,
        team: str = TEAM_NAME,
        bot_name: str = BOT_NAME,
        require_stream_recipient: bool = True,
        auto_users: bool = True,
        block_text_limit: int = slack_methods.BLOCK_TEXT_LIMIT,
        stream_text_limit: int | None = None,
        **workspace: Any,
    ) -> None:
        """``block_text_limit``: the characters of text a message's blocks may hold all together, past which
        chat.postMessage answers ``msg_blocks_too_long`` (Slack does not document it). ``stream_text_limit``:
        the characters a streamed message may hold all together, past which appendStream and stopStream
        answer ``msg_too_long`` (None: no limit but each call's)."""
        super().__init__()
        self.block_text_limit = block_text_limit
        self.stream_text_limit = stream_text_limit
        self.token = token
        self.tokens = {token}
        self.team = team
        self.bot_name = bot_name
        self.require_stream_recipient = require_stream_recipient
        # What apps.connections.open answers: a FakeSocketMode's URL (None: Socket Mode is refused).
        self.socket_mode_url: str | None = None
        # The bot token's scopes, sent as Slack sends them with every answer, in X-OAuth-Scopes (None: none).
        self.scopes: list[str] | None = None
        self.workspace = Workspace(auto_users=auto_users, **workspace)
        self.workspace.add_user(self.workspace.bot_user_id, name=bot_name, is_bot=True)
        self.calls: list[SlackCall] = []
        self.responses: dict[str, list[dict[str, Any]]] = {}
        # What the app POSTed to a response_url that Slack would not show (its blocks refused), by name.
        self.refused_responses: dict[str, list[dict[str, Any]]] = {}
        self.latency: dict[str, float] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._held_responses: dict[str, asyncio.Event] = {}
        # Response URLs that refuse whatever is POSTed to them: name -> (HTTP status, body).
        self._refusing_responses: dict[str, tuple[int, str]] = {}
        self.app.router.add_route("*", "/api/{method}", self._api)
        self.app.router.add_post("/response/{name}", self._response_url)

    # -- configuration ----------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/api/`` for ``AsyncWebClient(base_url=...)``."""
        return f"{self.root_url}/api/"

    @property
    def bot_user_id(self) -> str:
        return self.workspace.bot_user_id

    @property
    def bot_id(self) -> str:
        return self.workspace.bot_id

    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    def add_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """Adds a user: ``name``, ``real_name``, ``is_admin``, ``is_owner``, ``is_bot``, ``team_id``, ..."""
        return self.workspace.add_user(user_id, **fields)

    def open_direct_message(self, channel: str, user: str, created: float) -> None:
        """A DM channel between ``user`` and the bot, opened at ``created`` (epoch seconds)."""
        self.workspace.direct_messages.append(
            {"id": channel, "is_im": True, "user": user, "created": int(created), "is_user_deleted": False}
        )

    def add_usergroup(self, usergroup_id: str, user_ids: list[str]) -> None:
        """Defines a user group (``S...``) and its members for ``usergroups.users.list``."""
        self.workspace.usergroups[usergroup_id] = list(user_ids)

    def add_message(
        self,
        channel: str,
        ts: str | None,
        user: str | None,
        text: str,
        thread_ts: str | None = None,
        bot_id: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Puts a message in the workspace (as if someone posted it); ``ts=None`` picks the next ts."""
        message: dict[str, Any] = {"type": "message", "text": text, **extra}
        for key, value in (("ts", ts), ("user", user), ("thread_ts", thread_ts), ("bot_id", bot_id)):
            if value is not None:
                message[key] = value
        return self.workspace.add_message(channel, message)

    def response_url(self, name: str) -> str:
        """A ``response_url`` under this server; what is POSTed to it lands in ``responses[name]``."""
        return f"{self.root_url}/response/{name}"

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        count: int = 1,
        error: str | None = None,
        *,
        channel: str | None = None,
        after_applying: bool = False,
        skip: int = 0,
        hang: float = 0.0,
        **extra: Any,
    ) -> None:
        """Fails the next ``count`` calls to ``method`` (``"*"``: any method), those naming ``channel``
        alone when it is given, once ``skip`` of them have gone through; ``after_applying``: the call is
        carried out all the same (a message posted, a stream started), only its answer fails; ``hang``: no
        answer for that many seconds first (a client with a shorter timeout gives up on it).

        ``error="..."`` answers HTTP 200 ``{"ok": false, "error": ..., **extra}`` (Slack's
        ``missing_scope`` names the scope ``needed`` and those ``provided``); otherwise HTTP ``status``: 429
        is ``ratelimited`` with a ``Retry-After: retry_after`` header, 500/503 a server error.
        """
        fault = _Fault(status, retry_after, error, count, extra, channel, after_applying, skip, hang)
        self._faults.setdefault(method, []).append(fault)

    def hold_responses(self, name: str) -> asyncio.Event:
        """Holds what is POSTed to the ``response_url`` ``name`` until the event returned is set: an answer
        still being sent, for a test to see what came before it."""
        return self._held_responses.setdefault(name, asyncio.Event())

    def refuse_responses(self, name: str, status: int = 404, text: str = "expired_url") -> None:
        """Refuses whatever is POSTed to the ``response_url`` ``name`` from now on (kept in
        ``refused_responses``), as Slack refuses one past its use (five posts, or 30 minutes): HTTP
        ``status``, ``text`` the body."""
        self._refusing_responses[name] = (status, text)

    def set_latency(self, method: str, seconds: float) -> None:
        """Delays every answer to ``method`` (``"*"``: any method) by ``seconds``."""
        self.latency[method] = seconds

    # -- inspection -------------------------------------------------------------------------------------
    def calls_to(self, method: str) -> list[SlackCall]:
        """Every recorded call to ``method`` (failed ones included; see ``SlackCall.ok``)."""
        return [c for c in self.calls if c.method == method]

    def thread_replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The bot's messages in a thread, oldest first; streamed ones hold their assembled text."""
        return [
            dict(m)
            for m in self.workspace.thread(channel, thread_ts)
            if m.get("user") == self.bot_user_id and m["ts"] != thread_ts
        ]

    def thread_texts(self, channel: str, thread_ts: str) -> list[str]:
        """The text of each of the bot's messages in a thread."""
        return [m.get("text", "") for m in self.thread_replies(channel, thread_ts)]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every message stored in ``channel``, in posting order."""
        return list(self.workspace.messages.get(channel, []))

    def stream_state(self, channel: str, ts: str) -> str | None:
        """``"in_progress"``, ``"completed"`` or ``"stopped_by_user"`` for a streamed message, else None."""
        return self.workspace.streams.get((channel, ts))

    def stop_stream_as_user(self, channel: str, ts: str) -> None:
        """The person the stream is for stops it in Slack: chat.appendStream answers ``stopped_by_user``
        ("no further appends are accepted") and chat.stopStream ``message_not_in_streaming_state``."""
        self.workspace.streams[(channel, ts)] = "stopped_by_user"

    # -- HTTP -------------------------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        call = SlackCall(method, params, time.monotonic(), headers=dict(request.headers))
        self.calls.append(call)
        await self.sleep(self.latency.get(method, self.latency.get("*", 0.0)))
        fault = self._take_fault(method, params.get("channel"))
        headers = {} if self.scopes is None else {"X-OAuth-Scopes": ",".join(self.scopes)}
        if fault is not None and fault.after_applying:
            self._answer(method, params, request.headers.get("Authorization", ""))
        if fault is not None:
            await self.sleep(fault.hang)
        if fault is not None and fault.error is None:
            call.status = fault.status
            if fault.status == 429:
                call.response = {"ok": False, "error": "ratelimited"}
                headers["Retry-After"] = str(fault.retry_after)
            else:
                call.response = {"ok": False, "error": "fatal_error"}
        elif fault is not None:
            call.response = {"ok": False, "error": fault.error, **fault.extra}
        else:
            call.response = self._answer(method, params, request.headers.get("Authorization", ""))
        return web.json_response(call.response, status=call.status, headers=headers)

    def _take_fault(self, method: str, channel: str | None) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key) or []
            fault = next((f for f in queue if f.channel in (None, channel)), None)
            if fault is not None and fault.skip > 0:
                fault.skip -= 1
                return None
            if fault is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.remove(fault)
                return fault
        return None

    def _answer(self, method: str, params: dict[str, Any], authorization: str) -> dict[str, Any]:
        token = authorization.removeprefix("Bearer ").strip() or params.get("token")
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token not in self.tokens:
            return {"ok": False, "error": "invalid_auth"}
        handler = slack_methods.HANDLERS.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        return handler(self, params)

    async def _response_url(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        params = await _params(request)
        if "payload" in params and isinstance(params["payload"], str):
            params = json.loads(params["payload"])
        if name in self._held_responses:
            await self._held_responses[name].wait()
        if name in self._refusing_responses:
            status, text = self._refusing_responses[name]
            self.refused_responses.setdefault(name, []).append(params)
            return web.Response(status=status, text=text)
        if (refused := refused_shape(self, params)) is not None:
            # As Slack's incoming webhooks answer a message they cannot show: HTTP 400, the code as text.
            self.refused_responses.setdefault(name, []).append(params)
            return web.Response(status=400, text=str(refused["error"]))
        self.responses.setdefault(name, []).append(params)
        return web.Response(text="ok")


async def _params(request: web.Request) -> dict[str, Any]:
    """Query string, form fields and JSON body, merged (JSON-in-form fields decoded)."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        else:
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    for key in _JSON_FIELDS:
        if isinstance(params.get(key), str):
            with contextlib.suppress(json.JSONDecodeError):
                params[key] = json.loads(params[key])
    return params
