"""Socket Mode under the faults of its connection: a websocket that drops mid-burst, an ack lost with it,
and the envelopes Slack delivers again after the reconnect."""

from __future__ import annotations

import pytest

from bot import socket_mode
from tests.bot.harness import socket_mode_bot
from tests.fakes import FakeAnthropic, FakeSlack
from tests.reliability.helpers import eventually, outcomes, pending_count, rows, unhandled_errors

BURST = 20
BEFORE_THE_DROP = 8


async def test_a_connection_dropped_mid_burst_is_reopened_and_every_message_is_answered_once(
    slack: FakeSlack,
    anthropic_api: FakeAnthropic,
    bot_db_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No ping within the test: the new connection can only come from the bot seeing its ack fail.
    monkeypatch.setattr(socket_mode, "PING_INTERVAL_SECONDS", 3600.0)
    async with socket_mode_bot(slack, anthropic_api, bot_db_url) as running:
        socket = running.socket
        events = []
        for n in range(BEFORE_THE_DROP):
            event, envelope = await running.customer_says(f"I want a refund for order {n}")
            await socket.wait_ack(envelope)
            events.append(event)
        # The connection fails (no disconnect message, no close frame) as the next ack comes back: the
        # bot took that message and acknowledged it, and Slack never had the ack. The rest of the burst
        # goes on the failing connection, or waits for the next one.
        socket.drop_at_ack(None)
        for n in range(BEFORE_THE_DROP, BURST):
            event, _ = await running.customer_says(f"My app crashes on screen {n}")
            events.append(event)
        await socket.wait_connections(2)
        [lost] = socket.lost_acks  # a message the bot took, whose ack Slack never had
        assert lost in socket.unacked()

        # Slack delivers again what it has no ack for, on the new connection.
        redelivered = [await socket.redeliver(envelope) for envelope in socket.unacked()]
        for envelope in redelivered:
            await socket.wait_ack(envelope)

        async def all_answered() -> bool:
            answered = all(outcomes(slack, e["channel"], e["ts"]) for e in events)
            return answered and not await pending_count(running.bot.store)

        await eventually(all_answered, "every message of the burst answered")
        await running.idle()
        assert [len(outcomes(slack, e["channel"], e["ts"])) for e in events] == [1] * BURST
        decisions = await rows(running.bot.store)
        assert sorted(d["message_ts"] for d in decisions) == sorted(e["ts"] for e in events)
    # Each ack that could not be sent is one warning saying what follows, not a traceback.
    assert not unhandled_errors(caplog)
    unsent = [
        r.getMessage()
        for r in caplog.records
        if "dropped before it had the acknowledgement" in r.getMessage()
    ]
    assert unsent and all("Slack delivers an event again" in m for m in unsent)
