"""Property-based: whatever the model or a customer writes, the bot's messages ping only the agents; a
long answer cut into sections reads as it would whole; and /routing-stats reads back exactly the arguments
it was given, in any order, or says how to fix them."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.escalation_messages import agent_mentions, escalation_message
from bot.formatting import SECTION_LIMIT, _chunks, answer_messages
from bot.mrkdwn import markdown_to_marked, markdown_to_mrkdwn, unmark
from bot.sanitize import StreamSanitizer, sanitize
from bot.stats import StatsUsageError, parse_arguments
from bot.stats.period import RELATIVE, USAGE
from router.models import EscalationReason, RoutingDecision, Source

LIVE = re.compile(
    r"<!(?:channel|here|everyone)(?:\|[^>]*)?>|<!subteam\^[^>]*>|<@[A-Z0-9]+(?:\|[^>]*)?>"
    r"|(?<![\w@\u2060])@(?:channel|here|everyone)\b",
    re.IGNORECASE,
)
HOSTILE = [
    "<!here>",
    "<!channel>",
    "<!everyone>",
    "<!Channel|@channel>",
    "<!subteam^S0EVIL|@evil>",
    "<@U0EVIL>",
    "<@W0EVIL|boss>",
    "@here",
    "@Channel",
    "@everyone",
    "<",
    ">",
    "@",
    "!",
    "|",
    "^",
    "```",
    "`",
    "*",
    "_",
    "~",
    "\u2060",
    "\u200b",
    "&lt;",
    "&gt;",
    "&amp;",
    "\n",
    " ",
    "<#C0OTHER|x>",
]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=6)), max_size=30).map("".join)
AGENTS = agent_mentions(["U0AGENT"], "S0AGENTS")


def _decision(answer: str, reasoning: str, escalated: bool) -> RoutingDecision:
    return RoutingDecision(
        query="q",
        category="Refund Request",
        confidence=1.0,
        reasoning=reasoning or "r",
        escalated=escalated,
        escalation_reason=EscalationReason.LOW_CONFIDENCE if escalated else None,
        source=Source.CLAUDE,
        answer=answer,
        routing_ms=1.0,
        handling_ms=1.0,
        total_ms=2.0,
        routes_version="v",
    )


def _outgoing(text: str, blocks: list) -> str:
    return text + json.dumps(blocks, ensure_ascii=False)


@given(hostile_text, hostile_text)
def test_an_answer_message_pings_no_one(answer: str, reasoning: str) -> None:
    for text, blocks in answer_messages(answer, _decision(answer, reasoning, False)):
        assert not LIVE.search(_outgoing(text, blocks))


@given(hostile_text, hostile_text)
def test_an_escalation_pings_the_agents_and_no_one_else(reasoning: str, error: str) -> None:
    decision = _decision("", reasoning, True).model_copy(update={"error": error or None})
    text, blocks = escalation_message(decision, "A person will follow up here.", AGENTS)
    outgoing = _outgoing(text, blocks)
    assert "<@U0AGENT>" in text and "<!subteam^S0AGENTS>" in text
    assert not LIVE.search(outgoing.replace("<@U0AGENT>", "").replace("<!subteam^S0AGENTS>", ""))


@given(st.text())
def test_any_unicode_is_sanitised(text: str) -> None:
    once = sanitize(text)
    assert not LIVE.search(once)
    assert sanitize(once) == once  # nothing left to defuse


@given(st.text(alphabet=st.characters(blacklist_characters="<@")))
def test_text_that_cannot_ping_is_left_as_it_is(text: str) -> None:
    assert sanitize(text) == text


@given(hostile_text, st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=40))
def test_a_stream_never_holds_back_more_than_one_unfinished_token(text: str, sizes: list[int]) -> None:
    stream, shown, start = StreamSanitizer(), [], 0
    for size in sizes * (len(text) // max(1, sum(sizes)) + 1):
        shown.append(stream.feed(text[start : start + size]))
        start += size
        # A stalled stream would keep the customer waiting: at most one unfinished "<…" or "@word".
        assert len(stream._pending) <= 201
    shown.append(stream.flush())
    assert not LIVE.search("".join(shown))


# Mentions whose label is longer than anything a stream could wait for (review: "<!here|" + 250 characters
# went out before its ">" arrived, and Slack joined the pieces back into a live @here).
long_label_mentions = st.tuples(
    st.sampled_from(["<!here|", "<!Channel|", "<!everyone|", "<!subteam^S0EVIL|", "<@U0EVIL|", "<@W0EVIL|"]),
    st.integers(min_value=190, max_value=600),
    hostile_text,
).map(lambda t: t[0] + (("label " + t[2].replace(">", "")) * (t[1] // 6 + 1))[: t[1]] + ">")
long_hostile_text = st.lists(st.one_of(long_label_mentions, hostile_text), min_size=1, max_size=6).map(
    "".join
)


@given(long_hostile_text, st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=12))
def test_a_stream_never_reassembles_a_long_mention(text: str, sizes: list[int]) -> None:
    stream, shown, start = StreamSanitizer(), [], 0
    while start < len(text):
        for size in sizes:
            shown.append(stream.feed(text[start : start + size]))
            start += size
            assert len(stream._pending) <= 201
    out = "".join(shown) + stream.flush()
    # No "<!" or "<@" that a later ">" closes (but a defused "<@\u2060…"), in the stream as in the whole.
    # Nor HTML's "<!--", "<![CDATA[", "<!DOCTYPE": no Slack command, and left as written.
    closable = re.compile(r"<(?:!(?!\u2060|--|\[CDATA\[|doctype\s)|@(?!\u2060))[^>]*>", re.I)
    assert not LIVE.search(out) and not closable.search(out)
    assert not closable.search(sanitize(text))


# Emphasis across the cuts between sections ---------------------------------------------------------------

SLACK_STYLE = {"*": "bold", "_": "italic", "~": "strike"}
MARKDOWN_MARK = {"bold": "**", "italic": "_", "strike": "~~"}
plain_words = st.lists(st.from_regex(r"[a-z0-9]{1,9}", fullmatch=True), min_size=1, max_size=30).map(" ".join)


@st.composite
def emphasised(draw: st.DrawFn) -> str:
    """Words in bold, italic or strike, some of them in one of the other two inside."""
    mark, *others = draw(st.permutations(list(MARKDOWN_MARK.values())))
    inner = st.tuples(st.sampled_from(others), plain_words).map(lambda t: f"{t[0]}{t[1]}{t[0]}")
    words = draw(st.lists(st.one_of(plain_words, inner), min_size=1, max_size=4))
    return f"{mark}{' '.join(words)}{mark}"


paragraph = st.tuples(
    st.sampled_from(["", "", "> ", "- ", "1. ", "## "]),
    st.lists(st.one_of(plain_words, emphasised()), min_size=1, max_size=8).map(" ".join),
).map("".join)


def styled_characters(mrkdwn: str) -> list[tuple[str, frozenset[str]]]:
    """Each word character of ``mrkdwn`` with the styles Slack shows it in, for text whose only ``*``, ``_``
    and ``~`` are emphasis marks; fails on a mark Slack would show as a character instead: one left open at
    the end of its line, an opener before a space or a closer after one."""
    shown: list[tuple[str, frozenset[str]]] = []
    for line in mrkdwn.split("\n"):
        on: set[str] = set()
        for i, char in enumerate(line):
            style = SLACK_STYLE.get(char)
            if style in on:
                assert i and not line[i - 1].isspace(), f"closer after a space: {line!r}"
                on.remove(style)
            elif style:
                assert line[i + 1 : i + 2].strip(), f"opener before a space or the end: {line!r}"
                on.add(style)
            elif char.isalnum():
                shown.append((char, frozenset(on)))
        assert not on, f"a mark left open at the end of a line: {line!r}"
    return shown


@given(st.lists(paragraph, min_size=1, max_size=6).map("\n".join), st.sampled_from([60, 120, 400]))
def test_sections_show_the_same_bold_italic_and_struck_words_as_the_whole_answer(
    markdown: str, limit: int
) -> None:
    # Long lines, which are cut between words.
    markdown = " ".join([markdown] * (2 * limit // len(markdown_to_mrkdwn(markdown)) + 1))
    whole = markdown_to_mrkdwn(markdown)
    sections = _chunks(markdown_to_marked(markdown), limit)
    assert len(sections) > 1 and all(len(s) <= limit for s in sections)
    assert [c for s in sections for c in styled_characters(s)] == styled_characters(whole)


@given(st.text(alphabet="abc *_~`<>&\n", max_size=400), st.sampled_from([60, 120, 400]))
def test_any_text_cut_into_sections_loses_no_word_and_keeps_the_limit(markdown: str, limit: int) -> None:
    marked = markdown_to_marked(markdown * (limit // max(1, len(markdown)) + 2))
    sections = _chunks(marked, limit)
    assert all(len(s) <= limit for s in sections)
    letters = re.compile(r"[^abc]")
    assert letters.sub("", "".join(sections)) == letters.sub("", unmark(marked))


def test_an_answer_too_long_for_one_section_keeps_its_bold_words_bold_in_both() -> None:
    answer = "Please **keep the receipt " + "and the box " * 400 + "until the refund arrives**, then reply."
    [(text, blocks)] = answer_messages(answer, _decision(answer, "r", False))
    first, second = (b["text"]["text"] for b in blocks if b["type"] == "section")
    assert len(first) <= SECTION_LIMIT and len(second) <= SECTION_LIMIT
    assert first.startswith("Please *keep the receipt") and first.endswith("box*")  # closed at the cut
    assert second.startswith("*and the box") and second.endswith("arrives*, then reply.")  # and reopened
    assert text == markdown_to_mrkdwn(answer)  # the notification text is the whole answer, marked once


# /routing-stats -----------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
periods = st.one_of(
    st.sampled_from([*RELATIVE, "all"]),
    st.tuples(st.dates(date(2000, 1, 1), date(2100, 1, 1)), st.integers(0, 400)).map(
        lambda d: f"{d[0].isoformat()}..{(d[0] + timedelta(days=d[1])).isoformat()}"
    ),
)
channel_ids = st.from_regex(r"C[A-Z0-9]{8,10}", fullmatch=True)
names = st.from_regex(r"[a-z0-9_-]{1,20}", fullmatch=True)


@given(
    periods,
    st.none() | channel_ids,
    st.none() | names,
    st.booleans(),
    st.booleans(),
    st.sampled_from([" ", "  ", "\t", " \n "]),
)
def test_stats_arguments_read_back_in_any_order_and_case(
    period: str, channel: str | None, name: str | None, channel_first: bool, upper: bool, gap: str
) -> None:
    words = [period.upper() if upper else period]
    if channel is not None:
        words.insert(0 if channel_first else 1, f"<#{channel}|{name}>" if name else f"<#{channel}>")
    request = parse_arguments(gap.join(words), NOW)
    assert request.period == period.lower() and request.channel_id == channel
    assert request.channel_name == (name if channel else None)
    assert request.end <= NOW + timedelta(days=40_000) and (
        request.start is None or request.start < request.end
    )


@given(st.text(min_size=1, max_size=2000))
def test_a_stats_usage_error_says_how_to_fix_it_without_echoing_everything(text: str) -> None:
    try:
        parse_arguments(text, NOW)
    except StatsUsageError as e:
        message = str(e)
        assert message.endswith(USAGE)
        assert len(message) <= len(USAGE) + 200  # a pasted novel is not echoed back
