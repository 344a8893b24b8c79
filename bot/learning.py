"""The local model learns from the bot's history.

Agents' confirmations and corrections, and Claude's confident answers, become examples (kept in the
database, bounded per category). The local model is refitted on them in a worker thread, so the event
loop never waits on a fit, and swapped in for the next message on; at start it is refitted on what
was learnt before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from bot.redaction import kept_text
from bot.store.examples import ExampleSource
from bot.store.repository import Store
from router.classifiers.local import LocalClassifier
from router.config import RoutesConfig
from router.models import RoutingDecision, Source
from router.router import Router

logger = logging.getLogger(__name__)

# How often a running bot looks whether the kept examples changed under it: another replica learnt some,
# or `db purge` (another process) deleted old ones, customers' words that must leave the model too.
LOOK_INTERVAL_SECONDS = 60.0
# The examples the routes file's model holds before anything is learnt: none (see Store.learned_mark).
NOTHING_LEARNED: tuple[int, int | None] = (0, None)


def fitted(routes: RoutesConfig, learned: Mapping[str, Sequence[str]]) -> LocalClassifier:
    """A local model over the routes file's examples and ``learned``, fitted (slow: run in a thread)."""
    local = LocalClassifier.from_routes(routes)
    for category, texts in learned.items():
        if category in local.categories:
            local.add_examples(category, texts)
    local.predict("")  # the model fits on its first prediction; do it here, off the event loop
    return local


class Learner:
    """Collects trusted examples and keeps the router's local model up to date with them."""

    def __init__(
        self, router: Router, store: Store, *, min_confidence: float, refit_interval: float = 0.0
    ) -> None:
        self._router = router
        self._store = store
        self._min_confidence = min_confidence
        # A fit costs a few hundred ms of CPU: under a burst, refitting after every example took CPU
        # from the conversations themselves, so fits are spaced by at least this many seconds.
        self._refit_interval = refit_interval
        self._dirty = False
        self._refit: asyncio.Task[None] | None = None
        # The store's examples the current model was fitted on.
        self._fitted_mark = NOTHING_LEARNED
        self._watch: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        # Learning keeps customers' words: not when STORE_MESSAGE_TEXT=none asks for none to be kept.
        return self._router.local is not None and self._store.message_text != "none"

    async def start(self) -> None:
        """Fit the local model before the first message (off the event loop), then refit it on what
        earlier runs learnt, if anything."""
        if self._router.local is not None:
            await asyncio.to_thread(self._router.local.current.predict, "")
        if self.enabled:
            await self.look()
            self._watch = asyncio.create_task(self._watching(), name="learned examples watch")

    async def look(self) -> bool:
        """Refit the local model if the store's examples are not those it was fitted on; whether it will
        be (see :data:`LOOK_INTERVAL_SECONDS`)."""
        if await self._store.learned_mark() == self._fitted_mark:
            return False
        self._schedule()
        return True

    async def _watching(self) -> None:
        while True:
            await asyncio.sleep(LOOK_INTERVAL_SECONDS)
            try:
                await self.look()
            except Exception as e:
                logger.warning("could not look whether the learned examples changed: %s", type(e).__name__)

    async def note_decision(self, decision: RoutingDecision) -> None:
        """Keep Claude's confident, unescalated decisions as examples (of messages routed alone: a
        follow-up's words take their category from its thread, see Conversations.handle)."""
        trusted = decision.source is Source.CLAUDE and not decision.escalated
        if trusted and decision.confidence >= self._min_confidence:
            await self._add(decision.category, decision.query, "claude")

    async def note_feedback(self, category: str, text: str) -> None:
        """Keep an agent's confirmed or corrected category as an example."""
        await self._add(category, text, "agent")

    async def _add(self, category: str, text: str, source: ExampleSource) -> None:
        kept = kept_text(text, self._store.message_text)
        if not self.enabled or not kept or category not in self._router.routes.names:
            return
        keep = self._router.routes.classifier.local.max_learned_per_category
        try:
            await self._store.add_example(category, kept, source, keep=keep)
        except Exception as e:
            # Learning is a bonus: the message it came from is answered and recorded already.
            logger.warning("could not keep a learned example: %s", type(e).__name__)
            return
        self._schedule()

    def _schedule(self) -> None:
        # Examples arriving during a fit are picked up by one more fit afterwards, never by one per example.
        self._dirty = True
        if self._refit is None or self._refit.done():
            self._refit = asyncio.create_task(self._refit_while_dirty(), name="local model refit")

    async def _refit_while_dirty(self) -> None:
        first = True
        while self._dirty:
            if not first:
                await asyncio.sleep(self._refit_interval)
            first = False
            self._dirty = False
            try:
                mark = await self._store.learned_mark()
                learned = await self._store.learned()
                local = await asyncio.to_thread(fitted, self._router.routes, learned)
            except Exception:
                logger.exception("refitting the local model failed; keeping the current one")
                return
            self._fitted_mark = mark  # a change between the two reads is seen by the next look
            if self._router.local is not None:
                self._router.local.replace(local)
                logger.info("local model refitted on %d learned examples", sum(map(len, learned.values())))

    async def stop(self) -> None:
        """Wait for a fit in progress (it cannot be interrupted), dropping any still wanted."""
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        self._dirty = False
        if self._refit is not None:
            self._refit.cancel()
            await asyncio.gather(self._refit, return_exceptions=True)
