"""What the decision log keeps of a customer's words: everything, a redacted copy, or nothing.

``STORE_MESSAGE_TEXT`` picks the mode. Redaction masks what identifies or charges a person: email
addresses, phone numbers and card-like numbers. It errs on the side of masking: any run of seven or
more digits (an order number too) is masked, because a phone number has no reliable shape.
"""

from __future__ import annotations

import re
from typing import Literal

TextMode = Literal["full", "redacted", "none"]

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
CARD_MASK = "[card]"
NUMBER_MASK = "[number]"

_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Digits with up to three separators between them: "+44 (20) 7946-0958", "4111 1111 1111 1111".
_DIGITS = re.compile(r"\+?\d(?:[\s().-]{0,3}\d)*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MIN_PHONE_DIGITS = 7
CARD_DIGITS = range(13, 20)


def _mask_digits(match: re.Match[str]) -> str:
    run = match.group()
    digits = sum(c.isdigit() for c in run)
    if digits < MIN_PHONE_DIGITS or _ISO_DATE.fullmatch(run):
        return run
    if digits in CARD_DIGITS:
        return CARD_MASK
    return PHONE_MASK if digits < CARD_DIGITS.start else NUMBER_MASK


def redact(text: str) -> str:
    """``text`` with email addresses, phone numbers and card-like numbers masked.

    Idempotent, and the result never holds an email address or a run of seven or more digits
    (separated by at most three spaces, dots, dashes or brackets), ISO dates excepted.
    """
    return _DIGITS.sub(_mask_digits, _EMAIL.sub(EMAIL_MASK, text))


def kept_text(text: str | None, mode: TextMode) -> str | None:
    """What the log keeps of ``text`` under ``mode``: itself, a redacted copy, or None."""
    if text is None or mode == "full":
        return text
    return redact(text) if mode == "redacted" else None
