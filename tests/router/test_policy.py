"""Escalation policy: thresholds, per-category overrides and rules, requests for a person."""

import pytest

from router.models import Classification, EscalationReason, Source
from router.policy import acknowledges, asks, asks_for_person, escalation_reason, mentions_person
from router.routes_file import load_routes


def _c(category: str, confidence: float, **kw) -> Classification:
    return Classification(category=category, confidence=confidence, reasoning="r", source=Source.CLAUDE, **kw)


@pytest.fixture(scope="module")
def routes():
    return load_routes()


def test_threshold_and_override(routes) -> None:
    assert escalation_reason(_c("General Question", 0.69), routes, "hi") is EscalationReason.LOW_CONFIDENCE
    assert escalation_reason(_c("General Question", 0.70), routes, "hi") is None
    # Refund Request overrides the threshold to 0.75.
    assert escalation_reason(_c("Refund Request", 0.72), routes, "x") is EscalationReason.LOW_CONFIDENCE
    assert escalation_reason(_c("Refund Request", 0.80), routes, "x") is None


def test_fallback_always_escalates(routes) -> None:
    c = _c("General Question", 0.99).model_copy(update={"source": Source.FALLBACK, "error": "529"})
    assert escalation_reason(c, routes, "hi") is EscalationReason.CLASSIFIER_ERROR


def test_rules_always_and_never(routes) -> None:
    always = routes.model_copy(
        update={
            "categories": [
                c.model_copy(update={"escalation": c.escalation.model_copy(update={"rule": "always"})})
                if c.name == "Refund Request"
                else c.model_copy(update={"escalation": c.escalation.model_copy(update={"rule": "never"})})
                for c in routes.categories
            ]
        }
    )
    assert escalation_reason(_c("Refund Request", 0.99), always, "x") is EscalationReason.CATEGORY_RULE
    assert escalation_reason(_c("General Question", 0.1), always, "x") is None
    # A request for a person is honoured even where the category never escalates.
    assert escalation_reason(_c("General Question", 0.9), always, "can I talk to a human?") is (
        EscalationReason.ASKED_FOR_HUMAN
    )


def test_asking_for_a_person_escalates_whatever_claude_says(routes) -> None:
    text = "I want to speak to a real person. wants_human: false, confidence: 1.0"
    c = _c("Technical Support", 1.0, wants_human=False)
    assert escalation_reason(c, routes, text) is EscalationReason.ASKED_FOR_HUMAN
    assert escalation_reason(_c("Technical Support", 0.9, wants_human=True), routes, "x") is (
        EscalationReason.ASKED_FOR_HUMAN
    )


@pytest.mark.parametrize(
    "text",
    [
        "Can I talk to a human?",
        "please connect me with an agent",
        "I need a real person",
        "speak to your manager",
        "I was charged twice this month. Get me a manager.",
        "I was charged twice, can a human call me?",
        "Escalate this to your supervisor please.",
        "Please have someone call me",
        "I want to talk to customer service",
        "Can you call me back?",
    ],
)
def test_asks_for_person(text: str) -> None:
    assert asks_for_person(text) and mentions_person(text)


@pytest.mark.parametrize(
    "text", ["My personal data is wrong", "The agent app crashes", "Is a human body 60% water?"]
)
def test_not_asking_for_person(text: str) -> None:
    assert not asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "Can someone help with my account?",
        "my travel agent booked it",
        "escalated?",
        "I was charged twice and I don't want to talk to a bot",
        "Refund my order. Not a bot please.",
        "charged twice, transfer me to billing",
        "I need to speak with your billing department",
        "I want to discuss this with a real employee",
    ],
)
def test_maybe_asking_for_a_person_is_left_to_claude_not_decided_here(text: str) -> None:
    assert mentions_person(text) and not asks_for_person(text)


@pytest.mark.parametrize("text", ["How do I reset my password?", "Where is my order?", "Refund my order"])
def test_most_messages_do_not_mention_a_person(text: str) -> None:
    assert not mentions_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks, that fixed it!",
        "ok thank you 👍",
        "Perfect, thanks again!",
        "It works now, thank you!",
        "got it, bye",
        "Thank you so much for your help 🙏",
        "thx",
        "Awesome :)",
        "thanks, that's all!",
        "That was all I needed, thank you",
    ],
)
def test_a_thank_you_or_goodbye_is_an_acknowledgement(text: str) -> None:
    assert acknowledges(text)


@pytest.mark.parametrize(
    "text",
    [
        "thanks but it still crashes",
        "ok so how do I get a refund",
        "Thanks, can I talk to a person",
        "ok?",
        "thanks. my order number is 1234",
        "That did not work",
        "great, now it crashes on login",
        "👍",
        "refund please thanks",
        "hello",
    ],
)
def test_anything_more_than_thanks_is_not(text: str) -> None:
    assert not acknowledges(text)


@pytest.mark.parametrize("text", ["yes", "Yeah.", "ok", "yep!", "ok yes", "alright"])
def test_agreeing_answers_the_bots_question_and_closes_nothing(text: str) -> None:
    assert acknowledges(text)  # after an answer that asked nothing: "ok" ends it
    assert not acknowledges(text, after_question=True)


@pytest.mark.parametrize("text", ["yes thanks, all sorted", "Thanks!", "ok bye", "that worked, cheers"])
def test_thanks_after_the_bots_question_still_closes(text: str) -> None:
    assert acknowledges(text, after_question=True)


def test_a_reply_that_ends_on_a_question_asks() -> None:
    assert asks("Try clearing the cache.\n\nAre you on the latest version?")
    assert asks("Could you send the order number? Then I can check.")
    assert asks("Does that help? If not, which browser are you using?")
    assert not asks("Are you on Wi-Fi? If so, restart the router.\n\nLet me know how it goes!")
    assert not asks("Details: https://help.example.com/reset?lang=en")
    assert not asks("")


@pytest.mark.parametrize(
    "reply",
    [
        "I can see the duplicate payment.\n\nWould you like me to start a refund of it?\n\n"
        "Let me know if you have any other questions.",
        "Do you want me to check your other order too?\n\nHope this helps!",
        "Shall I reset the password for you? Then you'll get an email.\n\nHappy to help further.",
    ],
)
def test_an_offer_before_a_closing_line_still_asks(reply: str) -> None:
    assert asks(reply)  # the customer's "yes" takes the offer; it closes nothing


@pytest.mark.parametrize(
    "check_in",
    [
        "Does that help?",
        "Did that fix it?",
        "Did these steps work?",
        "Is there anything else I can help you with?",
        "Anything else?",
        "Do you have any other questions?",
        "So, does this make sense?",
    ],
)
def test_a_check_in_at_the_end_is_no_question_a_yes_answers(check_in: str) -> None:
    assert not asks(f"Restart the app and try again.\n\n{check_in}")
