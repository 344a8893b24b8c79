"""Which Slack events are customer messages, on real Events API payloads."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.intake import parse_event
from bot.reply_metadata import reply_payload
from bot.slack_text import plain_text
from tests.bot.harness import RunningBot, start_bot, stop_bot
from tests.fakes import FakeAnthropic, FakeSlack
from tests.fakes.anthropic_content import customer_text
from tests.fakes.slack_signing import event_callback, message_event
from tests.fakes.slack_state import TEAM_ID

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


def test_a_me_message_is_a_customer_writing() -> None:
    body = _body("test_message__message_body2.json")
    body["event"] |= {"subtype": "me_message", "text": "can't log in since the update"}
    msg = parse_event(body, "UBOT", [])
    assert msg is not None and msg.text == "can't log in since the update"


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


# Every Events API payload in the data, through the real app over HTTP ----------------------------------


@dataclass(frozen=True)
class Replay:
    """What the bot must do with one payload: answer ``text`` (what Claude reads) in ``thread_ts`` (the
    message's own ts when None), or nothing when ``text`` is None.

    ``bot`` is the bot's user id in that workspace: the user an app_mention payload mentions, else one of
    its own, since bolt's test payloads often name their author in ``authed_users``; ``root`` delivers the
    message that started the thread first, so that the payload is a follow-up in a thread the bot answered.
    """

    file: str
    text: str | None
    bot: str = "UBOT"
    thread_ts: str | None = None
    root: bool = False


ANSWERED = [
    Replay("test_events__valid_event_body.json", "Hi there!", bot="W111"),
    Replay("test_events_shared_channels__valid_event_body.json", "Hi there!", bot="W111"),
    Replay("test_message__message_body.json", "Hello World!"),
    Replay("test_message__message_body2.json", "We've received 103 messages from you!"),
    Replay(
        "test_message__message_body3.json", "Please fix JIRA-1234, SCM-567 and BUG-169 as soon as you can!"
    ),
    Replay("test_message_bot__user_message_event_payload.json", "Hi there! Thanks for sharing the info!"),
    Replay(
        "test_message_file_share__event_payload.json",
        "Hi there!\n[Attached, which the bot cannot open: file.png]",
        bot="U222",
    ),
    Replay(
        "test_events__message_file_share_body.json",
        "Here is your file!\n[Attached, which the bot cannot open: test.png]",
    ),
    # A DM in the assistant container: a reply in a thread the bot has not seen, still to the bot.
    *(
        Replay(f"test_events_assistant__{name}.json", "When Slack was released?", "W111", "1726133698.626339")
        for name in ("user_message_event_body", "user_message_event_body_with_assistant_thread")
    ),
    Replay(
        "test_events_assistant__user_message_event_body_with_action_token.json",
        "When Slack was released?",
        "W111",
        "1726133698.626339",
    ),
    # Follow-ups in a channel thread the bot answered, one of them also sent to the channel.
    Replay(
        "test_message_thread_broadcast__event_payload.json", "Hi there!", "W111", "1633663824.000500", True
    ),
    Replay(
        "test_events_assistant__channel_user_message_event_body.json",
        "When Slack was released?",
        "W111",
        "1726133698.626339",
        True,
    ),
]
IGNORED = [
    # The bot's own file share, an edit, a deletion, other apps' and the bot's own bot messages.
    Replay("test_events__message_file_share_body.json", None, bot="U111"),
    Replay("test_message_changed__event_payload.json", None),
    Replay("test_message_deleted__event_payload.json", None),
    Replay("test_events_assistant__message_changed_event_body.json", None, bot="W111"),
    Replay("test_events_assistant__channel_message_changed_event_body.json", None, bot="W111"),
    Replay("test_message_bot__bot_message_event_payload.json", None),
    Replay("test_message_bot__classic_bot_message_event_payload.json", None),
    Replay("test_events_ignore_self__response_url_message_event.json", None),
    Replay("test_events_ignore_self__different_app_response_url_message_event.json", None),
    # A bare mention of the bot asks nothing.
    Replay("test_events_org_apps__event_payload__4.json", None, bot="W222"),
    # People talking in threads the bot has no part in, one reply also sent to the channel.
    Replay("test_message_thread_broadcast__event_payload.json", None, bot="W111"),
    Replay("test_events_assistant__channel_user_message_event_body.json", None, bot="W111"),
]


def _delivery(path: Path) -> dict[str, Any] | None:
    """The JSON body of an Events API delivery (an event callback, a URL check), else None."""
    body = json.loads(path.read_text())
    return (
        body
        if isinstance(body, dict) and body.get("type") in {"event_callback", "url_verification"}
        else None
    )


DELIVERIES = (
    {path.name: body for path in sorted(EVENTS.glob("*.json")) if (body := _delivery(path))}
    if EVENTS.is_dir()
    else {}
)
NOT_MESSAGES = [
    Replay(name, None)
    for name, body in DELIVERIES.items()
    if (body.get("event") or {}).get("type") not in {"message", "app_mention"}
]


def test_every_message_payload_in_the_data_is_judged() -> None:
    judged = {replay.file for replay in [*ANSWERED, *IGNORED, *NOT_MESSAGES]}
    assert judged == set(DELIVERIES)


@pytest.mark.parametrize(
    "replay",
    [*ANSWERED, *IGNORED, *NOT_MESSAGES],
    ids=lambda r: f"{r.file.removesuffix('.json')}-{'answered' if r.text else 'ignored'}",
)
async def test_a_real_payload_delivered_over_http_is_answered_or_ignored(
    replay: Replay, anthropic_api: FakeAnthropic, bot_db_url: str
) -> None:
    body = DELIVERIES[replay.file]
    event = body.get("event") or {}
    channel, thread_ts = event.get("channel"), replay.thread_ts or event.get("ts")
    async with FakeSlack(bot_user_id=replay.bot, team_id=body.get("team_id") or TEAM_ID) as slack:
        running = await start_bot(slack, anthropic_api, bot_db_url)
        try:
            if replay.root:  # the customer's first message, which the bot answered
                assert channel is not None and thread_ts is not None  # a reply's event names both
                root = event.get("root") or {"text": "A question", "user": event.get("parent_user_id")}
                slack.add_message(channel, thread_ts, root["user"], root["text"])
                first = message_event(root["text"], channel, root["user"], thread_ts, team=body["team_id"])
                await running.send(event_callback(first, body["team_id"], bot_user_id=replay.bot))
                await running.idle()
            if event.get("user") and event.get("ts"):
                assert channel is not None  # a message's event names its channel
                slack.add_message(
                    channel,
                    event["ts"],
                    event["user"],
                    event.get("text") or "",
                    thread_ts=event.get("thread_ts"),
                )
            asked, calls = len(anthropic_api.requests), len(slack.calls)
            status, response = await running.send(body)
            await running.idle()
        finally:
            await stop_bot(running)
    assert status == 200
    if body["type"] == "url_verification":
        assert body["challenge"] in response
    posted = [c for c in slack.calls[calls:] if c.method.startswith("chat.")]
    if replay.text is None:
        assert len(anthropic_api.requests) == asked and posted == []
        return
    assert customer_text(anthropic_api.bodies("answer")[-1]) == replay.text
    assert channel is not None and thread_ts is not None  # an answered message's event names both
    replies = [
        m
        for m in slack.thread_replies(channel, thread_ts)
        if reply_payload(m).get("message_ts") == event["ts"]
    ]
    assert len(replies) == 1


# As Slack delivers a message the customer forwarded (Forward, or Share message): its words are not in the
# event's text, which holds only the customer's own (none here), but in an attachment.
FORWARD = {
    "ts": "1688651267.097029",
    "author_id": "U0COLLEAGUE",
    "channel_id": "C0OTHER",
    "channel_name": "ops-alerts",
    "is_msg_unfurl": True,
    "is_share": True,
    "author_name": "Dana Ops",
    "fallback": "[July 6th, 2023 3:47 PM] dana: Checkout fails with &lt;error 502&gt;",
    "text": "Checkout fails with &lt;error 502&gt; since the update",
    "mrkdwn_in": ["text"],
    "footer": "Posted in #ops-alerts",
}
LINK_PREVIEW = {
    "from_url": "https://status.example.com",
    "title": "Status",
    "text": "All systems go",
    "id": 2,
}


def test_a_forwarded_message_is_read_with_its_author_and_a_link_preview_is_not() -> None:
    body = _body("test_message__message_body2.json")
    body["event"] |= {"text": "", "attachments": [FORWARD, LINK_PREVIEW]}
    msg = parse_event(body, "UBOT", [])
    assert msg is not None
    assert (
        msg.text == "[Forwarded, a message from Dana Ops:]\nCheckout fails with <error 502> since the update"
    )
    body["event"]["text"] = "<@UBOT> can you help with this?"
    msg = parse_event(body, "UBOT", [])
    assert msg is not None and msg.text is not None
    assert msg.text.startswith("can you help with this?\n[Forwarded, a message from Dana")
    body["event"] |= {"text": "", "attachments": [LINK_PREVIEW]}
    assert parse_event(body, "UBOT", []) is None  # nothing of the customer's own, nothing forwarded


async def test_a_message_forwarded_without_words_of_the_customers_own_is_answered(
    running: RunningBot, anthropic_api: FakeAnthropic
) -> None:
    event = await running.customer_says("", attachments=[FORWARD])
    await running.idle()
    assert "Checkout fails with <error 502>" in customer_text(anthropic_api.bodies("answer")[-1])
    assert len(running.replies(event)) == 1


async def test_a_follow_up_is_answered_knowing_what_was_forwarded_and_attached_before_it(
    running: RunningBot, anthropic_api: FakeAnthropic
) -> None:
    forwarded = await running.customer_says("", attachments=[FORWARD])
    attached = await running.customer_says(
        "the app shows this error", subtype="file_share", files=[{"id": "F0SHOT", "name": "error.png"}]
    )
    await running.idle()
    await running.customer_says("still happening after I cleared the cache", thread_ts=forwarded["ts"])
    await running.customer_says("any idea?", thread_ts=attached["ts"])
    await running.idle()
    histories = [str(body["messages"]) for body in anthropic_api.bodies("answer")[-2:]]
    # The question, then the bot's answer to it, then the follow-up: the first turn is not lost.
    assert any("Checkout fails with <error 502>" in history for history in histories)
    assert any("[Attached, which the bot cannot open: error.png]" in history for history in histories)
    assert all(len(body["messages"]) == 3 for body in anthropic_api.bodies("answer")[-2:])
