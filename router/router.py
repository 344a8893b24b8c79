"""The pipeline: classify, apply the escalation policy, answer with the category's handler.

``Router.route`` always returns a :class:`RoutingDecision`: every failure path ends in an escalated
decision carrying the error, never in an exception to the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from router.classifiers import Classifier
from router.config import RoutesConfig
from router.errors import AnswerStopped, RouterError
from router.handlers import Handler, rerouted_query
from router.models import Classification, EscalationReason, RoutingDecision, Source, Turn, Usage
from router.policy import acknowledges, asks, escalation_reason

if TYPE_CHECKING:
    from router.classifiers.local import LocalClassifier
    from router.classifiers.swappable import Swappable

logger = logging.getLogger(__name__)

TextSink = Callable[[str], Awaitable[None]]
DEFAULT_MAX_QUERY_CHARS = 4000
NO_TEXT_REASONING = "The message has no words, only something the bot cannot read (a file or an image)."


def _ms(start: float) -> float:
    return max(0.0, (time.perf_counter() - start) * 1000)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def cut_turns(history: Sequence[Turn], limit: int) -> list[Turn]:
    """``history`` with each person's message cut to ``limit`` as a new message is: a log pasted once is
    not sent whole with every follow-up. The bot's own turns are bounded by their handler's max_tokens."""
    return [
        turn
        if turn.role in ("assistant", "rerouted") or len(turn.text) <= limit
        else turn.model_copy(update={"text": truncate(turn.text, limit)})
        for turn in history
    ]


class Router:
    """Routes one message at a time; safe to share between many concurrent conversations."""

    def __init__(
        self,
        routes: RoutesConfig,
        classifier: Classifier,
        handler: Handler,
        *,
        max_query_chars: int = DEFAULT_MAX_QUERY_CHARS,
        local: Swappable[LocalClassifier] | None = None,
    ) -> None:
        self.routes = routes
        # The local model, replaceable by one that has learnt from the bot's history (None: not used).
        self.local = local
        self._classifier = classifier
        self._handler = handler
        self._max_query_chars = max_query_chars

    async def classify(self, query: str, history: Sequence[Turn] = ()) -> Classification:
        """The classification of ``query``; a failed classifier yields an escalating stand-in."""
        limit = self._max_query_chars
        return await self._classify(truncate(query, limit), cut_turns(history, limit))

    async def _classify(self, query: str, history: Sequence[Turn]) -> Classification:
        """:meth:`classify`, ``query`` and ``history`` cut already (:meth:`route` cuts them once)."""
        try:
            return await self._classifier.classify(query, history)
        except RouterError as e:
            logger.warning("classification failed: %s", e)
            return Classification(
                category=self.routes.names[0],
                confidence=0.0,
                reasoning="The message could not be classified.",
                source=Source.FALLBACK,
                usage=e.usage,
                usage_model=e.model,
                error=str(e),
            )

    async def route(
        self,
        query: str,
        history: Sequence[Turn] = (),
        on_text: TextSink | None = None,
        *,
        category: str | None = None,
        escalate: EscalationReason | None = None,
        on_answering: Callable[[], None] | None = None,
    ) -> RoutingDecision:
        """Classify and answer ``query``, streaming the answer's text into ``on_text``.

        After an answer in the conversation (an ``assistant`` turn in ``history``), a message that only
        thanks or says goodbye (or agrees, unless that answer ended on a question, which a "yes" answers)
        gets the routes' ``acknowledgement_reply`` instead of an escalation for
        fitting no category (or of a forced one: a thank-you pages no one); and offline, any other
        message goes to a person: the offline reply it follows promised one, and would only be served
        again.

        Args:
            query: the customer's message.
            history: the thread's earlier turns, oldest first; for a re-route (``category``), the whole
                conversation as it stands, the message and what followed it included.
            on_text: awaited with each chunk of the answer as it arrives (not called when escalated, nor
                for the acknowledgement reply); raising :class:`AnswerStopped` ends the answer there
                (the customer stopped it), Claude's request closed and the decision marked
                ``stopped_by_customer``.
            category: skip classification and answer as this category (an agent's re-route).
            escalate: hand the message to a person for this reason, recorded instead of any the policy
                finds (a thank-you aside); it is classified all the same, for the record.
            on_answering: called as the handler is asked for the answer (classified, not escalated): a
                caller's check that must be done by the answer's first words can run meanwhile.
        """
        started = time.perf_counter()
        query = truncate(query, self._max_query_chars)
        history = cut_turns(history, self._max_query_chars)
        classification, reason, closing = await self._decide(query, history, category, escalate)
        decision = self._routed(query, classification, reason, _ms(started))
        if reason is not None:
            return decision
        if closing is not None:
            update = {"answer": closing, "total_ms": _ms(started), "acknowledgement": True}
            return decision.model_copy(update=update)
        if on_answering is not None:
            on_answering()
        return await self._answer(decision, history, on_text, started)

    def _routed(
        self, query: str, classification: Classification, reason: EscalationReason | None, routing_ms: float
    ) -> RoutingDecision:
        """The decision as routing made it: the classification, the escalation if any, and what it cost;
        no answer yet, and its handling time 0 until one is written."""
        priced_as = classification.usage_model or classification.model
        return RoutingDecision(
            query=query,
            category=classification.category,
            confidence=classification.confidence,
            reasoning=classification.reasoning,
            escalated=reason is not None,
            escalation_reason=reason,
            source=classification.source,
            classifier_model=classification.model,
            routing_ms=routing_ms,
            handling_ms=0.0,
            total_ms=routing_ms,
            usage=classification.usage,
            cost_usd=self.routes.cost(priced_as, classification.usage),
            error=classification.error,
            routes_version=self.routes.version,
        )

    async def _decide(
        self,
        query: str,
        history: Sequence[Turn],
        category: str | None,
        escalate: EscalationReason | None,
    ) -> tuple[Classification, EscalationReason | None, str | None]:
        """How :meth:`route` takes ``query``: its classification, the reason to escalate it (None: answer
        it), and the closing reply that answers it instead of a handler (a thank-you after an answer)."""
        closing: str | None = None
        if not query.strip():
            # A file alone: nothing to classify or answer, and a person can open what the bot cannot.
            classification = Classification(
                category=category or self.routes.names[0],
                confidence=0.0,
                reasoning=NO_TEXT_REASONING,
                # An agent's re-route stays the agent's decision (stats count customers' messages once).
                source=Source.NONE if category is None else Source.AGENT,
            )
            reason: EscalationReason | None = EscalationReason.NO_TEXT
        elif category is None:
            classification = await self._classify(query, history)
            reason = escalation_reason(classification, self.routes, query)
            said = [turn.text for turn in history if turn.role == "assistant"]
            answered = bool(said)
            # "yes" to the bot's own question is the customer's answer to it, not a goodbye.
            closes = answered and acknowledges(query, after_question=asks(said[-1]))
            if closes and reason is not EscalationReason.ASKED_FOR_HUMAN:
                reason = None
                closing = self.routes.acknowledgement_reply
            elif escalate is not None:
                # The caller's reason wins: the conversation is a person's already, so what the policy
                # would say of this message alone (unsure, asks for a person) is no new escalation.
                reason = escalate
            elif answered and reason is None and self._handler.offline:
                reason = EscalationReason.OFFLINE_FOLLOW_UP
        else:
            classification = Classification(
                category=category, confidence=1.0, reasoning="Re-routed by an agent.", source=Source.AGENT
            )
            reason = None
        return classification, reason, closing

    async def _answer(
        self, decision: RoutingDecision, history: Sequence[Turn], on_text: TextSink | None, started: float
    ) -> RoutingDecision:
        category = self.routes.category(decision.category)
        handling_started = time.perf_counter()
        # A re-route's history is the conversation as it stands, past the message it answers again: the
        # message comes last, as the agent's request.
        query = rerouted_query(decision.query) if decision.source is Source.AGENT else decision.query
        stream = self._handler.stream(category, query, history)
        failure: RouterError | None = None
        stopped = False
        try:
            async for chunk in stream:
                if on_text is not None:
                    await on_text(chunk)
            answer = stream.answer
        except AnswerStopped:
            # The customer stopped it: Claude is stopped too, and what it wrote until then is the answer.
            answer, stopped = await stream.stop(), True
        except RouterError as e:
            logger.warning("answering as %s failed: %s", category.name, e)
            failure = e
        update: dict[str, object] = {"handling_ms": _ms(handling_started), "total_ms": _ms(started)}
        if failure is not None:
            # What the failed answer consumed is paid for: the decision's tokens and cost include it.
            update |= {
                "escalated": True,
                "escalation_reason": EscalationReason.HANDLER_ERROR,
                "handler_model": category.handler.model,
                "usage": decision.usage + failure.usage,
                "cost_usd": decision.cost_usd + self.routes.cost(failure.model, failure.usage),
                "error": "; ".join(filter(None, [decision.error, str(failure)])),
            }
            return decision.model_copy(update=update)
        usage: Usage = decision.usage + answer.usage
        cost = decision.cost_usd + self.routes.cost(answer.model, answer.usage)
        update |= {
            "answer": answer.text,
            "offline": answer.offline,
            "handler_model": answer.model,
            "usage": usage,
            "cost_usd": cost,
            "stopped_by_customer": stopped,
        }
        return decision.model_copy(update=update)
