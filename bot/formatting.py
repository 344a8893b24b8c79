"""Pure builders of Slack text and Block Kit: answers, the agent controls under them, and any text of
ours cut into sections that Slack shows whole (what an escalation says is :mod:`bot.escalation_messages`).

Claude's Markdown becomes Slack's ``mrkdwn`` in :mod:`bot.mrkdwn`; everything of ours written here is
escaped there too (``& < >``), so that no text can produce a live mention.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.mrkdwn import carry_emphasis, markdown_to_marked, unmark
from bot.mrkdwn_inline import CLOSES, OPENS, escape
from router.config import DEFAULT_AGENT_DESCRIPTION
from router.models import RoutingDecision, Source
from router.router import truncate

SECTION_LIMIT = 3000
# Slack's limits on one message: its fallback text's length, and 50 blocks.
MESSAGE_TEXT_LIMIT = 40_000
# The characters of an answer's text one message carries, in sections: Slack also refuses a message whose
# blocks hold too much text all together (msg_blocks_too_long), a limit it does not document: its
# maintainers say 12,000 characters "with a buffer for block containers" (bolt-js #2509), and refusals are
# reported from 11,341 (bolt-js #2867). A longer answer goes as several messages, each leaving room for
# its route line, the agent controls and a late reply's apology.
ANSWER_TEXT_PER_MESSAGE = 8_000
# An answer longer than this many sections (a handler given tens of thousands of tokens) is cut, and says
# so, rather than fill the thread with a score of messages.
ANSWER_SECTIONS = 45
CUT_ANSWER = "_…the answer was too long for Slack, and is cut here._"
FENCE = "```"
QUOTE = "> "
# What a section may not end inside: Slack would show each half as raw text (and the text after a code
# span's half as code). A backtick fenced by zero-width spaces is a character, not code (bot.mrkdwn_inline).
# A code span (a zero-width space beside a backtick is the sanitiser's, not a span's edge).
_CODE_SPAN = r"(?<!\u200b)`[^`\n]+`(?!\u200b)"
_UNCUTTABLE = re.compile(rf"<[^<>]*>|&#?\w+;|```|{_CODE_SPAN}|^> ", re.MULTILINE)
_CODE_SPANS = re.compile(_CODE_SPAN)
_SPACE = re.compile(r"[ \n]")
_OPENERS = frozenset(OPENS.values())
_EMPHASIS = re.compile(f"[{''.join(OPENS.values())}{''.join(CLOSES.values())}]")
# Told privately to the agent whose reply makes the bot step aside in a thread it had (after an escalation
# its help, ESCALATION_HELP in bot.escalation_messages, has said so already): the bot is out of their way,
# and how to undo it.
STEPPED_ASIDE = (
    "The bot stays out of this thread now that you have replied: it will not answer the customer here again "
    "(an answer already appearing is finished; one not yet begun is not posted). To let it answer their "
    "next message, press *Hand back to the bot* under any of its replies."
)
ACTION_CORRECT = "route_correct"
ACTION_REROUTE = "route_change"
ACTION_HAND_BACK = "hand_back"
# The agent controls' block id, before the key of the customer message they act on.
CONTROLS_BLOCK = "agent_controls:"
# Slack: a select menu lists at most 100 options, or at most 100 groups of 100.
MENU_OPTIONS = 100


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
        if (span := _code_span_at(text, cut)) is not None:
            if cut == span.end() - 1:
                cut += 1  # its closing backtick stays with it
            elif cut > span.start() + 1:
                # A code span longer than a section: closed here and opened again there, as it was.
                chunks.append(unmark(f"{text[:cut]}`"))
                text = f"`{text[cut:]}"
                continue
            else:
                cut -= 1  # its opening backtick goes with it
        chunk, text = text[:cut], text[cut + 1 :] if text[cut] == " " else text[cut:].lstrip("\n")
        if chunk.count(FENCE) % 2 and chunk.endswith(FENCE) and chunk[: -len(FENCE)].strip():
            # Cut just past the fence that opens a block (its first line too long to follow): the block
            # begins in the next section, instead of closing here at once as an empty one.
            # (An empty quoted line left last goes too: its "> " would be a stray ">" once trimmed.)
            chunk = re.sub(r"(?m)\n?^>\Z", "", chunk[: -len(FENCE)].rstrip())
            text = f"{FENCE}\n{text}"
        elif chunk.count(FENCE) % 2:
            chunk, text = f"{chunk}\n{FENCE}", f"{FENCE}\n{text}"
        else:
            closing, reopening = carry_emphasis(chunk)
            chunk += closing
            if text.strip():
                text = (QUOTE if mid_quote else "") + reopening + text
        chunks.append(unmark(chunk))
    return [*chunks, unmark(text)] if text else chunks


def _code_span_at(text: str, cut: int) -> re.Match[str] | None:
    """The code span ``text[:cut]`` ends inside, if any (one too long for a section: :func:`_cut` cuts
    between spans when it can)."""
    for span in _CODE_SPANS.finditer(text):
        if span.start() >= cut:
            return None
        if cut < span.end():
            return span
    return None


def _cut(text: str, room: int) -> int:
    """Where the next section ends (``text[:cut]``, at most ``room`` characters): the last line break in
    the second half of the window, else the last space there, else the last of either if the word after
    it then fits whole in the next section, else anywhere; never inside a link or mention (``<…>``), an
    entity (``&amp;``), a code span or fence or a quote's ``> ``, which Slack would show as raw text."""
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


def section_blocks(mrkdwn: str) -> list[dict[str, Any]]:
    """``mrkdwn`` as section blocks, cut where :func:`_chunks` cuts it."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in _chunks(mrkdwn)]


def route_context(decision: RoutingDecision, agents: str = DEFAULT_AGENT_DESCRIPTION) -> dict[str, Any]:
    """A small grey line saying how the message was routed: by whom, and how sure, for a classifier.
    ``agents``: how the routes file describes agents to customers (``escalation.agent_description``)."""
    if decision.source is Source.AGENT:
        # Under the answer that replaces an earlier one: customer and agents see why there are two.
        text = f"Re-routed to *{escape(decision.category)}* by {escape(agents)}"
        return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
    how = "offline answer" if decision.offline else f"{decision.source}"
    text = f"Routed to *{escape(decision.category)}* · confidence {decision.confidence:.2f} · {how}"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


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
        # Names fit an option whole (router.config.CATEGORY_NAME_MAX_CHARS: Slack's 75 characters).
        {"text": {"type": "plain_text", "text": name}, "value": name}
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
                **_menu(options),
            }
        )
    elements.append(_button(ACTION_HAND_BACK, "Hand back to the bot", key))
    return {"type": "actions", "block_id": CONTROLS_BLOCK + key, "elements": elements}


def _menu(options: list[dict[str, Any]]) -> dict[str, Any]:
    """A select menu's options: one list up to Slack's 100, else groups of 100 (Slack refuses the whole
    message, answer or escalation alike, for a longer list; a routes file may hold CLINC150's intents)."""
    if len(options) <= MENU_OPTIONS:
        return {"options": options}
    groups = []
    for first in range(0, min(len(options), MENU_OPTIONS * MENU_OPTIONS), MENU_OPTIONS):
        group = options[first : first + MENU_OPTIONS]
        label = f"Categories {first + 1}–{first + len(group)}"
        groups.append({"label": {"type": "plain_text", "text": label}, "options": group})
    return {"option_groups": groups}


def _button(action_id: str, label: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }


def answer_messages(
    answer_markdown: str, decision: RoutingDecision, agents: str = DEFAULT_AGENT_DESCRIPTION
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Fallback text and blocks of each message of a bot answer, in order (the caller adds the agent
    controls to the last): one message, or for a long answer (a handler given many tokens) as many as
    Slack needs, cut between sections (see :data:`ANSWER_TEXT_PER_MESSAGE`); Slack refuses the whole
    message otherwise, on every attempt. The cuts depend on the answer alone, so that every attempt to post
    it makes the same messages (a retry posts those an earlier attempt did not)."""
    marked = markdown_to_marked(answer_markdown)
    sections = section_blocks(marked)
    if len(sections) > ANSWER_SECTIONS:
        sections = [*sections[: ANSWER_SECTIONS - 1], *section_blocks(CUT_ANSWER)]
    groups: list[list[dict[str, Any]]] = [[]]
    for section in sections:
        held = sum(len(s["text"]["text"]) for s in groups[-1])
        if groups[-1] and held + len(section["text"]["text"]) > ANSWER_TEXT_PER_MESSAGE:
            groups.append([])
        groups[-1].append(section)
    # A thank-you's "You're welcome" was routed nowhere: no route line under it.
    groups[-1] += [] if decision.acknowledgement else [route_context(decision, agents)]
    if len(groups) == 1:
        return [(truncate(unmark(marked), MESSAGE_TEXT_LIMIT), groups[0])]
    # What notifications, screen readers and a restart (reading the thread back) read of each message.
    return [
        ("\n".join(b["text"]["text"] for b in blocks if b["type"] == "section"), blocks) for blocks in groups
    ]


def note(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text of ours (escaped) as fallback text and section blocks."""
    escaped = escape(text)
    return escaped, section_blocks(escaped)
