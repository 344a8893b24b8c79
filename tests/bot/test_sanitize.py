"""Nothing the model writes can notify a channel, a group or a person (property-based)."""

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.mrkdwn import markdown_to_mrkdwn
from bot.sanitize import StreamSanitizer, sanitize

# What Slack turns into a notification: a complete <!…> or <@…> token, or a bare @here-style word.
LIVE = re.compile(
    r"<!(channel|here|everyone)(\|[^>]*)?>|<!subteam\^[^>]*>|<@[A-Z0-9]+(\|[^>]*)?>"
    r"|(?<![\w@\u2060])@(channel|here|everyone)\b",
    re.I,
)
DANGER = [
    "<!here>",
    "<!channel>",
    "<!everyone>",
    "<!here|@here>",
    "<!subteam^S0123|@support>",
    "<@U0123>",
    "@here",
    "@channel",
    "@everyone",
    "<@W99|boss>",
    "<!date^1|x>",
    "<",
    ">",
    "@",
    "!",
    "|",
]
pieces = st.lists(st.one_of(st.sampled_from(DANGER), st.text(max_size=8)), max_size=20).map("".join)


@given(pieces)
def test_sanitized_text_has_no_live_mention(text: str) -> None:
    assert not LIVE.search(sanitize(text))


@given(pieces)
def test_mrkdwn_has_no_live_mention(text: str) -> None:
    assert not LIVE.search(markdown_to_mrkdwn(text))


@given(pieces, st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_streamed_chunks_are_as_safe_as_the_whole(text: str, cuts: list[int]) -> None:
    points = sorted({min(c, len(text)) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    s = StreamSanitizer()
    out = "".join(s.feed(chunk) for chunk in chunks) + s.flush()
    assert not LIVE.search(out)
    # The same visible text as sanitising the whole (a held-back tail may be defused once more).
    assert out.replace("\u2060", "") == sanitize(text).replace("\u2060", "")


addresses = st.lists(
    st.sampled_from(["support", "@", "channel", "here", "everyone", ".io", " ", "_", "x"]), max_size=12
).map("".join)


@given(addresses, st.lists(st.integers(min_value=0, max_value=60), max_size=6))
def test_a_stream_defuses_exactly_what_the_whole_text_would(text: str, cuts: list[int]) -> None:
    points = sorted({min(c, len(text)) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    assert _stream(chunks) == sanitize(text)


def test_an_address_cut_by_the_stream_before_its_domain_keeps_no_word_joiner() -> None:
    # A word joiner in "support@\u2060channel.io" is invisible, and breaks the address the customer copies.
    assert _stream(["Write to support@channel", ".io today"]) == "Write to support@channel.io today"
    assert _stream(["Write to support@", "everyone.org"]) == "Write to support@everyone.org"
    assert _stream(["<@U1>", "@channel"]) == sanitize("<@U1>@channel")
    assert _stream(["Hi ", "@here"]) == "Hi @\u2060here"


HTML = (
    "Add it before </head>:\n\n```html\n<!DOCTYPE html>\n<!-- Acme widget -->\n"
    '<script src="https://acme.io/w.js"></script>\n<![CDATA[ a < b ]]>\n<!doctype html>\n```'
)


def test_html_comments_and_declarations_are_left_as_written_streamed_or_whole() -> None:
    # A word joiner after their "<" is invisible, and the snippet the customer copies no longer works.
    assert sanitize(HTML) == HTML
    assert _stream([HTML[:60], HTML[60:70], HTML[70:]]) == HTML


def test_a_mention_inside_an_html_comment_is_still_defused() -> None:
    for text in ["<!-- <!here> -->", "<!--<@U1>-->", "<!DOCTYPE|@here>"]:
        assert not LIVE.search(sanitize(text)) and not CLOSABLE.search(sanitize(text))
        assert _stream([text[:5], text[5:]]) == sanitize(text)
    assert sanitize("<!-- <!here> -->") == "<!-- @\u2060here -->"


def test_readable_but_inert() -> None:
    assert sanitize("ping <!here> and <@U1|bob>") == "ping @\u2060here and @\u2060bob"
    assert sanitize("mail me at bob@here.com") == "mail me at bob@here.com"


# A mention's label can be longer than any window a stream looks back over (review: "<!here|" + 250 chars,
# then ">" in the next chunk went out whole and Slack put it back together).
DANGEROUS_OPENINGS = [
    "<!here|",
    "<!channel|",
    "<!everyone|",
    "<!subteam^S0123|",
    "<@U12345|",
    "<@W99|",
    "<!x ",
]
long_mentions = st.tuples(
    st.sampled_from(DANGEROUS_OPENINGS),
    st.integers(min_value=150, max_value=450),
    st.sampled_from(["x", "y ", "@here ", "<", "|", "<!here|", "<@U1 "]),
).map(lambda t: t[0] + (t[2] * t[1])[: t[1]] + ">")
long_pieces = st.lists(
    st.one_of(long_mentions, st.sampled_from(DANGER), st.text(alphabet="ab <>@!|^\n", max_size=8)),
    min_size=1,
    max_size=8,
).map("".join)
# A "<!" or "<@" with a ">" after it: what Slack could read as a mention. Only an unclosed one may be left,
# or a defused one ("<" + "@\u2060here" when the model wrote "<<!here>…>": a word joiner is no id), or
# HTML's "<!--", "<![CDATA[" and "<!DOCTYPE", which Slack has no command for.
CLOSABLE = re.compile(r"<(?:!(?!\u2060|--|\[CDATA\[|doctype\s)|@(?!\u2060))[^>]*>", re.I)


def _stream(chunks: list[str]) -> str:
    s = StreamSanitizer()
    return "".join(s.feed(chunk) for chunk in chunks) + s.flush()


def test_a_long_label_mention_split_across_chunks_is_defused() -> None:
    chunks = ["Hello <!here|" + "x" * 250, ">", " and <@U12345|" + "y" * 250, "> bye"]
    out = _stream(chunks)
    assert "<!here" not in out and "<@U12345" not in out and not LIVE.search(out)
    assert out.replace("\u2060", "").startswith("Hello <!here|xxx")  # still readable, but inert


def test_a_mention_inside_a_label_is_not_put_back_together() -> None:
    # Removing the outer mention's ">" must not leave the inner "<@"/"<!" to pair with a later ">".
    assert not CLOSABLE.search(sanitize("<@U1|<@U2|x>y>"))
    assert not CLOSABLE.search(sanitize("<!subteam^S1|<!here x>y>"))
    assert not CLOSABLE.search(sanitize("<!x <!subteam^S1 x>"))
    assert not CLOSABLE.search(_stream(["<!subteam^S1|<!channel|a>", "<@U0|b", "c>"]))


def test_a_stream_shows_text_at_once_and_holds_back_only_what_may_become_a_mention() -> None:
    s = StreamSanitizer()
    assert s.feed("First words, ") == "First words, "
    assert s.feed("and 1 < 2 ") == "and 1 < 2 "  # a "<" that cannot start a mention waits for nothing
    assert s.feed("hi <!he") == "hi "
    assert s.feed("re> all <@U1") == "@\u2060here all "
    assert s.feed("|bob> ok") == "@\u2060bob ok"
    held = s.feed("<!channel|" + "z" * 500)
    assert held.startswith("<\u2060!channel|") and len(s._pending) <= 200
    assert "<!channel" not in held + s.feed(">") + s.flush()


@given(long_pieces, st.lists(st.integers(min_value=1, max_value=120), min_size=1, max_size=10))
def test_any_chunking_of_long_label_mentions_is_as_safe_as_the_whole(text: str, sizes: list[int]) -> None:
    chunks, start = [], 0
    while start < len(text):
        for size in sizes:
            chunks.append(text[start : start + size])
            start += size
    s = StreamSanitizer()
    shown = []
    for chunk in chunks:
        shown.append(s.feed(chunk))
        assert len(s._pending) <= 200  # the answer keeps streaming
    out = "".join(shown) + s.flush()
    assert not LIVE.search(out) and not CLOSABLE.search(out)
    assert not CLOSABLE.search(sanitize(text))
