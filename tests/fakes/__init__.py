"""Local fakes of the Slack Web API and the Anthropic Messages API, and Slack request signing helpers.

Everything listens on 127.0.0.1 and an ephemeral port; the real ``anthropic`` and ``slack_sdk`` clients
talk to them over HTTP.
"""

from tests.fakes.anthropic_api import FakeAnthropic, RecordedRequest
from tests.fakes.anthropic_content import default_classify
from tests.fakes.anthropic_faults import FAULT_KINDS
from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.fakes.slack_signing import (
    app_mention_event,
    block_actions_form,
    block_actions_payload,
    event_callback,
    message_event,
    post_signed,
    sign,
    slash_command_form,
)
from tests.fakes.slack_state import APP_ID, BOT_ID, BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, TEAM_ID

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "FAULT_KINDS",
    "SIGNING_SECRET",
    "TEAM_ID",
    "FakeAnthropic",
    "FakeSlack",
    "RecordedRequest",
    "SlackCall",
    "app_mention_event",
    "block_actions_form",
    "block_actions_payload",
    "default_classify",
    "event_callback",
    "message_event",
    "post_signed",
    "sign",
    "slash_command_form",
]
