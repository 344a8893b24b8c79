"""Two replicas behind a load balancer, on one PostgreSQL: one is killed mid-burst, the other finishes.

Two real ``python -m bot serve`` processes (HTTP mode) share one PostgreSQL database, the fake Slack and
the fake Anthropic (answering with a realistic delay, streamed). A burst of signed Events API deliveries
is spread over them round-robin, as a load balancer would; Slack's redeliveries (``X-Slack-Retry-Num``)
of some reach the other replica, and some messages come both as ``message`` and as ``app_mention``, the
second to the other replica. Mid-burst one replica is killed with SIGKILL: what Slack delivers to it
from then on fails, and Slack delivers it again, to the survivor. The survivor finishes every message
the dead one had claimed once its lease runs out. Every message ends with exactly one answer or
escalation in its thread, nothing half-written beside it, and exactly one recorded decision.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.store import Store
from tests.bot.harness import CHANNEL, CUSTOMER
from tests.fakes import (
    BOT_USER_ID,
    FakeAnthropic,
    FakeSlack,
    app_mention_event,
    event_callback,
    message_event,
)
from tests.reliability.helpers import eventually, outcomes, pending_count, rows
from tests.reliability.processes import BotProcess, deliver, serve_environment

BURST = 60
# Delivered before the kill; the rest after it, when one replica is gone.
BEFORE_KILL = 40
# Short, so the dead replica's messages are taken over soon; but a live replica renews its leases every
# third of it, and one whose renewal is late (a stall of two thirds of it on a loaded machine) would let
# the other take a message it is still answering: with 3 s leases lapsed under load (three busy loops on
# two cores), with 6 s none did.
LEASE_SECONDS = 6
TEXTS = (
    "I was charged twice for order {i}, please refund me",
    "The app shows an error when I log in from the laptop (case {i})",
    "Could a real person call me about invoice {i}?",
)

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
    ),
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL"),
    # The shared fixture's PostgreSQL database alone: several replicas need PostgreSQL.
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


class Burst:
    """The burst's messages and every delivery of them: to which replica, and what it answered."""

    def __init__(self, slack: FakeSlack) -> None:
        base = int(time.time())
        self.payloads: list[dict[str, Any]] = []
        # Some messages mention the bot: Slack sends them twice, as a message and as an app_mention.
        self.mentions: dict[str, dict[str, Any]] = {}
        for i in range(BURST):
            ts = f"{base}.{i + 1:06d}"
            text = TEXTS[i % len(TEXTS)].format(i=i)
            if i % 4 == 1:
                text = f"<@{BOT_USER_ID}> {text}"
            slack.add_message(CHANNEL, ts, CUSTOMER, text)
            self.payloads.append(event_callback(message_event(text, CHANNEL, CUSTOMER, ts)))
            if i % 4 == 1:
                self.mentions[ts] = event_callback(app_mention_event(text, CHANNEL, CUSTOMER, ts))
        self.statuses: dict[str, list[int]] = {}

    def timestamps(self) -> list[str]:
        return [p["event"]["ts"] for p in self.payloads]

    async def send(
        self, session: aiohttp.ClientSession, bots: list[BotProcess], first: int, last: int
    ) -> None:
        """Deliver messages ``first``..``last - 1`` at once, round-robin; every third is redelivered by
        Slack to the other replica, and each mention's ``app_mention`` goes to the other replica too."""
        deliveries = []
        for i in range(first, last):
            payload = self.payloads[i]
            ts = payload["event"]["ts"]
            here, other = bots[i % 2], bots[(i + 1) % 2]
            deliveries.append(self._deliver(session, here, payload, ts))
            if i % 3 == 0:
                deliveries.append(self._deliver(session, other, payload, ts, retry=1))
            if ts in self.mentions:
                deliveries.append(self._deliver(session, other, self.mentions[ts], ts))
        await asyncio.gather(*deliveries)

    async def _deliver(
        self,
        session: aiohttp.ClientSession,
        bot: BotProcess,
        payload: dict[str, Any],
        ts: str,
        retry: int = 0,
    ) -> None:
        status = await deliver(session, bot.url, payload, retry=retry)
        self.statuses.setdefault(ts, []).append(status)

    async def redeliver_unacknowledged(self, session: aiohttp.ClientSession, survivor: BotProcess) -> None:
        """Slack delivers again every event none of whose deliveries it saw acknowledged."""
        for payload in self.payloads:
            ts = payload["event"]["ts"]
            statuses = self.statuses[ts]
            if 200 not in statuses:
                assert await deliver(session, survivor.url, payload, retry=len(statuses)) == 200, ts
                statuses.append(200)


async def test_two_replicas_on_postgresql_one_killed_mid_burst_answer_every_message_exactly_once(
    tmp_path: Path, database_url: str, claude_routes: Path
) -> None:
    async with (
        FakeSlack() as slack,
        FakeAnthropic(
            classify_latency=0.4, first_token_latency=0.6, tokens_per_second=30, answer_tokens=12
        ) as anthropic,
        aiohttp.ClientSession() as session,
    ):
        settings = {
            "ROUTES_FILE": str(claude_routes),  # every message is Claude's: the slow path, in flight longest
            "SLACK_STREAMING": "on",  # so the kill also leaves answers half-written
            "CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        bots = [
            BotProcess(
                serve_environment(tmp_path, slack, anthropic, database_url, **settings), tmp_path / name
            )
            for name in ("replica-a.log", "replica-b.log")
        ]
        doomed, survivor = bots
        burst = Burst(slack)
        try:
            # Started together: one migrates the empty database while the other waits for it.
            await asyncio.gather(*(bot.start(session) for bot in bots))
            await burst.send(session, bots, 0, BEFORE_KILL)
            finished = ("chat.stopStream", "chat.postMessage")
            await eventually(lambda: sum(len(slack.calls_to(m)) for m in finished) >= 5, "the first answers")
            await doomed.kill()
            answered_at_kill = sum(bool(outcomes(slack, CHANNEL, ts)) for ts in burst.timestamps())
            assert answered_at_kill < BEFORE_KILL, "the kill came too late to test anything"

            # The load balancer still sends the dead replica its share: those deliveries fail, and Slack
            # delivers them again, to the survivor.
            await burst.send(session, bots, BEFORE_KILL, BURST)
            await burst.redeliver_unacknowledged(session, survivor)

            def all_answered() -> bool:
                return all(outcomes(slack, CHANNEL, ts) for ts in burst.timestamps())

            await eventually(
                all_answered, "an answer to every message on the surviving replica", patience=180
            )
            await eventually(lambda: _no_pending(database_url), "no message pending")
        finally:
            await asyncio.gather(*(bot.stop() for bot in bots))

        for ts in burst.timestamps():
            assert len(outcomes(slack, CHANNEL, ts)) == 1, ts
            # Nothing half-written by the dead replica is left beside the one answer.
            assert len(slack.thread_replies(CHANNEL, ts)) == 1, ts
        # The survivor took over messages the dead replica had claimed (their lease ran out).
        assert "resuming" in survivor.log.read_text(), "the survivor never resumed a message"

        store = await Store.connect(database_url)
        try:
            decisions = Counter(row["message_ts"] for row in await rows(store))
        finally:
            await store.close()
        # Exactly one decision per message: none missing, none recorded twice.
        assert decisions == Counter(burst.timestamps())


async def _no_pending(url: str) -> bool:
    store = await Store.connect(url)
    try:
        return await pending_count(store) == 0
    finally:
        await store.close()
