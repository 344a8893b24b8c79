"""Markdown becomes Slack mrkdwn; escalations carry the tags and the context agents need."""

import re
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from bot.escalation_messages import (
    agent_mentions,
    direct_message_escalation,
    escalation_controls,
    escalation_message,
)
from bot.formatting import (
    ACTION_CORRECT,
    ACTION_HAND_BACK,
    ACTION_REROUTE,
    ANSWER_SECTIONS,
    ANSWER_TEXT_PER_MESSAGE,
    SECTION_LIMIT,
    _chunks,
    agent_controls,
    answer_messages,
)
from bot.mrkdwn import markdown_to_marked, markdown_to_mrkdwn
from router.models import EscalationReason, RoutingDecision, Source
from tests.store.samples import decision


def test_markdown_to_mrkdwn() -> None:
    md = "## Steps\n**Restart** the app, then *wait*.\n- one\n- two\n[Help](https://x.io/a?b=1&c=2) ~~old~~"
    assert markdown_to_mrkdwn(md) == (
        "*Steps*\n*Restart* the app, then _wait_.\n• one\n• two\n<https://x.io/a?b=1&amp;c=2|Help> ~old~"
    )


def test_code_is_verbatim_but_escaped() -> None:
    assert markdown_to_mrkdwn("```\nif a < b: **x**\n```") == "```\nif a &lt; b: **x**\n```"


def test_escalation_tags_agents_with_guess_confidence_reasoning_and_reason() -> None:
    unsure = RoutingDecision(
        query="q",
        category="Refund Request",
        confidence=0.42,
        reasoning="Mentions <!here> money.",
        escalated=True,
        escalation_reason=EscalationReason.LOW_CONFIDENCE,
        source=Source.CLAUDE,
        routing_ms=1,
        handling_ms=0,
        total_ms=1,
        routes_version="v",
    )
    mentions = agent_mentions(["U1", "U2"], "S9")
    text, blocks = escalation_message(unsure, "A person will follow up.", mentions)
    assert text.startswith("A person will follow up.")
    assert "<!subteam^S9> <@U1> <@U2>" in text
    assert "Refund Request" in text and "0.42" in text and "low confidence" in text
    assert "<!here>" not in text  # the model's reasoning cannot ping
    assert all(len(section) <= 3000 for section in sections(blocks))


def test_an_unclassified_escalation_shows_no_stand_in_guess() -> None:
    # Given up after retries (or a file alone): the first category at confidence 0 is no guess.
    gave_up = decision(
        source=Source.FALLBACK, confidence=0.0, escalation_reason=EscalationReason.HANDLER_ERROR
    )
    text, _ = escalation_message(gave_up, "A person will follow up.", "<@U1>")
    assert "*Best guess:* none, the message was not classified" in text
    assert "Refund Request" not in text and "0.00" not in text


def test_agent_controls_offer_the_other_categories() -> None:
    block = agent_controls("C1:1.2", ["A", "B", "C"], "B")
    button, select, hand_back = block["elements"]
    assert button["value"] == "C1:1.2"
    assert [o["value"] for o in select["options"]] == ["A", "C"]
    assert hand_back["action_id"] == "hand_back"


def test_a_routes_file_of_more_than_a_hundred_categories_still_gets_a_menu_slack_takes() -> None:
    """Slack refuses a whole message whose select menu has more than 100 options (invalid_blocks): with
    CLINC150's 150 intents as categories, no answer or escalation carrying the controls could be posted.
    Up to 100 groups of 100 options each are allowed."""
    names = [f"Intent {i:03d}" for i in range(150)]
    block = agent_controls("C1:1.2", names, "Intent 007")
    _button, select, _hand_back = block["elements"]
    assert "options" not in select
    groups = select["option_groups"]
    assert len(groups) <= 100 and all(1 <= len(g["options"]) <= 100 for g in groups)
    assert all(0 < len(g["label"]["text"]) <= 75 for g in groups)
    offered = [o["value"] for g in groups for o in g["options"]]
    assert offered == [name for name in names if name != "Intent 007"]
    assert [g["label"]["text"] for g in groups] == ["Categories 1–100", "Categories 101–149"]
    # Up to 100, one plain list, as before.
    _button, select, _hand_back = agent_controls("C1:1.2", names[:101], "Intent 007")["elements"]
    assert "option_groups" not in select and len(select["options"]) == 100


def test_a_long_answer_is_cut_into_sections_each_with_whole_code_blocks() -> None:
    log = "\n".join(f"line {i}: ERROR something failed at step {i}" for i in range(120))
    answer = f"Run this and send us the output:\n```bash\n{log}\n```\nThen restart the app."
    answered = decision(category="Technical Support", escalated=False, escalation_reason=None)
    [(_, blocks)] = answer_messages(answer, answered)
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(sections) >= 2 and all(len(s) <= 3000 for s in sections)
    assert all(s.count("```") % 2 == 0 for s in sections)  # each renders as code, none shows raw fences
    joined = "".join(s.replace("```", "") for s in sections)
    assert all(f"line {i}: ERROR" in joined for i in range(120))  # nothing lost at the cuts


def sections(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


# What Slack shows as raw text when a section ends inside it: links and mentions, entities, fences, code.
WHOLE = re.compile(r"<[^<>\n]*>|&#?\w+;|```|`[^`\n]+`")


def broken_markup(section: str) -> str:
    """What is left of Slack's markup in ``section`` once its whole pieces and quote marks are taken out."""
    return re.sub(r"[^<>&`]", "", re.sub(r"(?m)^> ", "", WHOLE.sub("", section)))


def test_a_code_block_whose_first_line_is_too_long_to_follow_opens_in_the_next_section() -> None:
    # One section ending on the block's opening fence closed it at once: an empty code block, then the code.
    config = "{" + ", ".join(f'"key{i}": "value{i}"' for i in range(150)) + "}"
    answer = "Please check your settings. " * 60 + f"\n\n```json\n{config}\n```\nThen save."
    [(_, blocks)] = answer_messages(answer, decision(escalated=False, escalation_reason=None))
    texts = sections(blocks)
    assert len(texts) >= 2 and all(len(t) <= SECTION_LIMIT for t in texts)
    assert texts[0].endswith("Please check your settings.") and "`" not in texts[0]
    assert texts[1].startswith('```\n{"key0": "value0"')
    assert not any(re.search(r"```\s*```", t) for t in texts)  # no empty code block
    assert re.sub(r"\s|```", "", "".join(texts)) == re.sub(r"\s|```", "", f"{answer}".replace("json", ""))


def test_a_long_paragraph_is_cut_between_words_and_keeps_its_link_whole() -> None:
    answer = (
        "Please follow these steps carefully. " * 80
        + "Open [the reset page](https://help.example.com/reset)."
    )
    [(text, blocks)] = answer_messages(answer, decision(escalated=False, escalation_reason=None))
    first, second = sections(blocks)
    assert len(first) <= SECTION_LIMIT and len(second) <= SECTION_LIMIT
    assert f"{first} {second}" == text  # cut at a space, between two words, and nothing else changed
    assert "<https://help.example.com/reset|the reset page>" in first + second
    assert broken_markup(first) == broken_markup(second) == ""


def test_a_link_or_an_entity_at_the_cut_goes_whole_into_the_next_section() -> None:
    answer = "y" * 2938 + " see [our help centre](https://example.com/help/refunds?a=1&b=2) " + "z" * 500
    [(_, blocks)] = answer_messages(answer, decision(escalated=False, escalation_reason=None))
    assert "<https://example.com/help/refunds?a=1&amp;b=2|our help centre>" in sections(blocks)[1]
    for offset in range(2985, 2995):  # no space to cut at, and "&amp;" across every position of the cut
        [(text, blocks)] = answer_messages("x" * offset + "R&D" + "y" * 200, decision())
        assert all(broken_markup(s) == "" for s in sections(blocks)), offset
        assert "".join(sections(blocks)) == text


def test_a_code_span_at_the_cut_goes_whole_into_the_next_section() -> None:
    # A section ending inside `…` shows its backtick raw, and the next one the rest of the line as code.
    answer = "y " * 1480 + "then run `pip install --upgrade our-app now` and retry " + "z " * 100
    [(text, blocks)] = answer_messages(answer, decision(escalated=False, escalation_reason=None))
    first, second = sections(blocks)
    assert "`pip install --upgrade our-app now`" in second and "`" not in first
    assert f"{first} {second}" == text


def test_a_long_quoted_direct_message_stays_quoted_in_every_section() -> None:
    words = "I was charged twice for order 1234 & nobody answers <sigh>. " * 80
    _, blocks = direct_message_escalation(decision(), "<@U0AGENT>", "U0CUST", words)
    texts = sections(blocks)
    assert len(texts) >= 2 and all(len(t) <= SECTION_LIMIT for t in texts)
    assert texts[0].split("\n")[-1].startswith("> I was charged twice")
    assert all(line.startswith("> ") for t in texts[1:] for line in t.split("\n"))  # still quoted
    assert all(broken_markup(t) == "" for t in texts)  # "&amp;" and "&lt;sigh&gt;" kept whole
    assert " ".join(t.removeprefix("> ") for t in texts).count("charged twice") == 80


def test_a_direct_message_too_long_for_one_slack_message_is_quoted_in_part_saying_so() -> None:
    # MAX_MESSAGE_CHARS may be 40,000; Slack refuses blocks holding more than about 12,000 characters.
    words = "My export & import of 4,000 rows <fails> every time. " * 760
    _, blocks = direct_message_escalation(decision(), "<@U0AGENT>", "U0CUST", words[:40000])
    texts = sections(blocks)
    assert sum(len(t) for t in texts) < 10000 and all(len(t) <= SECTION_LIMIT for t in texts)
    assert "> My export &amp; import" in texts[0]
    assert texts[-1].endswith("_(their message goes on for 34,001 more characters: ask them for the rest)_")


# Pieces of mrkdwn as the bot writes it: words, links, mentions, entities, code, line breaks, quotes, fences.
_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzé0123456789.,!?*_~", min_size=1, max_size=12)
_piece = st.one_of(
    _word,
    _word,
    st.text(alphabet="abcdefghij", min_size=13, max_size=60),  # a long word, a token, a bare URL
    st.builds(
        lambda path, label: f"<https://example.com/{path}|{label}>",
        st.text(alphabet="abcdef/?=", max_size=10),
        st.lists(_word, min_size=1, max_size=2).map(" ".join),
    ),
    st.sampled_from(["<@U0AGENT>", "<!subteam^S9>", "&amp;", "&lt;", "&gt;"]),
    st.lists(_word, min_size=1, max_size=6).map(lambda words: f" `{' '.join(words)}` "),  # a code span
    st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n", "\n> ", "\n```\n"]),
)


@given(
    st.lists(_piece, min_size=1, max_size=120).map("".join), st.sampled_from([80, 200, 1000, SECTION_LIMIT])
)
# Found by this test: a code span longer than a section (cut inside it, a stray backtick each side), and an
# empty quoted line before a code block's fence (its "> " trimmed to a stray ">").
@example("0" * 73 + " `000000 00000000000 00000000000 000000000000 000000000000 000000000000` ", 80)
@example("000000\n> \n```\n", 80)
def test_sections_are_within_the_limit_lose_nothing_and_never_split_markup(text: str, limit: int) -> None:
    text = text * (3 * limit // len(text) + 1)  # long enough for two or more cuts
    chunks = _chunks(text, limit)
    assert all(len(c) <= limit for c in chunks)

    def visible(s: str) -> str:  # what cuts may add or drop: whitespace, code reopened, quote marks
        return re.sub(r"\s|`|>", "", s)

    assert visible("".join(chunks)) == visible(text)
    if text.count("```") % 2 == 0:
        assert all(c.count("```") % 2 == 0 for c in chunks)
    assert all(broken_markup(c) == "" for c in chunks)


def test_an_answer_too_long_for_one_message_goes_as_several_within_slacks_limits() -> None:
    """Slack refuses, on every attempt, a message with more than 50 blocks, text over 40,000 characters or
    blocks holding more than about 12,000 characters of text all together (msg_blocks_too_long): a long
    answer goes as several messages, each within those limits, the route line under the last, and is cut
    only past what a score of messages holds (a routes file may give a handler up to 64,000 tokens)."""
    answer = "\n\n".join(f"Step {i}: " + "do the thing carefully " * 40 for i in range(160))
    messages = answer_messages(answer, decision(escalated=False, escalation_reason=None))
    controls = agent_controls("C1:1.0", ["General Question", "Refund Request"], "General Question")
    assert len(messages) > 1 and messages[0][0].startswith("Step 0:")
    for text, blocks in messages:
        texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
        assert len([*blocks, controls]) + 1 <= 50  # a late reply's apology goes first
        assert len(text) <= 40_000 and all(len(t) <= 3000 for t in texts)
        assert sum(map(len, texts)) <= ANSWER_TEXT_PER_MESSAGE
    assert [blocks[-1]["type"] for _, blocks in messages] == ["section"] * (len(messages) - 1) + ["context"]
    assert sum(len(sections(blocks)) for _, blocks in messages) == ANSWER_SECTIONS
    assert messages[-1][1][-2]["text"]["text"] == "_…the answer was too long for Slack, and is cut here._"
    # Under the cut, not a step is lost or repeated across the messages.
    steps = [int(n) for text, _ in messages for n in re.findall(r"Step (\d+):", text)]
    assert steps == list(range(len(steps)))


def test_an_escalation_with_no_guess_offers_no_route_to_confirm() -> None:
    """A give-up before any classification: its category is a stand-in, which "Route is correct" would
    record as the right route (and count in the accuracy); re-routing it can still answer its words."""
    unguessed = decision(
        source=Source.FALLBACK, confidence=0.0, escalation_reason=EscalationReason.HANDLER_ERROR
    )
    controls = escalation_controls("C1:1.0", ["General Question", "Refund Request"], unguessed)
    assert [e["action_id"] for e in controls["elements"]] == [ACTION_REROUTE, ACTION_HAND_BACK]
    guessed = decision(escalation_reason=EscalationReason.LOW_CONFIDENCE)
    controls = escalation_controls("C1:1.0", ["General Question", "Refund Request"], guessed)
    assert [e["action_id"] for e in controls["elements"]] == [
        ACTION_CORRECT,
        ACTION_REROUTE,
        ACTION_HAND_BACK,
    ]


def test_backticks_named_in_a_long_answer_open_no_code_block_at_a_cut() -> None:
    paragraphs = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(12))
    markdown = f"Wrap code in triple backticks (```).\n\n{paragraphs}\n\n```\nls\n```\nEnd **here**."
    sections = _chunks(markdown_to_marked(markdown))
    assert len(sections) > 1
    assert [section.count("```") for section in sections] == [0] * (len(sections) - 1) + [2]
    assert sections[-1].endswith("```\nls\n```\nEnd *here*.")
