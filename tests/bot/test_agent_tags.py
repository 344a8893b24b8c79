"""Whom an escalation tags: every agent once. An agent both in AGENT_USERS and in AGENT_USERGROUP is reached
by the group's tag, and is not tagged again by name (Slack would notify them twice)."""

from __future__ import annotations

from tests.bot.conftest import BotFactory
from tests.bot.test_dm_escalations import escalated_dm, notices
from tests.bot.test_handoffs import AGENTS_CHANNEL, escalate
from tests.bot.test_reminders import later
from tests.fakes import FakeAnthropic, FakeSlack

GROUP = "S0SUPPORT"
IN_GROUP = "U0AGENT"  # listed in AGENT_USERS and a member of the group
LEAD = "U0LEAD1"  # listed in AGENT_USERS only


async def test_an_agent_listed_and_in_the_group_is_tagged_once_in_the_escalation_and_its_reminder(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    slack.add_usergroup(GROUP, [IN_GROUP, "U0OTHER"])
    running = await make_bot(agent_users=[IN_GROUP, LEAD], agent_usergroup=GROUP)
    event = await escalate(running, anthropic_api)
    assert await running.bot.reminders.remind(later(31)) == 1
    escalation, reminder = running.replies(event)
    for message in (escalation, reminder):
        assert f"<!subteam^{GROUP}> <@{LEAD}>:" in message["text"]
        assert f"<@{IN_GROUP}>" not in message["text"]


async def test_a_dm_notice_tags_an_agent_listed_and_in_the_group_once(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    slack.add_usergroup(GROUP, [IN_GROUP])
    running = await make_bot(agent_users=[IN_GROUP], agent_usergroup=GROUP, escalation_channel=AGENTS_CHANNEL)
    await escalated_dm(running, anthropic_api)
    [notice] = notices(slack)
    assert notice["text"].startswith(f"<!subteam^{GROUP}>: this conversation needs a person")
    assert f"<@{IN_GROUP}>" not in notice["text"]


async def test_listed_agents_are_all_tagged_while_the_groups_members_cannot_be_read(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    # Slack cannot list the group (missing usergroups:read, an outage): whether a listed agent is in it is
    # not known, and a second notification beats none.
    slack.add_usergroup(GROUP, [IN_GROUP])
    slack.fail_next("usergroups.users.list", error="missing_scope", count=50)
    running = await make_bot(agent_users=[IN_GROUP, LEAD], agent_usergroup=GROUP)
    event = await escalate(running, anthropic_api)
    [escalation] = running.replies(event)
    assert f"<!subteam^{GROUP}> <@{IN_GROUP}> <@{LEAD}>:" in escalation["text"]


async def test_an_agent_listed_twice_is_tagged_once(
    make_bot: BotFactory, slack: FakeSlack, anthropic_api: FakeAnthropic
) -> None:
    # AGENT_USERS=U0LEAD1,<@U0LEAD1>: the same member, once as an id and once pasted from a mention.
    running = await make_bot(agent_users=f"{LEAD},<@{LEAD}>,{IN_GROUP}")
    event = await escalate(running, anthropic_api)
    [escalation] = running.replies(event)
    assert escalation["text"].count(f"<@{LEAD}>") == 1
    assert f"<@{LEAD}> <@{IN_GROUP}>:" in escalation["text"]
