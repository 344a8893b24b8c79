"""The seed system's sample queries, run through the whole pipeline by ``support-router demo``.

These seventeen sentences are the seed notebook's own demo data (its ten labelled queries and seven
test queries); they ship here so that the demo runs on a fresh clone. A test checks them against
../shared/data/seed when that folder is present.
"""

from __future__ import annotations

SEED_LABELLED: list[tuple[str, str]] = [
    ("What are your business hours?", "General Question"),
    ("How do I reset my password?", "Technical Support"),
    ("I want a refund for my purchase.", "Refund Request"),
    ("Where can I find your privacy policy?", "General Question"),
    ("The app keeps crashing when I try to upload photos.", "Technical Support"),
    ("I ordered the wrong size, can I get my money back?", "Refund Request"),
    ("Do you ship internationally?", "General Question"),
    ("My account is showing incorrect information.", "Technical Support"),
    ("I was charged twice for my order.", "Refund Request"),
    ("What payment methods do you accept?", "General Question"),
]

SEED_TEST_QUERIES: list[str] = [
    "What are your business hours?",
    "I need a refund for my order #12345",
    "My app keeps crashing when I try to save photos",
    "I received the wrong item in my shipment",
    "How do I change my shipping address?",
    "I'm not sure if my payment went through",
    "The product description was misleading",
]
