"""Posting to a thread: streamed answers, one-shot answers, escalations, and finding what was posted.

Every reply carries message metadata naming the customer message it answers, so that after a crash the
bot can see in Slack itself whether that message was already answered, and never answer it twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.formatting import note
from bot.sanitize import StreamSanitizer
from bot.store.records import InboundMessage
from router.markdown import open_fence

logger = logging.getLogger(__name__)

REPLY_EVENT = "support_router_reply"
# On a notice of an escalated DM in the agents' channel: the customer message it tells them of.
NOTICE_EVENT = "support_router_notice"
# What a Web API call raises once slack_sdk's own retries are spent: Slack's refusal, a connection that
# failed, or a call that took too long.
SLACK_ERRORS = (TimeoutError, SlackApiError, aiohttp.ClientError)
# The first words go to Slack at once; then appendStream at most once per interval, counted from the
# end of the previous call, so a slow Slack (or a busy bot) gets fewer, larger appends, never more.
APPEND_INTERVAL_S = 0.5
# Slack's limit on markdown_text in each chat.startStream, appendStream and stopStream call. An append
# after Slack kept the bot waiting (a 429's Retry-After) carries everything Claude wrote meanwhile, and
# a long answer can be more than this: it goes as several calls.
MARKDOWN_TEXT_LIMIT = 12_000
# chat.postMessage's refusals of a message's size or shape: its text past 40,000 characters, its blocks'
# text past what Slack takes in one message, more than 50 blocks or a section past 3,000 characters.
REFUSED_SHAPE = frozenset({"msg_too_long", "msg_blocks_too_long", "invalid_blocks", "invalid_blocks_format"})


def reply_metadata(msg: InboundMessage, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Message metadata tying a reply to the customer message it answers."""
    return {"event_type": REPLY_EVENT, "event_payload": {"message_ts": msg.ts, **(payload or {})}}


def part_metadata(metadata: dict[str, Any], number: int, count: int) -> dict[str, Any]:
    """``metadata`` of a reply (:func:`reply_metadata`) for its message ``number`` of ``count``: an answer
    too long for one message goes as several, and a retry or a restart posts those not found there."""
    return {**metadata, "event_payload": {**metadata["event_payload"], "part": number, "parts": count}}


def reply_part(message: dict[str, Any]) -> tuple[int, int] | None:
    """Which message of an answer in several ``message`` is, and of how many (None: a whole reply)."""
    payload = reply_payload(message)
    try:
        return int(payload["part"]), int(payload["parts"])
    except (KeyError, TypeError, ValueError):
        return None


def markdown_pieces(text: str, limit: int = MARKDOWN_TEXT_LIMIT) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` characters, one per streaming call (none for "").

    Cut anywhere: Slack renders a stream's text joined, as it must for the model's own chunks, which
    split words and Markdown alike.
    """
    return [text[start : start + limit] for start in range(0, len(text), limit)]


def notice_metadata(msg: InboundMessage) -> dict[str, Any]:
    """Message metadata tying a notice in the agents' channel to the DM message it tells them of."""
    return {"event_type": NOTICE_EVENT, "event_payload": {"channel": msg.channel_id, "message_ts": msg.ts}}


def reply_payload(message: dict[str, Any]) -> dict[str, Any]:
    """What a posted message's metadata says (see :func:`reply_metadata`); empty when it says nothing."""
    return dict((message.get("metadata") or {}).get("event_payload") or {})


@dataclass(frozen=True)
class StartCheck:
    """Whether a streamed reply may still start (an agent may have taken its thread over meanwhile).

    ``taken_here`` answers from memory, at the first words (what this process saw); ``still_ours`` reads
    the store, begun as the answer is asked for (:meth:`StreamedReply.prepare`) so that its answer is
    there by the first words instead of delaying them.
    """

    taken_here: Callable[[], bool]
    still_ours: Callable[[], Awaitable[bool]]


class StreamedReply:
    """A reply streamed into a thread with chat.startStream / appendStream / stopStream.

    Started lazily by the first words, so nothing is posted for a message that ends up escalated, nor
    (``may_start``) under an agent who took the thread over while the answer was on its way.

    Starting and appending go through ``quick_client``, which does not wait out Slack's rate limits
    (slack_sdk's handler sleeps Retry-After, up to three times, while Claude's words wait unread): a start
    rate-limited in "auto" mode posts the answer whole instead, an append rate-limited waits for the next
    (see :meth:`_send_text`). Once started, any other call Slack will not take (after slack_sdk's
    retries) stops the streaming but not the answer: Claude goes on writing it, and
    :meth:`finish` raises that error, so that the attempt fails with its decision made, kept for the next
    attempt to post (``bot.conversation``) instead of asking Claude again.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        msg: InboundMessage,
        *,
        required: bool = False,
        on_started: Callable[[str], Awaitable[None]] | None = None,
        quick_client: AsyncWebClient | None = None,
        preface: str | None = None,
        may_start: StartCheck | None = None,
    ) -> None:
        self._client = client
        self._quick = quick_client or client
        # Asked once, by the first words: False withholds the whole answer (an agent took the thread).
        self._may_start = may_start
        self._permission: asyncio.Task[bool] | None = None
        self.withheld = False
        # Goes first, with the answer's first words (the apology of a late reply).
        self._preface = preface
        # Told the stream's ts as soon as it exists, so a restart can find a half-written reply.
        self._on_started = on_started
        # In "auto" mode a channel where Slack refuses streaming gets one ordinary message instead.
        self._required = required
        self.refused = False
        # Refused by a failure that does not say whether Slack started the stream (a 5xx, a timeout):
        # one may be in the thread, its first words shown, to remove before the answer goes whole.
        self.maybe_started = False
        self._msg = msg
        self._sanitizer = StreamSanitizer()
        self._buffer = ""
        # Everything written into the stream so far (sanitised), to tell what a note after it must close.
        self._written = ""
        self._last_send = 0.0
        # Slack rate-limited an append (slack_sdk's own retries spent): none before this moment.
        self._resume_at = 0.0
        # The error that stopped a started stream, raised by finish.
        self._broken: BaseException | None = None
        self.ts: str | None = None

    async def feed(self, chunk: str) -> None:
        """Add model text; it reaches Slack at once for the first words, then in batches."""
        text = self._sanitizer.feed(chunk)
        self._buffer += text
        self._written += text
        if not self._buffer or self.refused or self.withheld or self._broken is not None:
            return
        now = time.monotonic()
        if self.ts is None or (now - self._last_send >= APPEND_INTERVAL_S and now >= self._resume_at):
            await self._send()

    def prepare(self) -> None:
        """Start reading the store for ``may_start`` now (the answer has been asked for), so that its
        answer is there by the first words: read then, under a burst, a hundred reads of the store at
        once held the first words back by a tenth of a second."""
        if self._may_start is not None and self._permission is None:
            self._permission = asyncio.create_task(self._still_ours(), name="may the answer start")

    async def _still_ours(self) -> bool:
        assert self._may_start is not None
        try:
            return await self._may_start.still_ours()
        except Exception as e:
            # A check that failed is no reason to keep the customer's answer from them.
            logger.warning("could not check whether a streamed reply may start: %s", type(e).__name__)
            return True

    async def _may_begin(self) -> bool:
        if self._may_start is None:
            return True
        if self._may_start.taken_here():
            return False
        self.prepare()
        assert self._permission is not None
        return await self._permission

    async def _send(self) -> None:
        if self.ts is None and not await self._may_begin():
            self.withheld, self._buffer = True, ""
            return
        text, self._buffer = self._buffer, ""
        if self.ts is None and self._preface:
            text = f"{self._preface}\n\n{text}"
        try:
            await self._send_text(text)
        except SLACK_ERRORS as e:
            if self.ts is None:
                raise  # a start SLACK_STREAMING=on requires (see _call)
            logger.warning("Slack stopped taking a streamed reply (%s); its answer goes on being written", e)
            self._broken = e
        finally:
            self._last_send = time.monotonic()

    async def _send_text(self, text: str) -> None:
        """Start or append to the stream with ``text``, in as many calls as Slack's limit needs.

        An append Slack rate-limits does not fail the answer: what it carried
        goes back in front of the buffer, to go in a later, larger append once Slack's Retry-After has
        passed, or with the stream's stop.
        """
        pieces = markdown_pieces(text)
        for sent, piece in enumerate(pieces):
            if self.refused:
                return
            try:
                await self._call(piece)
            except SlackApiError as e:
                if self.ts is None or e.response.status_code != 429:
                    raise
                self._buffer = "".join(pieces[sent:]) + self._buffer
                self._resume_at = time.monotonic() + retry_after(e)
                logger.info("Slack rate-limited a streamed append; the text waits for the next one")
                return

    async def _call(self, text: str) -> None:
        if self.ts is None:
            try:
                # SLACK_STREAMING=on has no other way to answer: there a rate limit is waited out.
                starter = self._client if self._required else self._quick
                response = await starter.chat_startStream(
                    channel=self._msg.channel_id,
                    thread_ts=self._msg.thread_ts,
                    markdown_text=text,
                    recipient_team_id=self._msg.user_team_id or self._msg.team_id,
                    recipient_user_id=self._msg.user_id,
                )
            except SLACK_ERRORS as e:
                # Refused (a channel type, a workspace without streaming), rate-limited (starting a stream
                # has a lower limit than posting) or failing still after slack_sdk's retries: the answer
                # is posted whole when Claude has written it (or, if that fails too, kept for the next
                # attempt). Failing the attempt now would have the retry ask Claude for it again.
                if self._required:
                    raise
                logger.info("Slack would not start a streamed reply (%s); posting it whole", _why(e))
                self.refused = True
                self.maybe_started = not isinstance(e, SlackApiError) or e.response.status_code >= 500
                return
            self.ts = response["ts"]
            if self._on_started is not None:
                await self._on_started(str(self.ts))
        else:
            await self._quick.chat_appendStream(channel=self._msg.channel_id, ts=self.ts, markdown_text=text)

    async def interrupt(self, note: str) -> None:
        """Write ``note`` under what was streamed, after closing the code block the text broke off in
        (inside it, the note would read as code)."""
        held = self._sanitizer.flush()  # the end of the text, held back in case it became a mention
        self._buffer += held
        self._written += held
        fence = open_fence(self._written)
        await self.feed(f"\n{fence}{note}" if fence else note)

    async def finish(self, blocks: list[dict[str, Any]] | None, metadata: dict[str, Any]) -> str | None:
        """Send what is left and stop the stream, attaching ``blocks`` (context, agent controls).

        Raises:
            the error that stopped the stream part-way (see the class), or that stopping it met.
        """
        self._buffer += self._sanitizer.flush()
        if self._broken is not None:
            raise self._broken
        if self.refused or self.withheld or (self.ts is None and not self._buffer):
            return None
        if self.ts is None:
            await self._send()  # a stream not started yet is started with all of it
            if self.ts is None:
                return None
        # All but the last piece in appends, waiting out Slack's rate limit; the last goes with stopStream.
        while len(self._buffer) > MARKDOWN_TEXT_LIMIT:
            await self._after_rate_limit()
            head, self._buffer = self._buffer[:MARKDOWN_TEXT_LIMIT], self._buffer[MARKDOWN_TEXT_LIMIT:]
            await self._send_text(head)
        await self._after_rate_limit()
        kwargs: dict[str, Any] = {"channel": self._msg.channel_id, "ts": self.ts, "metadata": metadata}
        if self._buffer:
            kwargs["markdown_text"], self._buffer = self._buffer, ""
        if blocks:
            kwargs["blocks"] = blocks
        await self._client.chat_stopStream(**kwargs)
        return self.ts

    async def _after_rate_limit(self) -> None:
        await asyncio.sleep(max(0.0, self._resume_at - time.monotonic()))


def refused_for_good(error: BaseException) -> bool:
    """Whether Slack refused to post a message for its size or shape (:data:`REFUSED_SHAPE`): the same
    message would be refused on every attempt."""
    return (
        isinstance(error, SlackApiError)
        and _method(error) == "chat.postMessage"
        and error.response.get("error") in REFUSED_SHAPE
    )


def failure(error: BaseException) -> str:
    """What an attempt's error says, for the log and the record: Slack's refusal as the method and its
    code ("Slack refused chat.postMessage: msg_too_long"), with the HTTP status unless 200 (a 5xx, a
    429), any other error as its type and message."""
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        http = "" if status == 200 else f" (HTTP {status})"
        return f"Slack refused {_method(error) or 'a call'}: {_why(error)}{http}"
    return f"{type(error).__name__}: {error}"


def _method(error: SlackApiError) -> str:
    """The Web API method Slack refused (the last part of the URL called)."""
    return str(getattr(error.response, "api_url", "") or "").rsplit("/", 1)[-1]


def _why(error: BaseException) -> str:
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


async def post_reply(
    client: AsyncWebClient,
    msg: InboundMessage,
    text: str,
    blocks: list[dict[str, Any]],
    metadata: dict[str, Any],
    *,
    preface: str | None = None,
) -> str:
    """Post one message in the customer's thread, ``preface`` (plain text of ours) first; returns its ts."""
    if preface:
        lead, lead_blocks = note(preface)
        text, blocks = f"{lead}\n\n{text}", [*lead_blocks, *blocks]
    response = await client.chat_postMessage(
        channel=msg.channel_id,
        thread_ts=msg.thread_ts,
        text=text,
        blocks=blocks,
        metadata=metadata,
        unfurl_links=False,
        unfurl_media=False,
    )
    return str(response["ts"])


async def remove_unfinished(client: AsyncWebClient, msg: InboundMessage, reply_ts: str) -> None:
    """Delete the bot's half-written streamed reply (its writer died), before answering again."""
    try:
        await client.chat_delete(channel=msg.channel_id, ts=reply_ts)
    except SlackApiError as e:
        # Already gone (someone deleted it) is fine; anything else is logged and the answer goes on.
        if e.response.get("error") != "message_not_found":
            logger.warning("could not remove an unfinished reply: %s", e.response.get("error"))
