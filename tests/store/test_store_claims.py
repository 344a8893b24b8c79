"""Claims, leases, completion and failure of inbound messages, on every database backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.store import DatabaseError, InboundMessage, Store, UnknownMessage, repository
from bot.store.repository import reply_ms
from bot.store.tables.decisions import routing_decisions
from bot.store.tables.messages import inbound_messages
from bot.store.turn_taking import earlier_pending_statement
from router.models import Usage
from tests.store.plans import query_plan
from tests.store.samples import decision, message


async def _row(store: Store, msg: InboundMessage) -> dict[str, object]:
    m = inbound_messages
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(m).where(m.c.ts == msg.ts))).one()
    return row._asdict()


async def _decision_count(store: Store) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(routing_decisions))).scalar_one())


def test_thread_ts_defaults_to_the_message_ts() -> None:
    assert message(ts="1.000001").thread_ts == "1.000001"
    assert message(ts="1.000002", thread_ts="1.000001").thread_ts == "1.000001"


async def test_a_message_is_claimed_once(store: Store) -> None:
    msg = message()
    assert await store.claim(msg) is True
    assert await store.claim(msg) is False
    assert await store.claim(msg.model_copy(update={"text": "edited"})) is False
    assert await store.claim(message(channel_id="C0002")) is True


async def test_racing_deliveries_yield_exactly_one_claim(store: Store) -> None:
    msg = message()
    results = await asyncio.gather(*(store.claim(msg) for _ in range(20)))
    assert results.count(True) == 1


async def test_racing_deliveries_from_two_replicas_yield_one_claim(store: Store, database_url: str) -> None:
    other = await Store.connect(database_url)
    try:
        msgs = [message(ts=f"1712345678.{i:06d}") for i in range(10)]
        results = await asyncio.gather(*(s.claim(m) for m in msgs for s in (store, other, store, other)))
    finally:
        await other.close()
    assert results.count(True) == len(msgs)


async def test_claim_keeps_what_is_needed_to_answer(store: Store) -> None:
    msg = message(ts="1.000002", thread_ts="1.000001", text=None, channel_type="im")
    before = datetime.now(UTC)
    await store.claim(msg, lease_seconds=60)
    row = await _row(store, msg)
    assert row["state"] == "pending"
    assert row["attempts"] == 0
    assert (row["thread_ts"], row["text"], row["channel_type"]) == ("1.000001", None, "im")
    received, lease = row["received_at"], row["lease_until"]
    assert isinstance(received, datetime) and isinstance(lease, datetime)
    assert received.tzinfo is not None and received >= before - timedelta(seconds=1)
    assert timedelta(seconds=59) < lease - received < timedelta(seconds=61)


async def test_earlier_pending_sees_the_conversations_earlier_unfinished_messages(store: Store) -> None:
    root = message("1712345678.000100")
    follow_up = message("1712345679.000200", thread_ts=root.ts)
    elsewhere = message("1712345670.000300")  # earlier, same channel, its own thread
    assert await store.claim(elsewhere)
    assert not await store.earlier_pending(follow_up)
    assert await store.earlier_pending(follow_up, whole_channel=True)  # a DM is one conversation
    assert await store.claim(root)
    assert await store.earlier_pending(follow_up)
    assert not await store.earlier_pending(root)  # nothing before the root in its thread
    await store.complete(root, decision(), None)
    assert not await store.earlier_pending(follow_up)


async def test_a_threads_earlier_messages_are_looked_up_by_index_not_through_the_channel(
    store: Store,
) -> None:
    follow_up = message("1712345679.000200", thread_ts="1712345678.000100")
    plan = await query_plan(store, earlier_pending_statement(follow_up, besides=["1712345678.000900"]))
    assert "ix_inbound_messages_state_thread" in plan, plan


async def test_take_stale_respects_the_lease(store: Store) -> None:
    leased, expired = message(ts="1.000001"), message(ts="1.000002")
    await store.claim(leased, lease_seconds=300)
    await store.claim(expired, lease_seconds=0)
    taken = await store.take_stale(lease_seconds=300)
    assert taken == [expired]
    # Re-leased by the first call, so neither this caller nor another replica gets it again.
    assert await store.take_stale() == []


async def test_take_stale_never_gives_a_message_twice_under_a_race(store: Store) -> None:
    msgs = [message(ts=f"2.{i:06d}") for i in range(30)]
    for msg in msgs:
        await store.claim(msg, lease_seconds=0)
    batches = await asyncio.gather(*(store.take_stale(limit=7) for _ in range(8)))
    taken = [msg.ts for batch in batches for msg in batch]
    assert sorted(taken) == sorted(msg.ts for msg in msgs)


async def test_take_stale_skips_finished_messages_and_includes_leased_on_request(store: Store) -> None:
    done, failed, leased = message(ts="1.1"), message(ts="1.2"), message(ts="1.3")
    for msg in (done, failed, leased):
        await store.claim(msg, lease_seconds=0 if msg is not leased else 300)
    await store.complete(done, decision(), reply_ts="9.9")
    await store.abandon(failed, "gave up")
    assert await store.take_stale(limit=10, include_leased=True) == [leased]


async def test_extend_lease_keeps_a_message_from_take_stale(store: Store) -> None:
    msg = message()
    await store.claim(msg, lease_seconds=0)
    await store.extend_lease(msg, lease_seconds=300)
    assert await store.take_stale() == []
    await store.extend_lease(msg, lease_seconds=0)
    assert await store.take_stale() == [msg]
    with pytest.raises(UnknownMessage):
        await store.extend_lease(message(ts="9.9"), lease_seconds=1)


async def test_fail_keeps_the_message_pending_for_a_retry(store: Store) -> None:
    msg = message()
    await store.claim(msg)
    await store.fail(msg, "ClassifierUnavailable: 529 overloaded", retry_in_seconds=0)
    await store.fail(msg, "x" * 10_000, retry_in_seconds=0)
    (retry,) = await store.take_stale()
    assert retry.attempts == 2
    assert retry == msg.model_copy(update={"attempts": 2})
    row = await _row(store, msg)
    assert row["state"] == "pending"
    assert isinstance(row["last_error"], str) and len(row["last_error"]) == 2000

    await store.fail(msg, "later", retry_in_seconds=3600)
    assert await store.take_stale() == []


async def test_complete_records_the_decision_and_is_idempotent(store: Store) -> None:
    msg = message(ts="1.000002", thread_ts="1.000001")
    await store.claim(msg)
    first = await store.complete(msg, decision(), reply_ts="1.000003")
    again = await store.complete(msg, decision(category="General Question"), reply_ts="1.000004")
    assert first == again
    assert await _decision_count(store) == 1
    assert await store.get_decision(first) == decision()
    row = await _row(store, msg)
    assert row["state"] == "done" and row["lease_until"] is None and row["completed_at"] is not None

    d = routing_decisions
    async with store.engine.connect() as conn:
        stored = (await conn.execute(select(d).where(d.c.id == first))).one()
    assert (stored.team_id, stored.channel_id, stored.user_id) == ("T0001", "C0001", "U0001")
    assert (stored.message_ts, stored.thread_ts, stored.reply_ts) == ("1.000002", "1.000001", "1.000003")
    assert stored.inbound_message_id is not None
    assert stored.created_at.tzinfo is not None


async def _reply_ms(store: Store, decision_id: int) -> float | None:
    d = routing_decisions
    async with store.engine.connect() as conn:
        return (await conn.execute(select(d.c.reply_ms).where(d.c.id == decision_id))).scalar_one()


async def test_complete_records_the_customers_wait_and_a_re_route_none(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """reply_ms: from the customer's message (its Slack ts) to the record of the reply; an agent's
    re-route is not a customer's message, and a decision without a Slack ts (demo, chat) has none."""
    now = datetime(2026, 11, 26, 12, 0, 5, 250000, tzinfo=UTC)
    monkeypatch.setattr(repository, "utcnow", lambda: now)
    msg = message(ts=f"{now.timestamp() - 7.75:.6f}")
    await store.claim(msg)
    first = await store.complete(msg, decision(), reply_ts="1.2")
    assert await _reply_ms(store, first) == pytest.approx(7750, abs=0.01)
    rerouted = await store.record_reroute(
        msg, decision(source="agent", escalated=False), reply_ts="1.3", by="U0AGENT"
    )
    assert await _reply_ms(store, rerouted) is None
    assert await _reply_ms(store, await store.record(decision(), channel_id="demo")) is None
    # A reply found in Slack after a restart: the wait ended when it was posted, not at the restart.
    later = message(ts=f"{now.timestamp() - 60:.6f}")
    await store.claim(later)
    recovered = await store.complete(later, decision(), "1.4", replied_at=now - timedelta(seconds=58))
    assert await _reply_ms(store, recovered) == pytest.approx(2000, abs=0.01)


def test_a_reply_time_needs_a_slack_ts_and_is_never_negative() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert reply_ms(f"{now.timestamp() - 1.5:.6f}", now) == pytest.approx(1500, abs=0.01)
    assert reply_ms(f"{now.timestamp() + 3:.6f}", now) == 0.0  # Slack's clock ahead of ours
    for ts in (None, "", "demo-1", "nan", "inf", "1e9", "-5.0", "1.2.3", " 1.5"):
        assert reply_ms(ts, now) is None, ts


async def test_racing_completions_record_one_decision(store: Store) -> None:
    msg = message()
    await store.claim(msg)
    ids = await asyncio.gather(*(store.complete(msg, decision(), reply_ts=None) for _ in range(10)))
    assert len(set(ids)) == 1
    assert await _decision_count(store) == 1


async def test_complete_is_one_transaction(store: Store) -> None:
    msg = message()
    await store.claim(msg)
    # model_copy skips validation; the database refuses the NULL after the message was marked done.
    broken = decision().model_copy(update={"reasoning": None})
    with pytest.raises(DatabaseError):
        await store.complete(msg, broken, reply_ts=None)
    assert (await _row(store, msg))["state"] == "pending"
    assert await _decision_count(store) == 0


async def test_unclaimed_messages_cannot_be_completed_or_failed(store: Store) -> None:
    with pytest.raises(UnknownMessage):
        await store.complete(message(), decision(), reply_ts=None)
    with pytest.raises(UnknownMessage):
        await store.fail(message(), "boom", retry_in_seconds=1)
    with pytest.raises(UnknownMessage):
        await store.abandon(message(), "boom")
    assert await _decision_count(store) == 0


async def test_fail_after_complete_changes_nothing(store: Store) -> None:
    msg = message()
    await store.claim(msg)
    await store.complete(msg, decision(), reply_ts=None)
    await store.fail(msg, "late", retry_in_seconds=0)
    row = await _row(store, msg)
    assert (row["state"], row["attempts"], row["last_error"]) == ("done", 0, None)


async def test_record_keeps_a_decision_without_a_message(store: Store) -> None:
    offline = decision(
        escalated=False, escalation_reason=None, offline=True, usage=Usage(), cost_usd=0.0, answer=None
    )
    first = await store.record(offline)
    second = await store.record(offline, team_id="T1", channel_id="D1", user_id="U1", message_ts="3.1")
    assert first != second
    assert await store.get_decision(second) == offline
    assert await store.get_decision(second + 1000) is None


async def test_ping_and_backend(store: Store, database_url: str) -> None:
    assert await store.ping() is True
    assert store.is_sqlite is database_url.startswith("sqlite")


async def test_completing_a_message_notes_its_thread_in_the_same_step(store: Store) -> None:
    """An escalation recorded is an escalated thread: the bot stays silent there, with no second write
    that could fail in between."""
    escalated, answered = message("1.000001"), message("1.000002")
    for msg in (escalated, answered):
        assert await store.claim(msg)
    await store.complete(escalated, decision(), reply_ts=None)
    await store.complete(answered, decision(escalated=False, escalation_reason=None), reply_ts=None)
    silent = await store.get_thread(escalated.team_id, escalated.channel_id, escalated.thread_ts)
    free = await store.get_thread(answered.team_id, answered.channel_id, answered.thread_ts)
    assert silent is not None and silent.bot_silent and silent.customer_id == escalated.user_id
    assert free is not None and not free.bot_silent and free.bot_answered


async def test_a_re_route_hold_is_one_holders_until_it_runs_out(store: Store) -> None:
    msg = message()
    assert await store.claim(msg)
    await store.complete(msg, decision(), "1.1")
    first = await store.hold_answered(msg, 60)
    assert first is not None
    assert await store.hold_answered(msg, 60) is None  # another agent's re-route waits
    renewed = await store.hold_answered(msg, 60, holding=first)
    assert renewed is not None and renewed > first
    await store.release_answered(msg, first)  # a stale proof releases nothing
    assert await store.hold_answered(msg, 60) is None
    await store.release_answered(msg, renewed)
    lapsed = await store.hold_answered(msg, -1)  # held, and run out at once (its holder died)
    assert lapsed is not None
    taken = await store.hold_answered(msg, 60)
    assert taken is not None  # the next re-route takes it over
    assert await store.hold_answered(msg, 60, holding=lapsed) is None  # the first holder lost it
    await store.release_answered(msg, lapsed)
    assert await store.hold_answered(msg, 60) is None  # and could not free the new holder's
    assert await store.hold_answered(message(ts="9.9"), 60) is not None  # never claimed: nothing to hold
