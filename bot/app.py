"""The Slack app: an async Bolt app wired to the router, the store and the worker.

Nothing is built at import time; ``SupportBot`` is built by the CLI (or a test) from settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.agents import Directory
from bot.catch_up import CatchUp
from bot.clients import slack_client
from bot.conversation import Conversations
from bot.formatting import STEPPED_ASIDE
from bot.identity import Identity
from bot.intake import Intake
from bot.learning import Learner
from bot.listeners import actions, commands, messages
from bot.reminders import Reminders
from bot.settings import Settings, SettingsError
from bot.slack_errors import SLACK_ERRORS
from bot.store.records import InboundMessage
from bot.store.repository import Store
from bot.withdrawn_escalations import WithdrawnEscalations
from bot.worker import Worker
from router.router import Router

logger = logging.getLogger(__name__)


class _UnusedTokenWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def _drop_unused_token_warning() -> None:
    """Bolt reads SLACK_BOT_TOKEN from the environment beside the client it is given (built from that
    same token) and warned at every start that the token is unused: a false alarm to whoever runs it."""
    bolt = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _UnusedTokenWarning) for f in bolt.filters):
        bolt.addFilter(_UnusedTokenWarning())


# How long a stop (SIGTERM) waits for the messages in flight; those left then are answered at the next start.
STOP_GRACE_SECONDS = 30.0
# An agent who takes a thread over is told the bot steps aside at most this often.
TAKE_OVER_NOTE_SECONDS = 24 * 3600.0


class SupportBot:
    """Everything the running bot holds: the Bolt app, its client, the store, the worker."""

    def __init__(
        self, settings: Settings, router: Router, store: Store, client: AsyncWebClient | None = None
    ) -> None:
        self.settings = settings
        self.router = router
        self.store = store
        self._owns_client = client is None
        self.client = client or slack_client(settings)
        self.directory = Directory(
            self.client, agent_users=settings.agent_users, agent_usergroup=settings.agent_usergroup
        )
        self.intake = Intake(
            store, settings, self.directory, on_take_over=self._took_over, on_withdrawn=self._withdrawn
        )
        self.withdrawn_escalations = WithdrawnEscalations(store, self.client)
        # When each agent was last told that the bot steps aside in a thread they take over.
        self._told_to_step_aside: dict[str, float] = {}
        self.learner = Learner(
            router,
            store,
            min_confidence=settings.learn_min_confidence,
            refit_interval=settings.learn_refit_seconds,
        )
        self.conversations = Conversations(
            settings,
            router,
            store,
            self.client,
            Identity(None, None),
            learner=self.learner,
            directory=self.directory,
            take_overs=self.intake.take_overs,
            withdrawals=self.intake.withdrawals,
        )
        self.worker = _worker(settings, self.conversations, store)
        self.reminders = Reminders(store, self.client, settings, self.directory)
        self.catch_up = CatchUp(store, self.client, self.intake, settings, self.worker.submit)
        self._catching_up: asyncio.Task[None] | None = None
        self.app = self._slack_app()

    def _slack_app(self) -> AsyncApp:
        """The Bolt app on the bot's client, its listeners registered and :meth:`_on_error` its error
        handler."""
        settings = self.settings
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
        _drop_unused_token_warning()
        app = AsyncApp(
            client=self.client,
            signing_secret=secret,
            # Socket Mode connections are authenticated by the app token; HTTP requests by signature.
            request_verification_enabled=not settings.socket_mode,
            process_before_response=False,
            raise_error_for_unhandled_request=False,
        )
        app.error(self._on_error)
        messages.register(app, self)
        actions.register(app, self)
        commands.register(app, self)
        return app

    async def start(self) -> None:
        """Check the token, learn who the bot is, and resume pending messages."""
        if self._owns_client and self.client.session is None:
            # One keep-alive session for every Web API call. Without it slack_sdk opens a new session and
            # TCP connection per call, about twice the CPU of a call (a streamed reply makes a dozen).
            timeout = aiohttp.ClientTimeout(total=self.client.timeout)
            self.client.session = aiohttp.ClientSession(timeout=timeout)

        try:
            auth = await self.client.auth_test()
        except SlackApiError as e:
            raise SettingsError(f"SLACK_BOT_TOKEN was refused by Slack: {e.response.get('error')}") from e
        self.conversations.identity = Identity(auth.get("user_id"), auth.get("team_id"))
        await self.directory.warm()  # the intake never waits on Slack for it
        await self.learner.start()
        await self.worker.start(sole_worker=self.store.is_sqlite)
        # Not in flight as a message is: stopping cancels it (what it claimed and did not start yet is
        # pending, resumed by the next start), rather than wait out its paced reads.
        self._catching_up = asyncio.create_task(self._catch_up(), name="catch-up")

    async def _catch_up(self) -> None:
        """Answer what customers wrote while the bot was away (see :mod:`bot.catch_up`), beside the new
        messages the bot takes meanwhile."""
        try:
            identity = self.conversations.identity
            await self.catch_up.run(identity.user_id, identity.team_id)
        except Exception:
            logger.exception("catching up on the messages written while the bot was away failed")
        # Reminders from then on: the catch-up finds the agents' replies written while the bot was away,
        # and a reminder before that would tag them all for a customer one of them has answered.
        self.reminders.start()

    async def caught_up(self) -> None:
        """Wait until the catch-up begun at start has looked at every channel."""
        if self._catching_up is not None:
            await asyncio.shield(self._catching_up)

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Finish the messages in flight, waiting up to ``grace_seconds`` for them; any left then stay
        pending in the store, for the next start (or another replica) to answer. Both are logged: the
        operator who stopped ``serve`` would otherwise wait on a silent process."""
        if self._catching_up is not None:
            self._catching_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._catching_up
        await self.reminders.stop()
        if busy := self.worker.in_flight:
            logger.info("stopping: waiting up to %.0f s for %d message(s) in flight", grace_seconds, busy)
        await self.worker.drain(grace_seconds)
        if left := self.worker.in_flight:
            logger.warning(
                "stopped with %d message(s) unfinished: they stay pending, and the next start (or another "
                "replica) answers them",
                left,
            )
        await self.learner.stop()

    async def close(self) -> None:
        """Close the Slack client's HTTP session (the bot's own; a given client is closed by its owner)."""
        if self._owns_client and self.client.session is not None and not self.client.session.closed:
            await self.client.session.close()

    async def may_use_controls(self, user_id: str) -> bool | None:
        """May ``user_id`` use the agent controls? True for an agent, False for anyone else, and None for
        "anyone but the customer of the message" when no agents are configured.

        While Slack has never listed the agents' user group, only AGENT_USERS may: anyone else's click
        would re-route a customer's thread or count as an agent's verdict in the accuracy and the local
        model's examples (in a Slack Connect channel, another customer's). The intake's guess for whose
        words in a thread are an agent's stays kinder: a person is not answered over by the bot."""
        if not self.directory.agents_configured:
            return None
        status = await self.directory.agent_status(user_id)
        if status is None:
            logger.warning("the agents' user group cannot be read: controls refused to %s for now", user_id)
        return bool(status)

    def _took_over(self, msg: InboundMessage) -> None:
        # Once a day per agent: the rule is learnt at the first, and a note in every thread they answer
        # would be the bot in their way. (Kept in memory: after a restart an agent may be told once more.)
        now = time.monotonic()
        if now - self._told_to_step_aside.get(msg.user_id, -TAKE_OVER_NOTE_SECONDS) < TAKE_OVER_NOTE_SECONDS:
            return
        self._told_to_step_aside[msg.user_id] = now
        self.worker.run_aside(self._tell_stepped_aside(msg), name=f"take-over {msg.channel_id}/{msg.ts}")

    def _withdrawn(self, team: str, channel: str, thread_ts: str, ts: str) -> None:
        # After the ack: Slack's reads and its edit may take longer than the three seconds it waits.
        work = self.withdrawn_escalations.respect(team, channel, thread_ts, ts)
        self.worker.run_aside(work, name=f"deleted {channel}/{ts}")

    async def _tell_stepped_aside(self, msg: InboundMessage) -> None:
        """Tell the agent who just took a thread over, privately, that the bot is out of their way (it
        says nothing in the thread: the customer is talking to a person now) and how to undo it."""
        try:
            await self.client.chat_postEphemeral(
                channel=msg.channel_id,
                user=msg.user_id,
                thread_ts=msg.thread_ts,
                text=STEPPED_ASIDE,
            )
        except SLACK_ERRORS as e:
            # A courtesy: the take-over itself is recorded, and the bot stays silent either way.
            logger.warning("could not tell %s that the bot stepped aside: %s", msg.user_id, e)

    async def _on_error(self, error: Exception) -> None:
        # Bolt answers a failed middleware (the claim) with 500, so Slack delivers the event again.
        logger.error("request failed: %s: %s", type(error).__name__, error, exc_info=error)


def build_app(
    settings: Settings, router: Router, store: Store, client: AsyncWebClient | None = None
) -> AsyncApp:
    """The Bolt app alone (see :class:`SupportBot` for the parts that start and stop)."""
    return SupportBot(settings, router, store, client).app


def _worker(settings: Settings, conversations: Conversations, store: Store) -> Worker:
    """The worker, sized and timed by the settings."""
    return Worker(
        conversations,
        store,
        concurrency=settings.max_concurrency,
        lease_seconds=settings.claim_lease_seconds,
        recovery_interval=settings.recovery_interval_seconds,
        max_attempts=settings.retry_attempts,
        retry_base_seconds=settings.retry_base_seconds,
    )
