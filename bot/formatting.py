"""Pure builders of Slack text and Block Kit: answers, escalations, agent controls.

Claude's Markdown becomes Slack's ``mrkdwn`` in :mod:`bot.mrkdwn`; everything of ours written here is
escaped there too (``& < >``), so that no text can produce a live mention.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bot.mrkdwn import CLOSES, OPENS, carry_emphasis, escape, markdown_to_marked, markdown_to_mrkdwn, unmark
from bot.sanitize import sanitize
from router.models import EscalationReason, RoutingDecision, Source, Turn
from router.router import truncate

SECTION_LIMIT = 3000
# Slack's limits on one message: its fallback text's length, and 50 blocks, of which an answer's text
# takes at most this many (its route line, the agent controls and a late reply's apology go beside it).
MESSAGE_TEXT_LIMIT = 40_000
ANSWER_SECTIONS = 45
CUT_ANSWER = "_…the answer was too long for one Slack message, and is cut here._"
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
DM_SPEAKERS = {"customer": "Customer", "assistant": "Bot", "agent": "Agent"}
FENCE = "```"
QUOTE = "> "
# What a section may not end inside: Slack would show each half as raw text.
_UNCUTTABLE = re.compile(r"<[^<>]*>|&#?\w+;|```|^> ", re.MULTILINE)
_SPACE = re.compile(r"[ \n]")
_OPENERS = frozenset(OPENS.values())
_EMPHASIS = re.compile(f"[{''.join(OPENS.values())}{''.join(CLOSES.values())}]")
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
# Told privately to the agent whose reply makes the bot step aside in a thread it had (after an escalation
# its help above has said so already): the bot is out of their way, and how to undo it.
STEPPED_ASIDE = (
    "The bot stays out of this thread now that you have replied: it will not answer the customer here again "
    "(an answer already appearing is finished; one not yet begun is not posted). To let it answer their "
    "next message, press *Hand back to the bot* under any of its replies."
)
# The block where an escalation's part for the agents (tags, guess, reasoning) begins.
FOR_AGENTS_BLOCK = "escalation_for_agents"
ACTION_CORRECT = "route_correct"
ACTION_REROUTE = "route_change"
ACTION_HAND_BACK = "hand_back"


def _chunks(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """``text`` (mrkdwn, its emphasis still tokens: see :mod:`bot.mrkdwn`) cut into sections of at most
    ``limit`` characters, at a line's end where one is near, else between words (see :func:`_cut`). Slack
    renders each section on its own, so what a cut falls inside is closed at the end of one section and
    opened again in the next: a code block, bold, italic or struck-through words, and a quoted line."""
    chunks = []
    room = limit - 2 * (len(FENCE) + 1)  # for closing and reopening a code block at the cut
    while len(text) > limit:
        cut = _cut(text, room)
        line_start = text.rfind("\n", 0, cut) + 1
        mid_quote = text[cut] != "\n" and cut > line_start and text.startswith(QUOTE, line_start)
        chunk, text = text[:cut], text[cut + 1 :] if text[cut] == " " else text[cut:].lstrip("\n")
        if chunk.count(FENCE) % 2:
            chunk, text = f"{chunk}\n{FENCE}", f"{FENCE}\n{text}"
        else:
            closing, reopening = carry_emphasis(chunk)
            chunk += closing
            if text.strip():
                text = (QUOTE if mid_quote else "") + reopening + text
        chunks.append(unmark(chunk))
    return [*chunks, unmark(text)] if text else chunks


def _cut(text: str, room: int) -> int:
    """Where the next section ends (``text[:cut]``, at most ``room`` characters): the last line break in
    the second half of the window, else the last space there, else the last of either if the word after
    it then fits whole in the next section, else anywhere; never inside a link or mention (``<…>``), an
    entity (``&amp;``), a code fence or a quote's ``> ``, which Slack would show as raw text."""
    free = [True] * (room + 1)
    for atom in _UNCUTTABLE.finditer(text):
        if atom.start() >= room:
            break
        for inside in range(atom.start() + 1, min(atom.end(), room + 1)):
            free[inside] = False
    for mark in _EMPHASIS.finditer(text, 0, room + 1):  # a mark stays with the word it opens or closes
        if (at := mark.end() if mark[0] in _OPENERS else mark.start()) <= room:
            free[at] = False

    def last(separators: str, lowest: int) -> int | None:
        return next(
            (c for c in range(room - 1, lowest, -1) if free[c] and text[c] in separators),
            None,
        )

    # Past what is reopened (a fence, or a quote's mark and emphasis), so that every section takes more
    # than the next one gets back.
    progress = max(len(FENCE) + 1, len(QUOTE) + len(OPENS))
    half = max(room // 2, progress)
    cut = last("\n", half) or last(" ", half)
    if cut is not None:
        return cut
    cut = last("\n ", progress)
    space = _SPACE.search(text, room)
    word_end = space.start() if space else len(text)
    if cut is not None and word_end - cut <= room:
        return cut
    return next((c for c in range(room, progress, -1) if free[c]), room)


def _sections(mrkdwn: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in _chunks(mrkdwn)]


def route_context(decision: RoutingDecision) -> dict[str, Any]:
    """A small grey line saying how the message was routed: by whom, and how sure, for a classifier."""
    if decision.source is Source.AGENT:
        # Under the answer that replaces an earlier one: customer and agents see why there are two.
        text = f"Re-routed to *{escape(decision.category)}* by a support agent"
        return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
    how = "offline answer" if decision.offline else f"{decision.source}"
    text = f"Routed to *{escape(decision.category)}* · confidence {decision.confidence:.2f} · {how}"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


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


def agent_controls(
    key: str, categories: Sequence[str], current: str | None, *, confirm: bool = True
) -> dict[str, Any]:
    """Buttons for agents: confirm the route (unless not ``confirm``), re-route to another category (any
    but ``current``, the answer's own; an escalation has none), hand the thread back.

    ``key`` names the customer message ("channel:ts"), whose decision the feedback is stored against.
    Hand back is on every reply, not only on escalations: an agent may take over any thread the bot
    answered by writing in it, and then needs a way to give it back.
    """
    options = [
        {"text": {"type": "plain_text", "text": name[:75]}, "value": name[:150]}
        for name in categories
        if name != current
    ]
    elements = [_button(ACTION_CORRECT, "Route is correct", key)] if confirm else []
    if options:
        elements.append(
            {
                "type": "static_select",
                "action_id": ACTION_REROUTE,
                "placeholder": {"type": "plain_text", "text": "Re-route to…"},
                "options": options,
            }
        )
    elements.append(_button(ACTION_HAND_BACK, "Hand back to the bot", key))
    return {"type": "actions", "block_id": f"agent_controls:{key}", "elements": elements}


def _button(action_id: str, label: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }


def answer_message(answer_markdown: str, decision: RoutingDecision) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and blocks of a bot answer (the caller adds the agent controls); an answer longer
    than one Slack message holds (a handler given many tokens) is cut, and says so: Slack refuses the
    whole message otherwise, on every attempt."""
    marked = markdown_to_marked(answer_markdown)
    sections = _sections(marked)
    if len(sections) > ANSWER_SECTIONS:
        sections = [*sections[: ANSWER_SECTIONS - 1], *_sections(CUT_ANSWER)]
    # A thank-you's "You're welcome" was routed nowhere: no route line under it.
    route = [] if decision.acknowledgement else [route_context(decision)]
    return truncate(unmark(marked), MESSAGE_TEXT_LIMIT), [*sections, *route]


def agent_mentions(users: Sequence[str], usergroup: str | None) -> str:
    """The configured agents as real Slack mentions; the only mentions the bot ever writes."""
    tags = [f"<!subteam^{usergroup}>"] if usergroup else []
    tags += [f"<@{user}>" for user in users]
    return " ".join(tags) or "Support team"


def minutes_word(count: float) -> str:
    """ "minute" for one, "minutes" for any other count: "after 1 minutes" reads as a slip."""
    return "minute" if count == 1 else "minutes"


def reminder_text(mentions: str, waited: timedelta, *, direct_message_from: str | None = None) -> str:
    """An escalation no agent has answered, brought up again in its thread, where the customer reads it
    too; or, for a DM (``direct_message_from`` the customer), under its notice in the agents' channel."""
    minutes = max(1, round(waited.total_seconds() / 60))
    span = f"{minutes} {minutes_word(minutes)}" if minutes < 120 else f"{minutes / 60:.0f} hours"
    if direct_message_from:
        return (
            f"{mentions}: <@{direct_message_from}> has been waiting for a person for {span}; nobody has "
            "replied under this notice yet. Whoever writes to them, say so here."
        )
    return f"{mentions}: still waiting for a person after {span}; no agent has replied in this thread yet."


def _agent_summary(decision: RoutingDecision, mentions: str, *, reasoning: bool = True) -> str:
    reason = (
        REASON_TEXT.get(decision.escalation_reason, "needs a person") if decision.escalation_reason else ""
    )
    if not has_guess(decision):
        guess = "*Best guess:* none, the message was not classified"
    else:
        guess = (
            f"*Best guess:* {escape(decision.category)} · *confidence* {decision.confidence:.2f} · "
            f"*classified by* {decision.source}"
        )
    summary = f"{mentions}: this conversation needs a person ({reason}).\n{guess}"
    return f"{summary}\n*Reasoning:* {escape(sanitize(decision.reasoning))}" if reasoning else summary


def escalation_message(
    decision: RoutingDecision, customer_text: str, mentions: str
) -> tuple[str, list[dict[str, Any]]]:
    """The customer-facing note and, for agents, the tags with the guess, confidence and reasoning.

    The customer reads it too: a failure is named by its reason ("classification failed"), never by the
    error text, which stays in the decision log and the bot's log.
    """
    agent_text = _agent_summary(decision, mentions)
    customer = escape(customer_text)
    first, *rest = _sections(agent_text)
    # Marked, so that reading the thread back gives Claude what the customer was told, not the tags.
    agents = [first | {"block_id": FOR_AGENTS_BLOCK}, *rest]
    blocks = [*_sections(customer), *agents, _help(ESCALATION_HELP)]
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


def note(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text of ours (escaped) as fallback text and section blocks."""
    escaped = escape(text)
    return escaped, _sections(escaped)


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
    where = f"<@{customer_id}> wrote to the bot in a direct message (agents cannot reply there; "
    if not quote:
        notice = (
            f"{_agent_summary(decision, mentions, reasoning=False)}\n{where}contact them directly). Their "
            "words are not shown in this channel, which customers can read: set ESCALATION_CHANNEL to "
            "a channel of your agents' own to see them here."
        )
        return notice, [*_sections(notice), _help(DIRECT_ESCALATION_HELP)]
    notice = f"{_agent_summary(decision, mentions)}\n{where}contact them directly):\n"
    notice += _quoted(text) or f"> {NO_WORDS_IN_DM}"
    if earlier:
        turns = [
            f"*{DM_SPEAKERS.get(t.role, 'Someone')}:* {truncate(' '.join(t.text.split()), DM_CONTEXT_CHARS)}"
            for t in earlier[-DM_CONTEXT_TURNS:]
        ]
        notice += "\nEarlier in the conversation:\n" + "\n".join(
            f"> {line}" for line in (escape(sanitize(t)) for t in turns)
        )
    return notice, [*_sections(notice), _help(DIRECT_ESCALATION_HELP)]
