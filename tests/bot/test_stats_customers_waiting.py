"""/routing-stats tells managers who waits on a person right now: the customers who wrote again in a thread
an agent holds, with no agent's reply since. End to end: the waits made by customers writing to the real
app, the report asked for with a signed slash command and read on its response_url, and the terminal's."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import update

from bot.commands.stats import print_stats
from bot.settings import Settings
from bot.stats.queries import split_period
from bot.stats.waiting_now import waiting_now_statement
from bot.store import Store
from bot.store.tables.threads import threads
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, RunningBot
from tests.bot.stats_samples import TEAM
from tests.bot.test_customers_waiting_on_an_agent import writes_again
from tests.bot.test_handoffs import AGENT, taken_over
from tests.bot.test_stats_command import stats
from tests.fakes import FakeAnthropic, FakeSlack
from tests.store.plans import query_plan

ADMIN = "U0ADMIN"
BILLING = "C0BILLING"
# What the line says of every wait, whatever their number.
WHY = (
    "(they wrote again and no agent has replied since; counted as of now, whenever they wrote, not only "
    "in this period)"
)


async def _waited(
    running: RunningBot, event: dict[str, Any], minutes: int, *, reminded: bool = False
) -> None:
    """Date back the wait in ``event``'s thread to ``minutes`` ago (and mark it reminded of): the clock a
    test cannot wait out."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {"customer_waiting_since": now - timedelta(minutes=minutes)}
    values |= {"reminded_at": now} if reminded else {}
    t = threads
    where = (t.c.team_id == running.slack.team_id, t.c.channel_id == CHANNEL, t.c.thread_ts == event["ts"])
    async with running.store.engine.begin() as conn:
        assert (await conn.execute(update(t).where(*where).values(values))).rowcount == 1


async def _held_thread(store: Store, channel: str, waiting_for: timedelta) -> None:
    """A thread of ``channel`` that an agent took over, its customer waiting since ``waiting_for`` ago and
    already reminded of (which the reminders then leave alone)."""
    now = datetime.now(UTC)
    values = {
        "team_id": TEAM,
        "channel_id": channel,
        "thread_ts": "1.1",
        "bot_answered": True,
        "taken_over_by": AGENT,
        "taken_over_at": now - timedelta(days=4),
        "customer_waiting_since": now - waiting_for,
        "reminded_at": now - waiting_for + timedelta(minutes=30),
    }
    async with store.engine.begin() as conn:
        await conn.execute(threads.insert().values(values))


async def _seed(running: RunningBot, anthropic_api: FakeAnthropic) -> None:
    """In #support (``CHANNEL``), three threads an agent took over, whose customers wrote again: one waiting
    43 minutes (reminded of already: they wait on), one 10 minutes, and one the agent has replied to since
    (nobody waits). In #billing, a customer waiting for 3 days, since before any 24 h report's period; in
    the demo's channel, one the reports leave out."""
    longest = await taken_over(running, anthropic_api, text="about my order")
    answered = await taken_over(running, anthropic_api, text="about my invoice")
    latest = await taken_over(running, anthropic_api, text="about my login")
    for event in (longest, answered, latest):
        await writes_again(running, event)
    await running.customer_says("Refunded, sorry for the wait", user=AGENT, thread_ts=answered["ts"])
    await running.idle()
    await _waited(running, longest, 43, reminded=True)
    await _waited(running, latest, 10)
    thread = await running.store.get_thread(running.slack.team_id, CHANNEL, answered["ts"])
    assert thread is not None and thread.taken_over_by == AGENT  # held, but nobody waits there
    await _held_thread(running.store, BILLING, timedelta(days=3))
    await _held_thread(running.store, "demo", timedelta(days=5))


def _sections(answer: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]


async def _terminal(url: str, period: str, channel: str) -> str:
    """What ``support-router stats PERIOD --channel CHANNEL`` prints, its lines joined (rich wraps them)."""
    console = Console(file=io.StringIO(), width=160, color_system=None)
    assert await print_stats(Settings(_env_file=None, database_url=url), period, [channel], console) == 0
    out = console.file
    assert isinstance(out, io.StringIO)
    return " ".join(out.getvalue().split())


async def test_the_report_says_how_many_customers_wait_on_the_agent_holding_their_thread_now(
    make_bot: BotFactory, anthropic_api: FakeAnthropic, slack: FakeSlack, database_url: str
) -> None:
    running = await make_bot(agent_users=[AGENT])
    slack.add_user(ADMIN, is_admin=True)
    await _seed(running, anthropic_api)

    support = _sections(await stats(running, ADMIN, f"24h <#{CHANNEL}|support>", name="support"))
    now = f"*Now*: *2 customers waiting on the agent holding their thread*, the longest for 43 minutes {WHY}"
    assert now in support
    # Beside the escalations still waiting for an agent to pick them up (none: all three were).
    picked_up = next(i for i, text in enumerate(support) if text.startswith("*Picked up by agents*"))
    assert support[picked_up + 1] == now

    # Every channel but the demo's: #billing's customer has waited since before the period, and counts.
    everywhere = _sections(await stats(running, ADMIN, "24h", name="everywhere"))
    assert (
        f"*Now*: *3 customers waiting on the agent holding their thread*, the longest for 72 hours {WHY}"
        in everywhere
    )

    # A period with no message routed in #billing still says who waits there now.
    billing = _sections(await stats(running, ADMIN, f"24h <#{BILLING}|billing>", name="billing"))
    assert billing[-1] == f"*Now*: *1 customer waiting on the agent holding their thread*, for 72 hours {WHY}"
    assert "_No messages were routed in this period._" in billing

    terminal = await _terminal(database_url, "24h", CHANNEL)
    assert (
        f"Now: 2 customers waiting on the agent holding their thread, the longest for 43 minutes {WHY}"
        in terminal
    )
    assert terminal.index("Picked up by agents") < terminal.index("Now: 2 customers")
    readme = " ".join((Path(__file__).parents[2] / "README.md").read_text().split())
    assert (
        f"`Now: 2 customers waiting on the agent holding their thread, the longest for 43 minutes {WHY}`"
        in readme
    )


async def test_no_line_when_nobody_waits_on_an_agent(
    make_bot: BotFactory, anthropic_api: FakeAnthropic, slack: FakeSlack, database_url: str
) -> None:
    """As for every other count the report leaves out at zero: an agent replied to the customer who wrote
    again, and the only wait left is in the demo's channel, which the report leaves out."""
    running = await make_bot(agent_users=[AGENT])
    slack.add_user(ADMIN, is_admin=True)
    event = await taken_over(running, anthropic_api)
    await writes_again(running, event)
    await running.customer_says("On it", user=AGENT, thread_ts=event["ts"])
    await running.idle()
    await _held_thread(running.store, "demo", timedelta(days=5))
    answer = await stats(running, ADMIN, "24h")
    assert any(text.startswith("*Picked up by agents*") for text in _sections(answer))
    assert "waiting on the agent" not in str(answer)
    assert "waiting on the agent" not in await _terminal(database_url, "24h", CHANNEL)


async def test_the_customers_waiting_now_are_counted_from_their_index(store: Store) -> None:
    """Reminded waits count too, which the reminders' partial index leaves out: without an index of every
    wait the count read the whole of ``threads`` (tens of ms over 700,000 threads)."""
    now = datetime.now(UTC)
    for channel in (None, "C0SUPPORT"):
        statement = waiting_now_statement(split_period(now - timedelta(days=7), now, channel))
        assert "ix_threads_customers_waiting_now" in await query_plan(store, statement)
