"""What the decision log keeps (STORE_MESSAGE_TEXT) and how old rows go (``db purge``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.redaction import CARD_MASK, EMAIL_MASK, PHONE_MASK
from bot.store import Store, retention
from bot.store.tables.base import utcnow
from bot.store.tables.decisions import routing_decisions
from bot.store.tables.examples import learned_examples
from bot.store.tables.messages import inbound_messages
from bot.store.tables.threads import threads
from tests.store.samples import decision, message

SECRET_TEXT = "Refund card 4111 1111 1111 1111 to jane@example.com, call +1 415 555 0100"
ANSWER = "We will refund card 4111-1111-1111-1111 and write to jane@example.com."


async def _rows(store: Store) -> tuple[list[dict], list[dict]]:
    async with store.reading() as conn:
        messages = (await conn.execute(select(inbound_messages))).mappings().all()
        decisions = (await conn.execute(select(routing_decisions))).mappings().all()
    return [dict(r) for r in messages], [dict(r) for r in decisions]


@pytest.mark.parametrize("mode", ["full", "redacted", "none"])
async def test_the_log_keeps_what_store_message_text_says(store: Store, mode) -> None:
    store.message_text = mode
    msg = message(text=SECRET_TEXT)
    assert await store.claim(msg)
    [pending], _ = await _rows(store)
    assert pending["text"] == SECRET_TEXT  # kept whole while pending: a restart must be able to answer
    await store.complete(
        msg, decision(query=SECRET_TEXT, answer=ANSWER, reasoning="Card 4111111111111111"), "1.1"
    )
    await store.record(decision(query=SECRET_TEXT, answer=ANSWER), channel_id="console")
    [done], decisions = await _rows(store)
    texts = [done["text"], *(d["query"] for d in decisions), *(d["answer"] for d in decisions)]
    if mode == "full":
        assert done["text"] == SECRET_TEXT and decisions[0]["answer"] == ANSWER
        return
    for kept in texts:
        assert kept is None or ("4111" not in kept and "jane@" not in kept and "555" not in kept)
    assert "4111" not in decisions[0]["reasoning"]
    if mode == "redacted":
        assert done["text"] == f"Refund card {CARD_MASK} to {EMAIL_MASK}, call {PHONE_MASK}"
        assert all(d["query"] == done["text"] for d in decisions)
    else:
        assert done["text"] is None
        assert all(d["query"] == "" and d["answer"] is None for d in decisions)


async def test_an_abandoned_message_keeps_only_what_the_mode_allows(store: Store) -> None:
    store.message_text = "none"
    msg = message(text=SECRET_TEXT)
    assert await store.claim(msg)
    await store.abandon(msg, "Slack unreachable")
    [row], _ = await _rows(store)
    assert row["state"] == "failed" and row["text"] is None


async def _age(store: Store, days: float) -> None:
    """Make every row ``days`` old."""
    then = utcnow() - timedelta(days=days)
    async with store._transaction() as conn:
        await conn.execute(update(routing_decisions).values(created_at=then))
        await conn.execute(update(inbound_messages).values(received_at=then))
        await conn.execute(
            update(inbound_messages).where(inbound_messages.c.state != "pending").values(completed_at=then)
        )
        await conn.execute(update(threads).values(updated_at=then))
        await conn.execute(update(learned_examples).values(created_at=then))


async def test_purge_deletes_old_rows_but_never_a_pending_message(store: Store) -> None:
    done, pending = message("1.000001"), message("1.000002")
    for msg in (done, pending):
        assert await store.claim(msg)
    await store.complete(done, decision(), "1.5")  # also notes the thread, escalated
    await store.add_example("Refund Request", done.text or "", "claude", keep=500)
    await _age(store, 100)
    fresh = message("2.000001")
    assert await store.claim(fresh)
    await store.complete(fresh, decision(), "2.5")
    await store.add_example("Refund Request", "a newer customer's words", "agent", keep=500)

    purged = await store.purge(timedelta(days=90))

    assert purged == (1, 1, 1, 1)
    assert await store.learned() == {"Refund Request": ["a newer customer's words"]}
    messages, decisions = await _rows(store)
    assert sorted(m["ts"] for m in messages) == ["1.000002", "2.000001"]  # the pending one stays
    assert [d["message_ts"] for d in decisions] == ["2.000001"]
    assert await store.get_thread(done.team_id, done.channel_id, done.thread_ts) is None
    assert await store.purge(timedelta(days=90)) == (0, 0, 0, 0)


async def test_a_nul_character_from_a_customer_or_the_model_is_stored_not_refused(store: Store) -> None:
    # PostgreSQL refuses NUL in text; a refused claim would fail on every redelivery, never answered.
    msg = message(text="my order\x00 is late")
    assert await store.claim(msg)
    await store.complete(msg, decision(query=msg.text, answer="Sorry\x00!", reasoning="x\x00"), "1.1")
    [row], [recorded] = await _rows(store)
    assert row["text"] == "my order\ufffd is late"
    assert recorded["query"] == "my order\ufffd is late" and recorded["answer"] == "Sorry\ufffd!"


async def test_purge_goes_in_batches_so_the_bot_is_never_locked_out_for_long(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "PURGE_BATCH", 3)
    for i in range(10):
        msg = message(f"1.{i:06d}")
        assert await store.claim(msg)
        await store.complete(msg, decision(), f"1.5{i}")
    await _age(store, 100)
    transactions = []
    real = store._transaction

    def counted() -> Any:
        transactions.append(1)
        return real()

    monkeypatch.setattr(store, "_transaction", counted)
    purged = await store.purge(timedelta(days=90))
    assert (purged.decisions, purged.messages, purged.threads) == (10, 10, 10)
    # 10 rows in batches of 3: four transactions each for decisions, messages and threads, one for none;
    # and one noting the purge's cutoff for /routing-stats.
    assert len(transactions) == 4 + 4 + 4 + 1 + 1
    messages, decisions = await _rows(store)
    assert messages == [] and decisions == []
