"""Streamed answers: a reply streamed into a thread as Claude writes it (chat.startStream, appendStream,
stopStream), within Slack's limits and rate limits, and ended where the customer stops it.

Every reply carries message metadata naming the customer message it answers (:mod:`bot.reply_metadata`),
so that after a crash the bot can see in Slack itself whether that message was already answered, and
never answer it twice. Answers posted whole, and removing a stream nobody finished: :mod:`bot.replies`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sanitize import StreamSanitizer
from bot.slack_errors import SLACK_ERRORS, maybe_carried_out, retry_after, why
from bot.store.records import InboundMessage
from router.errors import AnswerStopped
from router.markdown import open_fence

logger = logging.getLogger(__name__)

# The first words go to Slack at once; then appendStream at most once per interval, counted from the
# end of the previous call, so a slow Slack (or a busy bot) gets fewer, larger appends, never more.
APPEND_INTERVAL_S = 0.5
# Slack's limit on markdown_text in each chat.startStream, appendStream and stopStream call. An append
# after Slack kept the bot waiting (a 429's Retry-After) carries everything Claude wrote meanwhile, and
# a long answer can be more than this: it goes as several calls.
MARKDOWN_TEXT_LIMIT = 12_000
# chat.appendStream's answer once the customer stopped the stream in Slack: the reply ends there.
STOPPED_BY_USER = "stopped_by_user"
# chat.stopStream's (and appendStream's) answer for a message that is not a stream in progress any more.
NOT_STREAMING = "message_not_in_streaming_state"


def markdown_pieces(text: str, limit: int = MARKDOWN_TEXT_LIMIT) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` characters, one per streaming call (none for "").

    Cut anywhere: Slack renders a stream's text joined, as it must for the model's own chunks, which
    split words and Markdown alike.
    """
    return [text[start : start + limit] for start in range(0, len(text), limit)]


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
    :meth:`finish` raises that error, for the answer to be posted whole instead of asking Claude again: at
    once when Slack refused the stream for its length (``bot.posting``), else by the next attempt, the
    decision kept for it (``bot.conversation``).
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
        # The customer stopped the stream in Slack: what they let through is the reply (see _send).
        self.stopped_by_user = False
        self.ts: str | None = None

    async def feed(self, chunk: str) -> None:
        """Add model text; it reaches Slack at once for the first words, then in batches.

        Raises:
            AnswerStopped: the customer stopped the stream in Slack: the answer need be written no further.
        """
        await self._add(chunk)
        if self.stopped_by_user:
            raise AnswerStopped("the customer stopped the answer in Slack")

    async def _add(self, chunk: str) -> None:
        text = self._sanitizer.feed(chunk)
        self._buffer += text
        self._written += text
        if not self._buffer or self.refused or self.withheld or self.stopped_by_user or self._broken:
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
            if why(e) == STOPPED_BY_USER:
                logger.info("the customer stopped a streamed reply; Claude's answer ends there too")
                self.stopped_by_user, self._buffer = True, ""
                return
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
                logger.info("Slack would not start a streamed reply (%s); posting it whole", why(e))
                self.refused = True
                self.maybe_started = maybe_carried_out(e)
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
        await self._add(f"\n{fence}{note}" if fence else note)

    async def finish(self, blocks: list[dict[str, Any]] | None, metadata: dict[str, Any]) -> str | None:
        """Send what is left and stop the stream, attaching ``blocks`` (context, agent controls).

        Raises:
            the error that stopped the stream part-way (see the class), or that stopping it met.
        """
        self._buffer += self._sanitizer.flush()
        if self._broken is not None:
            raise self._broken
        if self.stopped_by_user:
            return self.ts  # Slack takes nothing more on it, its blocks and metadata included
        if self.refused or self.withheld or (self.ts is None and not self._buffer):
            return None
        if self.ts is None:
            await self._send()  # a stream not started yet is started with all of it
            if self.ts is None:
                return None
        try:
            await self._close(blocks, metadata)
        except SlackApiError as e:
            if not await self._stopped_by_customer(e):
                raise
            # Stopped after the last append: what they let through is the reply, as for a stop seen
            # earlier (failing here had the retry remove it and post the whole answer they stopped).
            logger.info("the customer stopped a streamed reply as it was finished; it ends there")
            self.stopped_by_user, self._buffer = True, ""
        return self.ts

    async def _close(self, blocks: list[dict[str, Any]] | None, metadata: dict[str, Any]) -> None:
        """Send the rest of the stream and stop it: all but the last piece in appends, waiting out
        Slack's rate limit; the last with stopStream."""
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

    async def _stopped_by_customer(self, error: SlackApiError) -> bool:
        """Whether closing the stream failed with ``error`` because the customer had stopped it: an append
        says so (stopped_by_user), stopStream only that the message is not streaming any more, and an
        append (of a space, which Slack takes nothing of then) is asked whether that is the customer's."""
        if why(error) == STOPPED_BY_USER:
            return True
        if why(error) != NOT_STREAMING:
            return False
        try:
            await self._quick.chat_appendStream(
                channel=self._msg.channel_id, ts=str(self.ts), markdown_text=" "
            )
        except SlackApiError as asked:
            return why(asked) == STOPPED_BY_USER
        return False

    async def _after_rate_limit(self) -> None:
        await asyncio.sleep(max(0.0, self._resume_at - time.monotonic()))
