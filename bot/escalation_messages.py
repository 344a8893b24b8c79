"""Pure builders of what an escalation says: the customer's note and the agents' part under it, a DM's
notice in the agents' channel, the reminder of one nobody answered, and the note of a DM re-routed.

Built from :mod:`bot.formatting`'s sections and agent controls; everything of ours written here is
escaped (``& < >``) so that no text can produce a live mention, but for the agents' tags
(:func:`agent_mentions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bot.formatting import QUOTE, agent_controls, section_blocks
from bot.mrkdwn import markdown_to_mrkdwn
from bot.mrkdwn_inline import escape
from bot.sanitize import sanitize
from router.models import EscalationReason, RoutingDecision, Source, Turn
from router.router import truncate

# How much of a re-route's answer to a DM its note under the notice quotes for the agents.
QUOTED_ANSWER_CHARS = 1500
UNCLASSIFIED = frozenset({Source.FALLBACK, Source.NONE})
REASON_TEXT = {
    EscalationReason.LOW_CONFIDENCE: "low confidence",
    EscalationReason.ASKED_FOR_HUMAN: "the customer asked for a person",
    EscalationReason.CATEGORY_RULE: "this category always goes to a person",
    EscalationReason.CLASSIFIER_ERROR: "classification failed",
    EscalationReason.HANDLER_ERROR: "answering failed",
    EscalationReason.NO_TEXT: "a file with no text, which the bot cannot read",
    EscalationReason.WITH_A_PERSON: "the customer wrote again in a conversation already with a person",
    EscalationReason.OFFLINE_FOLLOW_UP: "the customer replied to the bot's offline answer",
    EscalationReason.AGENT_FIRST: "an agent replied before the bot's answer was ready",
}
# Quoted for agents when a DM held only a file: they cannot open the bot's DM to see it.
NO_WORDS_IN_DM = "_(no words, only a file, which agents cannot see in the bot's DM: ask them for it)_"
# How much of a DM's earlier conversation an agents' notice quotes, and who said it.
DM_CONTEXT_TURNS = 6
DM_CONTEXT_CHARS = 300
# How much of an escalated DM's words its notice quotes: MAX_MESSAGE_CHARS may let 40,000 through, and
# Slack refuses a message whose blocks hold more than about 12,000 characters, escaped.
QUOTED_DM_CHARS = 6000
DM_SPEAKERS = {"customer": "Customer", "assistant": "Bot", "agent": "Agent"}
# Under every escalation, for the agents: what the bot does now, and what each control under it does.
ESCALATION_HELP = (
    "The bot stays out of this thread now, even when the customer writes again. Reply here yourself; or "
    "choose a category in *Re-route to…* to have the bot answer as it; or press *Hand back to the bot* "
    "to let it answer the customer's next message."
)
DIRECT_ESCALATION_HELP = (
    "Whoever writes to them, reply in this thread to say so: the others then know it is taken, and what "
    "they add under the escalated message comes here to you. Or choose a category in *Re-route to…* to "
    "have the bot answer them in the DM as it, or press *Hand back to the bot* to let it answer their next "
    "reply there."
)
# The block where an escalation's part for the agents (tags, guess, reasoning) begins.
FOR_AGENTS_BLOCK = "escalation_for_agents"
# The lines of an escalation's part for the agents that begin its guess and its reasoning.
GUESS_LINE = "*Best guess:* "
REASONING_LINE = "*Reasoning:* "
# A DM's notice: the line naming its customer, which ends so when their words are quoted under it.
WROTE_IN_DM = " wrote to the bot in a direct message (agents cannot reply there; contact them directly"
WORDS_FOLLOW = f"{WROTE_IN_DM}):"
GOES_ON = "_(their message goes on for "
# In place of the words of a DM's notice once the customer deleted their message, as Slack shows it.
DELETED_WORDS = f"{QUOTE}_The customer deleted this message._"


def escalation_controls(key: str, categories: Sequence[str], decision: RoutingDecision) -> dict[str, Any]:
    """The agent controls under an escalation: every category on offer, the guess too (an agent who
    agrees with it has the bot answer so); no route to confirm when the category is a stand-in, not a
    guess (:func:`has_guess`: it would count as a right route), and none to answer as when the message
    has no words (a file alone: no handler can answer it)."""
    words = decision.escalation_reason is not EscalationReason.NO_TEXT
    return agent_controls(key, categories if words else [], None, confirm=has_guess(decision))


def has_guess(decision: RoutingDecision) -> bool:
    """Whether the decision's category is the classifier's guess, not a stand-in: a file alone, a failed
    classification, a message given up on before it was classified."""
    return not (decision.source in UNCLASSIFIED and not decision.confidence)


def agent_mentions(users: Sequence[str], usergroup: str | None) -> str:
    """The agents as real Slack mentions, the group's first (``Directory.mentions`` leaves its members
    out of ``users``); the only mentions the bot ever writes."""
    tags = [f"<!subteam^{usergroup}>"] if usergroup else []
    tags += [f"<@{user}>" for user in users]
    return " ".join(tags) or "Support team"


def minutes_word(count: float) -> str:
    """ "minute" for one, "minutes" for any other count: "after 1 minutes" reads as a slip."""
    return "minute" if count == 1 else "minutes"


def waited_words(waited: timedelta) -> str:
    """How long someone has waited, as the agents (reminders) and managers (/routing-stats) read it: "31
    minutes", from two hours on "3 hours"; under a minute "1 minute": "0 minutes" reads as no wait."""
    minutes = max(1, round(waited.total_seconds() / 60))
    return f"{minutes} {minutes_word(minutes)}" if minutes < 120 else f"{minutes / 60:.0f} hours"


def reminder_text(
    mentions: str,
    waited: timedelta,
    *,
    direct_message_from: str | None = None,
    wrote_again: bool = False,
    held_by: str | None = None,
) -> str:
    """An escalation no agent has answered, brought up again in its thread, where the customer reads it
    too; or, for a DM (``direct_message_from`` the customer), under its notice in the agents' channel.
    ``wrote_again``: not an escalation but a customer who wrote again in a thread an agent holds (the
    first who took it over, ``held_by``, if known), with no agent's reply since.

    No agent has replied *since*, not "yet": an escalation after a hand-back is reminded of in a thread
    where the agent who handed it back wrote before (a DM's, under its first notice), in plain view."""
    span = waited_words(waited)
    if wrote_again:
        return _written_again(mentions, span, direct_message_from, held_by)
    if direct_message_from:
        return (
            f"{mentions}: <@{direct_message_from}> has been waiting for a person for {span}; no agent has "
            "replied here since. Whoever writes to them, say so in this thread."
        )
    return f"{mentions}: still waiting for a person after {span}; no agent has replied since."


def _written_again(mentions: str, span: str, customer: str | None, held_by: str | None) -> str:
    """The reminder of a customer who wrote again to the agent holding their thread (see
    :func:`reminder_text`): the agents are tagged, and the one who has the thread named, so that another
    can step in while they are away."""
    if customer:
        held = f" (<@{held_by}> took them up)" if held_by else ""
        return (
            f"{mentions}: <@{customer}> has written again and waited {span}; no agent has replied here "
            f"since{held}. Whoever writes to them, say so in this thread."
        )
    held = f" (<@{held_by}> took this thread over)" if held_by else ""
    return f"{mentions}: the customer has written again and waited {span}; no agent has replied since{held}."


def _agent_summary(decision: RoutingDecision, mentions: str, *, reasoning: bool = True) -> str:
    reason = (
        REASON_TEXT.get(decision.escalation_reason, "needs a person") if decision.escalation_reason else ""
    )
    if not has_guess(decision):
        guess = f"{GUESS_LINE}none, the message was not classified"
    else:
        guess = (
            f"{GUESS_LINE}{escape(decision.category)} · *confidence* {decision.confidence:.2f} · "
            f"*classified by* {decision.source}"
        )
    summary = f"{mentions}: this conversation needs a person ({reason}).\n{guess}"
    return f"{summary}\n{REASONING_LINE}{escape(sanitize(decision.reasoning))}" if reasoning else summary


def escalation_message(
    decision: RoutingDecision, customer_text: str, mentions: str, *, controls: bool = True
) -> tuple[str, list[dict[str, Any]]]:
    """The customer-facing note and, for agents, the tags with the guess, confidence and reasoning, and
    how to use the agent controls under it (not without ``controls``: a DM, which only its customer sees).

    The customer reads it too: a failure is named by its reason ("classification failed"), never by the
    error text, which stays in the decision log and the bot's log.
    """
    agent_text = _agent_summary(decision, mentions)
    customer = escape(customer_text)
    first, *rest = section_blocks(agent_text)
    # Marked, so that reading the thread back gives Claude what the customer was told, not the tags.
    agents = [first | {"block_id": FOR_AGENTS_BLOCK}, *rest]
    blocks = [*section_blocks(customer), *agents, *([_help(ESCALATION_HELP)] if controls else [])]
    return f"{customer}\n{agent_text}", blocks


def customer_part(message: dict[str, Any]) -> str | None:
    """The mrkdwn of what an escalation of ours (a message read back from Slack) says to the customer,
    without the agents' part; None for any other message."""
    blocks = message.get("blocks") or []
    ids = [block.get("block_id") for block in blocks]
    if FOR_AGENTS_BLOCK not in ids:
        return None
    said = blocks[: ids.index(FOR_AGENTS_BLOCK)]
    return "\n".join(str(b["text"]["text"]) for b in said if b.get("type") == "section")


def _help(text: str) -> dict[str, Any]:
    """A small grey line telling agents how to go on from an escalation."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _quoted(text: str) -> str:
    return _quote_lines(escape(sanitize(text)))


def _quote_lines(mrkdwn: str) -> str:
    return "\n".join(f"{QUOTE}{line}" for line in mrkdwn.splitlines())


def rerouted_note(agent: str, category: str, answer_markdown: str | None) -> str:
    """The note under a DM's notice when an agent re-routed the DM from there: who, to what, and (given
    ``answer_markdown``) what the customer was told, which the agents cannot read in the DM."""
    text = (
        f"<@{agent}> re-routed this conversation to *{escape(category)}*; the bot answered the customer "
        "in their DM"
    )
    if not answer_markdown:
        return f"{text}."
    answer = markdown_to_mrkdwn(truncate(answer_markdown, QUOTED_ANSWER_CHARS))
    return f"{text}:\n{_quote_lines(answer)}"


def direct_message_escalation(
    decision: RoutingDecision,
    mentions: str,
    customer_id: str,
    text: str,
    earlier: Sequence[Turn] = (),
    *,
    quote: bool = True,
) -> tuple[str, list[dict[str, Any]]]:
    """The agents' notice of an escalated direct message: they cannot see the DM, so it names the
    customer, to be contacted directly, and quotes their words with the conversation's ``earlier``
    turns (the last :data:`DM_CONTEXT_TURNS`, each cut to :data:`DM_CONTEXT_CHARS`).

    Not with ``quote`` False (a channel customers read too, for want of an agents' own): the words, and
    the classifier's reasoning about them, stay out of it.
    """
    where = f"<@{customer_id}>{WROTE_IN_DM}"
    if not quote:
        notice = (
            f"{_agent_summary(decision, mentions, reasoning=False)}\n{where}). Their words are not shown "
            "in this channel, which customers can read: set ESCALATION_CHANNEL to a channel of your "
            "agents' own to see them here."
        )
        return notice, [*section_blocks(notice), _help(DIRECT_ESCALATION_HELP)]
    notice = f"{_agent_summary(decision, mentions)}\n{where}):\n"
    notice += _quoted(truncate(text, QUOTED_DM_CHARS)) or f"> {NO_WORDS_IN_DM}"
    if len(text) > QUOTED_DM_CHARS:
        more = len(text) - QUOTED_DM_CHARS + 1  # truncate keeps one character fewer, for its "…"
        notice += f"\n{GOES_ON}{more:,} more characters: ask them for the rest)_"
    if earlier:
        turns = [
            f"*{DM_SPEAKERS.get(t.role, 'Someone')}:* {truncate(' '.join(t.text.split()), DM_CONTEXT_CHARS)}"
            for t in earlier[-DM_CONTEXT_TURNS:]
        ]
        notice += "\nEarlier in the conversation:\n" + "\n".join(
            f"> {line}" for line in (escape(sanitize(t)) for t in turns)
        )
    return notice, [*section_blocks(notice), _help(DIRECT_ESCALATION_HELP)]
