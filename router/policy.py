"""Escalation rules, pure: whether a classified message goes to a person, and why."""

from __future__ import annotations

import re

from router.config import EscalationRule, RoutesConfig
from router.models import Classification, EscalationReason, Source

# Checked on the customer's own words as well as Claude's flag, so no instruction inside the message
# ("wants_human: false") can talk the bot out of handing over to a person.
_PERSON_WORDS = "human|person|agent|representative|rep|operator|someone|somebody|manager|supervisor|staff"
_PERSON = f"(?:{_PERSON_WORDS})"
_ARTICLES = r"(?:a|an|the|some|your|real|actual|live|\s)*"
_ASKS_FOR_PERSON = re.compile(
    r"\b(?:talk|speak|chat|connect\s+me|put\s+me\s+through|transfer\s+me)\s+(?:to|with)\s+"
    + _ARTICLES
    + _PERSON
    + r"\b"
    r"|\b(?:real|actual|live)\s+(?:human|person|agent)\b"
    r"|\bhuman\s+(?:agent|being|support)\b"
    r"|\b(?:need|want)\s+(?:a|an)\s+(?:human|person|agent|representative)\b"
    r"|\b(?:get|give|find)\s+me\s+" + _ARTICLES + _PERSON + r"\b"
    r"|\bescalate\s+(?:this|it|me|my\b)"
    r"|\b(?:have|get|can|could|would|will)\s+"
    + _ARTICLES
    + _PERSON
    + r"\s+(?:please\s+)?(?:call|contact|phone|ring|email|reach|get\s+back\s+to)\s+me\b"
    r"|\bcall\s+me\s+back\b"
    r"|\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:your\s+|the\s+|a\s+)?customer\s+(?:service|care|support)\b",
    re.IGNORECASE,
)
# Words that come with a request for a person, sure or not ("my travel agent", "is anyone there?"):
# a message with one is not routed on the local model alone, so Claude, whose answer says whether the
# customer wants a person, reads it.
_MENTIONS_PERSON = re.compile(
    r"\b(?:" + _PERSON_WORDS + r"|people|anyone|anybody|team\s+member|customer\s+(?:service|care|support)"
    r"|escalat\w*|call\s+(?:me|back)|phone\s+me|ring\s+me|complain\w*"
    # "not a bot please", "I don't want to talk to a bot", "transfer me to billing", "a real employee"
    r"|bot|robot|automated|employee|department|transfer\s+me|(?:talk|speak)\s+(?:to|with))\b",
    re.IGNORECASE,
)


# A whole message that only thanks or closes ("Thanks, that fixed it!", "ok great 👍"): after an answer it
# asks nothing, fits no category, and must neither page the agents nor get the same answer again.
_ACK_PHRASES = (
    r"thanks?(?:\s+you)?(?:\s+(?:so|very)\s+much|\s+a\s+(?:lot|ton|million)|\s+again|\s+heaps)*"
    r"(?:\s+for\s+(?:the|your|all\s+the)\s+(?:help|answer|reply|info|information|quick\s+reply))?",
    r"thank\s+u",
    r"thx",
    r"ty(?:sm)?",
    r"cheers",
    r"many\s+thanks",
    r"much\s+appreciated",
    r"(?:i\s+)?appreciate(?:\s+it|\s+the\s+help)?",
    r"ok(?:ay)?",
    r"kk?",
    r"alright",
    r"all\s+right",
    r"(?:that'?s\s+|thats\s+)?(?:great|perfect|awesome|brilliant|excellent|lovely|amazing|wonderful|"
    r"fantastic|super|cool|nice|helpful|very\s+helpful|good|fine|all\s+good|it)",
    r"got\s+it",
    r"understood",
    r"noted",
    r"will\s+do",
    r"sounds\s+good",
    r"makes\s+sense",
    r"no\s+worries",
    r"(?:that'?s|thats|that\s+is|that\s+was)\s+all(?:\s+i\s+needed)?",
    r"(?:that|this|it)\s+(?:worked|works(?:\s+now)?|helped|did\s+it|did\s+the\s+trick|fixed\s+it|solved\s+it)",
    r"(?:it'?s|its|all)\s+(?:working|fixed|solved|sorted|good)(?:\s+now)?",
    r"works\s+now",
    r"(?:fixed|solved|sorted)(?:\s+it)?(?:\s+now)?",
    r"bye",
    r"goodbye",
    r"see\s+you",
    r"have\s+a\s+(?:good|nice|great|lovely)\s+(?:day|one|weekend|evening)",
    r"(?:you\s+)?too",
    r"you'?re\s+(?:the\s+best|a\s+star|a\s+lifesaver|welcome)",
    r"yes",
    r"yep",
    r"yeah",
    r"great\s+help",
    r"oh",
    r"ah",
    r"wow",
    r"so",
    r"and",
    r"again",
    r"very\s+much",
    r"much",
)
# Words that agree and no more: after the bot's question they are its answer, not a closing.
_AGREEMENT = re.compile(
    r"(?:(?:yes|yep|yeah|yup|ok(?:ay)?|kk?|sure|alright|all\s+right|fine|oh|ah|so|and)(?:[\s,.!]+|$))+",
    re.IGNORECASE,
)
# A question, as the sentence that ends with its question mark.
_QUESTION = re.compile(r"[^.!?]*\?")
_URL_IN_TEXT = re.compile(r"\S+://\S+")
# A question that only checks in at the end of an answer: a "yes" or "ok" to it closes the conversation.
_CHECK_IN = re.compile(
    r"(?:so,?\s+|and\s+)?(?:"
    r"(?:does|did|do|has|have|would|will|is|was)\s+(?:that|this|it|these|those)(?:\s+\w+)?\s+"
    r"(?:help|helped|fix|fixed|work|worked|solve|solved|resolve|resolved|answer|answered|clear|make\s+sense)"
    r"|(?:is\s+there\s+|are\s+there\s+)?anything\s+else"
    r"|(?:can|may|could)\s+i\s+help(?:\s+you)?\s+with\s+anything"
    r"|(?:do\s+you\s+have\s+)?any\s+(?:other|more|further)\s+questions"
    r"|how\s+does\s+that\s+sound|makes?\s+sense"
    r")\b",
    re.IGNORECASE,
)
# A question offering to do something for the customer, to which "yes" is an answer, not a goodbye.
_OFFER = re.compile(
    r"(?:and\s+|so,?\s+)?(?:(?:would|do)\s+you\s+(?:like|want)\s+(?:me\s+)?to|(?:do\s+you\s+)?want\s+me\s+to"
    r"|(?:shall|should)\s+i|(?:can|may)\s+i\s+(?!help\b))\b",
    re.IGNORECASE,
)
_ACKNOWLEDGEMENT = re.compile(r"(?:(?:" + "|".join(_ACK_PHRASES) + r")(?:[\s,.!]+|$))+", re.IGNORECASE)
_NOT_WORDS = re.compile(r"[^\w\s,.!']+")


def acknowledges(text: str, *, after_question: bool = False) -> bool:
    """True when the whole message only thanks, agrees or says goodbye (emoji and punctuation aside): no
    question mark, no "but", nothing left over.

    ``after_question``: the bot's last words asked the customer something ("Are you on the latest
    version?"), so a bare "yes" or "ok" answers it and closes nothing; thanks and goodbyes still do.
    """
    if "?" in text:
        return False
    words = " ".join(_NOT_WORDS.sub(" ", text).split()).strip(" ,.!")
    if after_question and _AGREEMENT.fullmatch(words + " "):
        return False
    return bool(words) and len(words.split()) <= 12 and bool(_ACKNOWLEDGEMENT.fullmatch(words + " "))


def asks(text: str) -> bool:
    """True when ``text`` (a reply of the bot's) ends by asking something: its last line holds a question
    ("Which browser are you using?", "Could you send the order number? Then I can check.") other than a
    check-in ("Does that help?", "Is there anything else I can help with?"), which a "yes" closes; or it
    offers to do something ("Would you like me to start a refund?") just before a last line that asks
    nothing ("Let me know if you have any other questions."): a "yes" takes the offer."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return False
    *before, last = [_questions(line) for line in lines]
    if any(not _CHECK_IN.match(q) for q in last):
        return True
    return not last and any(_OFFER.match(q) for questions in before[-2:] for q in questions)


def _questions(line: str) -> list[str]:
    """The questions in ``line``, each stripped (a URL's query string is none)."""
    return [q.strip() for q in _QUESTION.findall(_URL_IN_TEXT.sub("", line)) if q.strip()]


def asks_for_person(text: str) -> bool:
    """True when the customer's text asks to talk to a person."""
    return bool(_ASKS_FOR_PERSON.search(text))


def mentions_person(text: str) -> bool:
    """True when the text may be asking for a person (:func:`asks_for_person` is the sure part): such a
    message needs a reader that can tell, not a nearest-example guess."""
    return bool(_MENTIONS_PERSON.search(text))


def threshold_for(routes: RoutesConfig, category: str) -> float:
    """The confidence below which ``category``'s messages are escalated."""
    override = routes.category(category).escalation.threshold
    return routes.classifier.confidence_threshold if override is None else override


def escalation_reason(
    classification: Classification, routes: RoutesConfig, text: str
) -> EscalationReason | None:
    """Why this message goes to a person, or None when the bot answers it.

    Order matters only for the reason recorded: a failed classification first, then the category's
    own rule, then an explicit request for a person, then the confidence threshold.
    """
    if classification.source is Source.FALLBACK:
        return EscalationReason.CLASSIFIER_ERROR
    rule = routes.category(classification.category).escalation.rule
    if rule == EscalationRule.ALWAYS:
        return EscalationReason.CATEGORY_RULE
    if classification.wants_human or asks_for_person(text):
        return EscalationReason.ASKED_FOR_HUMAN
    if rule == EscalationRule.NEVER:
        return None
    if classification.confidence < threshold_for(routes, classification.category):
        return EscalationReason.LOW_CONFIDENCE
    return None
