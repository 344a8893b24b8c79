"""Which events withdraw or revise a customer's message (``bot.withdrawals``), read from Slack's shapes."""

from __future__ import annotations

from typing import Any

from bot.withdrawals import deleted_message, edited_message
from tests.fakes import event_callback

TEAM = "T0001"
BOT = "U0BOT"


def body(event: dict[str, Any]) -> dict[str, Any]:
    return event_callback({"type": "message", "channel": "C1", "ts": "9.000001"} | event, team_id=TEAM)


def said(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "user": "U1", "text": text, "ts": "1.000001"} | extra


def test_a_deletion_names_the_message_deleted_and_so_does_the_tombstone_of_one_with_replies() -> None:
    deleted = {"subtype": "message_deleted", "deleted_ts": "1.000001", "previous_message": said("hi")}
    assert deleted_message(body(deleted)) == (TEAM, "C1", "1.000001")
    tombstone = {"subtype": "message_changed", "message": said("", subtype="tombstone")}
    assert deleted_message(body(tombstone)) == (TEAM, "C1", "1.000001")
    assert deleted_message(body({"subtype": "message_changed", "message": said("new")})) is None
    assert deleted_message(body({"user": "U1", "text": "hi"})) is None


def test_an_edit_gives_the_new_words_unless_they_are_the_same_or_not_a_persons() -> None:
    edit = {"subtype": "message_changed", "message": said("order #1243"), "previous_message": said("#1234")}
    assert edited_message(body(edit), BOT) == ((TEAM, "C1", "1.000001"), "order #1243")
    unfurled = edit | {"previous_message": said("order #1243")}
    assert edited_message(body(unfurled), BOT) is None
    ours = edit | {"message": said("x") | {"user": BOT}}
    assert edited_message(body(ours), BOT) is None
    tombstone = edit | {"message": said("", subtype="tombstone")}
    assert edited_message(body(tombstone), BOT) is None
