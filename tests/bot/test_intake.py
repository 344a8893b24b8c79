"""Which Slack events are customer messages, on real Events API payloads."""

import json
from pathlib import Path

import pytest

from bot.intake import parse_event
from bot.slack_text import plain_text

EVENTS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "slack" / "events"
pytestmark = pytest.mark.skipif(not EVENTS.is_dir(), reason="../shared/data/slack/events is not present")


def _body(name: str) -> dict:
    data = json.loads((EVENTS / name).read_text())
    return data if "event" in data else {"type": "event_callback", "team_id": "T1", "event": data}


def test_app_mention_is_taken_without_the_mention() -> None:
    msg = parse_event(_body("test_events__valid_event_body.json"), "W111", [])
    assert msg is not None
    assert (msg.channel_id, msg.user_id, msg.text) == ("C111", "W222", "Hi there!")
    assert msg.thread_ts == msg.ts == "1595926230.009600"


def test_channel_message_and_file_share_with_text() -> None:
    assert parse_event(_body("test_message__message_body2.json"), "UBOT", []) is not None
    msg = parse_event(_body("test_message_file_share__event_payload.json"), "UBOT", [])
    # The file is named with the words: Claude and the agents know a screenshot came with them.
    assert msg is not None and msg.text == "Hi there!\n[Attached, which the bot cannot open: file.png]"


def test_a_file_without_text_is_kept_and_a_bare_mention_is_not() -> None:
    body = _body("test_message_file_share__event_payload.json")
    body["event"]["text"] = "<@UBOT>"
    msg = parse_event(body, "UBOT", [])
    assert msg is not None and msg.text == ""
    del body["event"]["files"]
    assert parse_event(body, "UBOT", []) is None


def test_a_slack_connect_customer_is_keyed_by_our_workspace_and_remembered_by_theirs() -> None:
    body = _body("test_message__message_body2.json")
    # As Slack delivers a message from another organisation's member in a shared channel: the
    # envelope names the workspace it came from, the authorizations name ours.
    body |= {"team_id": "T_THEIRS", "is_ext_shared_channel": True}
    body["authorizations"] = [{"team_id": "T_OURS", "user_id": "UBOT", "is_bot": True}]
    body["event"] |= {"team": "T_THEIRS", "user_team": "T_THEIRS", "source_team": "T_THEIRS"}
    msg = parse_event(body, "UBOT", [])
    assert msg is not None and (msg.team_id, msg.user_team_id) == ("T_OURS", "T_THEIRS")
    body["event"] |= {"team": "T_OURS", "user_team": "T_OURS", "source_team": "T_OURS"}
    body["team_id"] = "T_OURS"
    msg = parse_event(body, "UBOT", [])
    assert msg is not None and (msg.team_id, msg.user_team_id) == ("T_OURS", None)


def test_thread_broadcast_answers_in_its_thread() -> None:
    msg = parse_event(_body("test_message_thread_broadcast__event_payload.json"), "UBOT", [])
    assert msg is not None and msg.thread_ts == "1633663824.000500"


@pytest.mark.parametrize(
    "name",
    [
        "test_message_bot__bot_message_event_payload.json",
        "test_message_bot__classic_bot_message_event_payload.json",
        "test_message_changed__event_payload.json",
        "test_message_deleted__event_payload.json",
        "test_events__join_event_body.json",
    ],
)
def test_bots_edits_deletions_and_joins_are_ignored(name: str) -> None:
    assert parse_event(_body(name), "UBOT", []) is None


def test_own_messages_channels_outside_the_list_and_empty_text() -> None:
    body = _body("test_message__message_body2.json")
    assert parse_event(body, "W111", []) is None  # the bot's own user
    assert parse_event(body, "UBOT", ["C999"]) is None
    assert parse_event(body, "UBOT", ["C111"]) is not None
    body["event"]["text"] = "<@UBOT>   "
    assert parse_event(body, "UBOT", []) is None


def test_direct_messages_are_taken_whatever_the_channel_list() -> None:
    body = _body("test_message__message_body2.json")
    body["event"].update(channel="D123", channel_type="im")
    assert parse_event(body, "UBOT", ["C111"]) is not None


def test_the_bots_mention_is_left_out_and_others_read_as_names() -> None:
    assert plain_text("<@UBOT> ask <@U2> please", "UBOT") == "ask @U2 please"
    assert plain_text("hey <@UBOT|support> where is <#C1|billing>?", "UBOT") == "hey where is #billing?"


def test_the_customers_text_is_read_as_they_wrote_it() -> None:
    """Claude, the local model and the agents' quote get what the customer typed, once: not Slack's
    escaping (quoted back, it showed as &amp;amp;), not its link markup, and with the lines kept."""
    slack = (
        "<@UBOT> A&amp;B failed:\n```\nError: x &lt; y at line 3\n    at main()\n```\n"
        "see <https://shop.example/o/1|my order>, <https://shop.example/faq>, <mailto:a@b.co|a@b.co>\n"
        "<!here> <!subteam^S1|@support> <!date^1392734382^{date}|Feb 18th>"
    )
    assert plain_text(slack, "UBOT") == (
        "A&B failed:\n```\nError: x < y at line 3\n    at main()\n```\n"
        "see my order (https://shop.example/o/1), https://shop.example/faq, a@b.co\n"
        "@here @support Feb 18th"
    )


def test_a_message_is_parsed_with_its_lines_and_without_slacks_escaping() -> None:
    body = _body("test_message__message_body2.json")
    body["event"]["text"] = "<@UBOT> the app says &lt;error&gt;\n\nsince 1.2 &amp; 1.3"
    msg = parse_event(body, "UBOT", [])
    assert msg is not None and msg.text == "the app says <error>\n\nsince 1.2 & 1.3"
