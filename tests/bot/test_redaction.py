"""Redaction of what the decision log keeps: emails, phone numbers and card-like numbers never survive."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.redaction import CARD_MASK, EMAIL_MASK, PHONE_MASK, SEPARATORS, kept_text, redact

# Words and punctuation a customer might put around the sensitive part (no digits or "@" of their own).
filler = st.text(
    alphabet=st.characters(blacklist_categories=("Nd", "Cs"), blacklist_characters="@"), max_size=40
)
separators = st.sampled_from(["", " ", "-", ".", "  ", "\u2011", " \u2013 ", "/", "_", "\u00a0"])
# Seven or more digits, separated by at most three of the characters the redactor bridges.
LONG_DIGIT_RUN = re.compile(rf"\d(?:[{SEPARATORS}]{{0,3}}\d){{6,}}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{1,2})?")


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    digits = draw(st.text(alphabet="0123456789", min_size=13, max_size=19))
    sep = draw(separators)
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


@st.composite
def phone_numbers(draw: st.DrawFn) -> str:
    plus = draw(st.sampled_from(["", "+"]))
    groups = draw(st.lists(st.text(alphabet="0123456789", min_size=2, max_size=4), min_size=3, max_size=4))
    number = draw(separators).join(groups)
    if sum(map(len, groups)) < 7:
        number += draw(st.text(alphabet="0123456789", min_size=7, max_size=7))
    return plus + number


@given(filler, st.emails(), filler)
def test_an_email_address_never_survives(before: str, email: str, after: str) -> None:
    redacted = redact(f"{before} {email} {after}")
    assert email not in redacted
    assert EMAIL_MASK in redacted


@given(filler, card_numbers(), filler)
def test_a_card_number_never_survives(before: str, card: str, after: str) -> None:
    redacted = redact(f"{before} {card} {after}")
    assert card not in redacted
    assert re.sub(r"\D", "", card) not in re.sub(r"\D", "", redacted)


# A number written exactly like an ISO date (2024-05-01) is taken for a date and kept, by design.
@given(filler, phone_numbers().filter(lambda p: not ISO_DATE.fullmatch(p)), filler)
def test_a_phone_number_never_survives(before: str, phone: str, after: str) -> None:
    redacted = redact(f"{before} {phone} {after}")
    assert phone not in redacted


@given(st.text())
def test_redaction_is_idempotent_and_leaves_no_long_digit_run_or_email(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    assert "@" not in once or not re.search(r"\S@[\w-]+\.[\w]", once)
    for run in LONG_DIGIT_RUN.findall(once):
        assert ISO_DATE.fullmatch(run), run


@given(filler)
def test_text_without_digits_or_at_signs_is_kept_as_it_is(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail me at jane.doe+orders@example.co.uk please", f"Mail me at {EMAIL_MASK} please"),
        ("Card 4111 1111 1111 1111, exp 12/27", f"Card {CARD_MASK}, exp 12/27"),
        ("Call +44 (20) 7946-0958 after 5", f"Call {PHONE_MASK} after 5"),
        ("Slack link <mailto:a@b.io|a@b.io>", f"Slack link <mailto:{EMAIL_MASK}{EMAIL_MASK}>"),
        ("Ordered on 2024-05-01, 2 items, £35", "Ordered on 2024-05-01, 2 items, £35"),
        ("Charged on 2024-03-05 14:22 twice", "Charged on 2024-03-05 14:22 twice"),
        ("Call 555\u2011123\u20114567 or 555 \u2013 123 \u2013 4567", f"Call {PHONE_MASK} or {PHONE_MASK}"),
        ("Card 4111/1111/1111/1111 or 4111_1111_1111_1111", f"Card {CARD_MASK} or {CARD_MASK}"),
        ("Write to josé@exämple.com", f"Write to {EMAIL_MASK}"),
    ],
)
def test_examples(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_kept_text_follows_the_mode() -> None:
    text = "refund to jane@example.com"
    assert kept_text(text, "full") == text
    assert kept_text(text, "redacted") == f"refund to {EMAIL_MASK}"
    assert kept_text(text, "none") is None
    assert kept_text(None, "redacted") is None
