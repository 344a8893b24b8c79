"""The typed values that go in and out of the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from router.models import EscalationReason, Source


class InboundMessage(BaseModel):
    """A customer message as claimed: its Slack key (team, channel, ts) and what is needed to answer it.

    ``thread_ts`` is the root of the thread the answer goes to; it defaults to ``ts`` (a message that
    starts its own thread). ``text`` is whatever the caller chose to keep (possibly redacted or None).
    ``attempts`` is read back from the store: how many times :meth:`Store.fail` was recorded.
    """

    model_config = ConfigDict(frozen=True)

    team_id: str = Field(min_length=1)
    channel_id: str = Field(min_length=1)
    ts: str = Field(min_length=1)
    user_id: str
    text: str | None = None
    # Never left empty: _thread_defaults_to_ts fills it in before validation. The default only says, to a
    # type checker too, that a caller may leave it out.
    thread_ts: str = ""
    channel_type: str | None = None
    # The author's workspace when it is not ours (a customer in a Slack Connect channel); None: ours.
    user_team_id: str | None = None
    attempts: int = Field(default=0, ge=0)
    # A streamed reply started before a crash (read back by take_stale); None otherwise.
    reply_ts: str | None = None
    # Its event came again after a failed delivery (Slack's retry), so people may have replied in its
    # thread before the bot took it (see ``ThreadOwnership._answered_by_a_person``). Not stored.
    redelivered: bool = False
    # A reply that waited in the store for its thread's first message, which Slack delivered after it
    # (see ``Inbox.take_released``): the thread may have been handed to a person meanwhile. Not stored.
    after_its_root: bool = False
    # A top-level post in a channel whose author the intake could not tell from an agent: Slack had never
    # listed the agents' user group (see ``ThreadOwnership._an_agents_own_post``). Not stored.
    author_unknown: bool = False

    @model_validator(mode="before")
    @classmethod
    def _thread_defaults_to_ts(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("thread_ts") and data.get("ts"):
            return {**data, "thread_ts": data["ts"]}
        return data

    @property
    def key(self) -> tuple[str, str, str]:
        """The message's Slack key, (team, channel, ts): the claim's unique key."""
        return (self.team_id, self.channel_id, self.ts)


class ThreadState(BaseModel):
    """What the store knows about a thread the bot posted in."""

    model_config = ConfigDict(frozen=True)

    # The customer the bot answers in this thread (None for threads only an agent has touched).
    customer_id: str | None = None
    category: str | None = None
    escalated: bool = False
    # The bot has posted in the thread (an answer or an escalation notice).
    bot_answered: bool = False
    taken_over_by: str | None = None
    # A DM's escalation notice in the agents' channel (see ``ThreadStates.note_notice``).
    notice_channel_id: str | None = None
    notice_ts: str | None = None
    # The Slack ts of the last hand-back to the bot (see ``ThreadStates.hand_back``).
    handed_back_ts: str | None = None

    @property
    def bot_silent(self) -> bool:
        """Whether the bot must stay out of the thread: escalated, or an agent took it over."""
        return self.escalated or self.taken_over_by is not None

    def written_before_hand_back(self, ts: str) -> bool:
        """Whether the message ``ts`` of this thread was written before its last hand-back to the bot: an
        agent's is no taking it over again."""
        return self.handed_back_ts is not None and float(ts) <= float(self.handed_back_ts)


class AwaitingEscalation(BaseModel):
    """A thread where a customer waits for an agent: an escalation no agent has picked up yet (see
    ``AwaitingAgents.awaiting_agents``), or, ``customer_waiting_since`` set, one an agent holds where the
    customer wrote again with no agent's reply since (``AwaitingAgents.customers_waiting``)."""

    model_config = ConfigDict(frozen=True)

    team_id: str
    channel_id: str
    thread_ts: str
    escalated_at: datetime | None = None
    customer_waiting_since: datetime | None = None
    # Who holds a thread the customer wrote again in: the first agent who took it over, if one did.
    taken_over_by: str | None = None
    customer_id: str | None = None
    # Set for a DM: its notice in the agents' channel, where they are reminded (they cannot see the DM).
    notice_channel_id: str | None = None
    notice_ts: str | None = None
    # Its reminder was given back after a failure that may hide a post (a 5xx, a timeout): look first.
    reminder_maybe_posted: bool = False

    @model_validator(mode="after")
    def _has_a_start(self) -> AwaitingEscalation:
        if self.customer_waiting_since is None and self.escalated_at is None:
            raise ValueError("a wait with no start: neither escalated_at nor customer_waiting_since")
        return self

    @property
    def wrote_again(self) -> bool:
        """Whether this is a customer who wrote again in a thread an agent holds, not an escalation."""
        return self.customer_waiting_since is not None

    @property
    def waiting_since(self) -> datetime:
        """When the wait began: the customer's message to the agent holding the thread, or the
        escalation."""
        since = self.customer_waiting_since or self.escalated_at
        assert since is not None  # _has_a_start
        return since

    @property
    def reminder_thread(self) -> tuple[str, str]:
        """Where the agents are reminded of it: the thread itself, or a DM's notice."""
        if self.notice_channel_id and self.notice_ts:
            return self.notice_channel_id, self.notice_ts
        return self.channel_id, self.thread_ts


class NoticedThread(BaseModel):
    """The escalated DM a notice in the agents' channel announced (see ``ThreadStates.noticed_thread``)."""

    model_config = ConfigDict(frozen=True)

    channel_id: str
    thread_ts: str
    state: ThreadState


# Decisions recorded for a customer's message that no classifier made: a file alone (source ``none``),
# and the escalation of a message given up on after every retry (``Conversations.give_up``: source
# ``fallback`` with reason ``handler_error``, which a real fallback never has). /routing-stats counts them
# apart, and agents' verdicts on them are not counted as the classifier's accuracy.
NO_TEXT = Source.NONE.value
GAVE_UP = (Source.FALLBACK.value, EscalationReason.HANDLER_ERROR.value)


def not_classified(source: str, escalation_reason: str | None) -> str | None:
    """Why a customer's decision is not a classification ("no_text" or "gave_up"), or None if it is one."""
    if source == NO_TEXT:
        return "no_text"
    return "gave_up" if (source, escalation_reason or "") == GAVE_UP else None
