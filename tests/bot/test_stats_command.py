"""/routing-stats end to end: signed slash-command requests to the real app, answers on the response_url."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot import agents
from bot.clients import SLACK_RETRIES
from bot.listeners import commands
from tests.bot.conftest import BotFactory
from tests.bot.harness import CHANNEL, RunningBot
from tests.bot.test_stats_compare import seed as seed_for_comparison
from tests.bot.test_stats_purge import seed as seed_for_purge
from tests.fakes import FakeSlack
from tests.fakes.slack_signing import slash_command_form


async def responses(
    slack: FakeSlack, name: str, count: int = 1, seconds: float = 10.0
) -> list[dict[str, Any]]:
    """What the app posted to the response_url ``name``, once it has posted ``count`` times."""
    deadline = time.monotonic() + seconds
    while len(slack.responses.get(name, [])) < count:
        assert time.monotonic() < deadline, f"no answer on the response_url {name!r}"
        await asyncio.sleep(0.01)
    return slack.responses[name]


async def stats(running: RunningBot, user: str, text: str = "", name: str = "stats") -> dict[str, Any]:
    form = slash_command_form("/routing-stats", text, user, CHANNEL, running.slack.response_url(name))
    report = running.slack.hold_responses(name)
    status, _ = await running.send_form(form)
    # Acknowledged while the report is still on its way (Slack waits three seconds for the ack), not
    # after it: no clock in a test, the report is held until the ack is in.
    assert status == 200 and not running.slack.responses.get(name)
    report.set()
    [answer] = await responses(running.slack, name)
    assert answer["response_type"] == "ephemeral"
    return answer


async def test_an_admin_gets_the_report_privately(running: RunningBot, slack: FakeSlack) -> None:
    slack.add_user("U0ADMIN", is_admin=True)
    event = await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    assert running.replies(event)
    answer = await stats(running, "U0ADMIN", "30d")
    assert answer["text"] == "Routing stats: last 30 days: 1 message routed"
    texts = "\n".join(b["text"]["text"] for b in answer["blocks"] if b["type"] == "section")
    assert "*1* message routed" in texts and "Refund Request" in texts
    # Only the response_url is used: nothing is posted in the channel.
    assert not slack.calls_to("chat.postEphemeral")


async def test_a_member_who_is_not_an_admin_is_refused_and_sees_no_numbers(
    running: RunningBot, slack: FakeSlack
) -> None:
    slack.add_user("U0MEMBER")
    await running.customer_says("Where is my parcel?")
    await running.idle()
    answer = await stats(running, "U0MEMBER")
    assert "for support managers" in answer["text"]
    # Who may see them, and who can change that: with neither setting, the admins, and adding the
    # member to STATS_USERS alone would take the admins' access away.
    assert (
        "workspace admins and owners" in answer["text"]
        and "whoever runs the support router" in answer["text"]
    )
    assert "blocks" not in answer or not any("messages routed" in str(b) for b in answer["blocks"])


async def test_stats_users_decide_and_admins_are_not_enough(make_bot: BotFactory, slack: FakeSlack) -> None:
    running = await make_bot(stats_users=["U0MANAGER"])
    slack.add_user("U0ADMIN", is_admin=True)
    slack.add_user("U0MANAGER")
    refused = await stats(running, "U0ADMIN", name="admin")
    assert "for support managers" in refused["text"] and "admins" not in refused["text"]
    allowed = await stats(running, "U0MANAGER", "all", name="manager")
    assert allowed["text"].startswith("Routing stats: all time")


async def test_a_stats_usergroup_member_is_allowed(make_bot: BotFactory, slack: FakeSlack) -> None:
    running = await make_bot(stats_usergroup="S0MANAGERS")
    slack.add_usergroup("S0MANAGERS", ["U0LEAD"])
    answer = await stats(running, "U0LEAD", "24h")
    assert answer["text"].startswith("Routing stats: last 24 hours")
    slack.add_user("U0AGENT")
    refused = await stats(running, "U0AGENT", "24h", name="refused")
    # The group as Slack names it: they know whom to ask.
    assert "members of <!subteam^S0MANAGERS>" in refused["text"]


async def test_a_failed_stats_usergroup_lookup_asks_to_try_again_until_slack_answers(
    make_bot: BotFactory, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(agents, "time", SimpleNamespace(monotonic=lambda: now[0]))
    running = await make_bot(stats_usergroup="S0MANAGERS")
    slack.add_usergroup("S0MANAGERS", ["U0LEAD"])
    slack.fail_next("usergroups.users.list", error="fatal_error")
    unknown = await stats(running, "U0LEAD", "24h", name="unknown")
    assert unknown["text"] == commands.ACCESS_UNKNOWN
    now[0] += 30  # well within the group cache's five minutes
    answer = await stats(running, "U0LEAD", "24h", name="allowed")
    assert answer["text"].startswith("Routing stats: last 24 hours")


async def test_usage_errors_and_help_are_private(running: RunningBot, slack: FakeSlack) -> None:
    slack.add_user("U0ADMIN", is_admin=True)
    wrong = await stats(running, "U0ADMIN", "last week", name="wrong")
    assert "I don't understand 'last'" in wrong["text"] and "Usage:" in wrong["text"]
    helped = await stats(running, "U0ADMIN", "help", name="help")
    assert helped["text"].startswith("Usage:")


async def test_the_report_after_a_purge_of_old_decisions(running: RunningBot, slack: FakeSlack) -> None:
    slack.add_user("U0ADMIN", is_admin=True)
    await seed_for_purge(running.store)
    await running.store.purge(timedelta(days=90))
    answer = await stats(running, "U0ADMIN", "all")
    assert answer["text"] == "Routing stats: all time: 5 messages routed"
    notes = str([b for b in answer["blocks"] if b["type"] == "context"])
    assert "The decisions of 3 messages of this period made before" in notes
    assert "p50 and p95 are read from daily histograms" in notes


async def test_the_report_against_the_week_before_is_one_slack_shows(
    running: RunningBot, slack: FakeSlack
) -> None:
    """The fake's response_url refuses blocks Slack would (HTTP 400): this one took them."""
    slack.add_user("U0ADMIN", is_admin=True)
    await seed_for_comparison(running.store)
    answer = await stats(running, "U0ADMIN", "7d <#C0BILLING|billing>")
    [against] = [b["text"]["text"] for b in answer["blocks"] if "Against" in str(b)]
    assert against.startswith("*Against the 7 days before* (")
    assert against.endswith(
        "UTC): 2 messages (−50%) · escalated 0% (−50 pts) · accuracy 100% of 1 reviewed (+50 pts) · "
        "median wait for a reply 2,000 ms (−50%) · cost per message $0.0010 (−50%)"
    )


async def test_an_unexpected_failure_still_answers_the_manager(
    running: RunningBot, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    slack.add_user("U0ADMIN", is_admin=True)

    async def broken(*args: Any) -> None:
        raise RuntimeError("a bug in the report")

    monkeypatch.setattr(commands, "build_report", broken)
    answer = await stats(running, "U0ADMIN", "7d")
    assert answer["text"] == commands.FAILED
    [record] = [r for r in caplog.records if r.getMessage() == "routing stats failed"]
    assert record.exc_info is not None and "a bug in the report" in str(record.exc_info[1])


async def test_an_admin_slack_cannot_vouch_for_is_told_to_try_again_not_refused(
    running: RunningBot, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.add_user("U0ADMIN", is_admin=True)
    # users.info failing (503 after slack_sdk's retries): whether the caller is an admin is not known.
    slack.fail_next("users.info", status=503, count=1 + SLACK_RETRIES)
    unknown = await stats(running, "U0ADMIN", "24h", name="unavailable")
    assert unknown["text"] == commands.ACCESS_UNKNOWN
    assert "for support managers" not in unknown["text"]

    async def timed_out(**kwargs: Any) -> None:
        raise TimeoutError

    # The lookup timing out: the command is still acknowledged, and the caller still answered.
    with monkeypatch.context() as patched:
        patched.setattr(running.bot.client, "users_info", timed_out)
        unknown = await stats(running, "U0ADMIN", "24h", name="timed out")
    assert unknown["text"] == commands.ACCESS_UNKNOWN
    answer = await stats(running, "U0ADMIN", "24h", name="answered")
    assert answer["text"].startswith("Routing stats: last 24 hours")


async def test_a_report_slack_will_not_show_is_told_in_words_and_logged(
    running: RunningBot, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    # Blocks past what Slack takes in one message (many categories and channels): the report was posted
    # to the response_url, refused there, and the manager got nothing, with nothing in the log.
    slack.add_user("U0ADMIN", is_admin=True)
    await running.customer_says("I was charged twice for my order, I want my money back")
    await running.idle()
    slack.block_text_limit = 100
    answer = await stats(running, "U0ADMIN", "30d")
    assert len(slack.refused_responses["stats"]) == 1
    assert "blocks" not in answer
    assert answer["text"] == (
        "Routing stats: last 30 days: 1 message routed. Slack would not show the whole report (HTTP 400: "
        "msg_blocks_too_long); `support-router stats 30d` prints it in a terminal where the bot runs, or ask "
        "for a shorter period or one channel."
    )
    warning = [r.getMessage() for r in caplog.records if r.name == "bot.private_replies"]
    assert warning == [
        "Slack refused the /routing-stats answer on its response_url (HTTP 400: msg_blocks_too_long)"
    ]
