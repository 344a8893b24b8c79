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


def test_readable_but_inert() -> None:
    assert sanitize("ping <!here> and <@U1|bob>") == "ping @\u2060here and @\u2060bob"
    assert sanitize("mail me at bob@here.com") == "mail me at bob@here.com"
