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

# Any letters in the domain: "josé@exämple.com" is an address too.
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# What may stand between a number's digits: spaces (non-breaking too), brackets, dots, slashes,
# underscores and every kind of dash ("555‑123‑4567" pasted from a web page, "4111/1111/…").
SEPARATORS = r"\s().\-\u2010-\u2015\u2212/_"
# Digits with up to three separators between them: "+44 (20) 7946-0958", "4111 1111 1111 1111".
_DIGITS = re.compile(rf"\+?\d(?:[{SEPARATORS}]{{0,3}}\d)*")
# A date, and maybe the hour after it ("2024-03-05 14:22" reads as far as "14"): kept.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{1,2})?")
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
    (separated by at most three of :data:`SEPARATORS`), ISO dates (and an hour after one) excepted.
    """
    return _DIGITS.sub(_mask_digits, _EMAIL.sub(EMAIL_MASK, text))


def kept_text(text: str | None, mode: TextMode) -> str | None:
    """What the log keeps of ``text`` under ``mode``: itself, a redacted copy, or None."""
    if text is None or mode == "full":
        return text
    return redact(text) if mode == "redacted" else None
