"""The routing report: plain numbers, computed by ``bot.stats.build``, rendered for Slack or a terminal."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from bot.stats.headline import Previous, rate_of_escalation
from bot.stats.shares import Share

CONFIDENCE_BUCKETS = 10
# The reason of an escalation recorded without one.
NO_REASON = "unspecified"
# The reason shown for a give-up, recorded as a handler error: what failed after every retry may have been
# posting to Slack or recording, not Claude's answer, and a manager must not chase the wrong one.
GAVE_UP_REASON = "gave_up"


# Fewer times than this have no p95 worth reading: from 2 it is all but the slower one, from 19 little more
# than the slowest; a 1-in-20 time needs 20 to be one.
P95_MIN_TIMES = 20


class Timing(BaseModel):
    """Average, median and 95th percentile of one duration, in ms (None with no data)."""

    model_config = ConfigDict(frozen=True)

    count: int = Field(default=0, ge=0)
    average_ms: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None

    @property
    def p95_shown(self) -> float | None:
        """The p95 the report shows: none from fewer than P95_MIN_TIMES times."""
        return self.p95_ms if self.count >= P95_MIN_TIMES else None

    @property
    def p95_withheld(self) -> bool:
        """Whether there are times, but too few for a p95 (see :attr:`p95_shown`)."""
        return 0 < self.count < P95_MIN_TIMES


class CategoryFeedback(BaseModel):
    """What agents said about the routes to one category (or, named "All", about every route).

    ``accuracy`` is the share of reviewed decisions marked correct; ``reroute_rate`` the share of the
    messages routed to the category that an agent re-routed. ``routed`` counts the messages whose
    decisions are still in the log: ``db purge`` deletes the verdicts with the decisions.
    """

    model_config = ConfigDict(frozen=True)

    category: str
    routed: int = Field(ge=0)
    reviewed: int = Field(ge=0)
    correct: int = Field(ge=0)
    rerouted: int = Field(ge=0)

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.reviewed if self.reviewed else None

    @property
    def reroute_rate(self) -> float | None:
        return self.rerouted / self.routed if self.routed else None


class StatsReport(BaseModel):
    """Everything ``/routing-stats`` shows for one period (and, optionally, one channel).

    Messages are customers' messages the bot routed; an agent's re-route is answered and paid for (it
    counts in tokens and cost, and in ``reroutes_answered``) but is not another message. Handling times
    are of the answered messages only; reply times of every customer's message recorded with one.

    When ``db purge`` has deleted some of the period's decisions, the counts, times and cost still
    include them (from the daily rollups); ``kept_messages`` says how many messages are left in the log,
    to which agent feedback and hand-offs are limited, and ``kept_since`` when the earliest left was made.
    """

    model_config = ConfigDict(frozen=True)

    period: str
    start: datetime | None
    end: datetime
    # A date range that runs past now is reported up to now (``end``): the end of its last day.
    range_end: datetime | None = None
    channel: str | None = None
    # The whole period is later than now.
    upcoming: bool = False
    # ``start`` was moved back to 00:00 UTC of the period's first day: db purge deleted decisions of that
    # day, whose daily totals cannot be split by the hour.
    first_day_whole: bool = False

    messages: int = 0
    # Of the messages, those written in a thread where the bot had already replied; the others started
    # a conversation (:attr:`conversations`).
    follow_ups: int = 0
    # Of the messages, those recorded without the router's times and tokens (stand-ins of 0): replies
    # found already posted after a restart (:attr:`recovered`) and most give-ups. Left out of the times and of
    # the per-message tokens and cost, whose true figures are unknown.
    unmeasured: int = 0
    # Of the classified messages, answers stopped before their end (by the customer, or by the message's
    # deletion) with the router's times on record: the stop, not the bot, ended their handling, so they
    # are left out of the handling and total times (their routing time counts).
    cut_short: int = 0
    # Messages no classifier decided (escalated all the same): files alone, with no words to classify, and
    # messages given up on after every retry. Left out of categories, sources, confidence and times.
    no_text: int = 0
    gave_up: int = 0
    # Of those given up on, the ones with no tokens on record (a give-up after a decision Slack would not
    # take keeps that decision's figures).
    gave_up_unmeasured: int = 0
    # Of the messages, thank-yous or goodbyes after an answer, given the short acknowledgement reply: out of
    # the categories (the classifier's guess at "thanks") and of the handling time (no handler ran).
    acknowledgements: int = 0
    # Of the messages, those their author deleted before the bot replied: nothing was posted (no answer,
    # no escalation, no wait for a reply), but what was spent on them counts in the tokens and cost. Out
    # of the categories, escalations and answers. ``withdrawn_unrouted``: deleted before the bot routed
    # them, with no decision (not among the messages; nothing spent).
    withdrawn: int = 0
    withdrawn_unrouted: int = 0
    # The classified messages per category (their shares are of the classified messages less the
    # acknowledgements and the withdrawn).
    categories: list[Share] = []
    # Per category, how many of its messages went to a person (categories with none are left out), and
    # how many were passed on to the person in charge (:attr:`passed_on`), out of its escalated share.
    category_escalations: dict[str, int] = {}
    category_passed_on: dict[str, int] = {}
    # Per category, how many of its answers the customer stopped (pressed Stop while it streamed: an answer
    # they did not want to read to the end); categories with none are left out.
    category_stopped: dict[str, int] = {}
    escalations: int = 0
    escalation_reasons: list[Share] = []
    # Of the messages, those a customer added under a DM already escalated, passed on to the person in
    # charge: escalated, but not counted as escalations (a conversation goes to a person once).
    passed_on: int = 0
    handoffs: int = 0
    confidence_average: float | None = None
    confidence_buckets: list[int] = Field(default_factory=lambda: [0] * CONFIDENCE_BUCKETS)
    routing: Timing = Timing()
    handling: Timing = Timing()
    total: Timing = Timing()
    # The customer's wait: from their message (its Slack ts) to the record of the bot's reply, answer or
    # escalation, after posting it: queueing, Slack and retries included, which the times above are not.
    reply: Timing = Timing()
    # Exact percentiles, or read from the daily latency histograms (two significant digits).
    percentiles_exact: bool = True
    sources: list[Share] = []
    errors: int = 0
    fallbacks: int = 0
    reroutes_answered: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cost_usd: float = 0.0
    feedback: list[CategoryFeedback] = []
    feedback_total: CategoryFeedback = CategoryFeedback(
        category="All", routed=0, reviewed=0, correct=0, rerouted=0
    )
    # The busiest channels, every customer's DM with the bot added up in one (group_direct_messages).
    channels: list[Share] = []
    # Customers' messages of the period that have no decision (counted from their claims): given up on
    # because not even an escalation could be posted (and where), left to the agents in charge of their
    # thread, which was escalated or taken over while they waited their turn, and not finished yet.
    # The undelivered ones' channels have their DMs added up in one, as ``channels``; the busiest are
    # named, and ``undelivered_more_channels`` counts the others, lest they be taken for all.
    undelivered: int = 0
    undelivered_channels: list[Share] = []
    undelivered_more_channels: int = 0
    left_to_agents: int = 0
    pending: int = 0
    kept_messages: int | None = None
    kept_since: datetime | None = None
    # The period's escalations agents can be seen to pick up (``seen_by_agents``: not a DM never announced
    # in their channel), how many an agent picked up (wrote in the thread or under the DM's notice,
    # re-routed, handed back), how many within each time ("15 min",
    # "1 h", "4 h", cumulative), and when the longest of those no agent has picked up was escalated.
    escalations_to_pick_up: int = 0
    picked_up: int = 0
    picked_up_within: dict[str, int] = {}
    # Per time, what its share is of: the escalations picked up within it or made longer ago (one made
    # minutes ago and waiting has missed no time yet). A time missing here is of them all.
    pickup_bases: dict[str, int] = {}
    awaiting_since: datetime | None = None
    # Not of the period but of the moment the report was read, whatever its period (in its channel, if
    # it has one): the customers who wrote again in a thread an agent holds with no agent's reply since,
    # and how long the longest had waited then (``bot.stats.waiting_now``).
    customers_waiting: int = 0
    customers_waiting_longest: timedelta | None = None
    # The whole days just before, as many as this period's (None for ``all`` and for a period to come).
    previous: Previous | None = None

    @property
    def awaiting_agents(self) -> int:
        """The period's escalations (those counted in ``escalations_to_pick_up``) no agent picked up yet."""
        return self.escalations_to_pick_up - self.picked_up

    @property
    def purged_messages(self) -> int:
        """How many of the period's messages ``db purge`` deleted (0 when none)."""
        return 0 if self.kept_messages is None else self.messages - self.kept_messages

    @property
    def conversations(self) -> int:
        """Messages that started a conversation (a thread) in the period: the messages less follow-ups."""
        return self.messages - self.follow_ups

    @property
    def recovered(self) -> int:
        """Replies found already posted after a restart, recorded without their times and tokens."""
        return max(0, self.unmeasured - self.gave_up_unmeasured)

    @property
    def measured_messages(self) -> int:
        """Messages whose tokens and cost are known: what the per-message figures divide by."""
        return self.messages - self.unmeasured

    @property
    def not_classified(self) -> int:
        """Messages routed without a classification (:attr:`no_text` and :attr:`gave_up`)."""
        return self.no_text + self.gave_up

    @property
    def undecided(self) -> int:
        """Messages of the period the bot has not answered or escalated (see :attr:`undelivered`)."""
        return self.undelivered + self.left_to_agents + self.pending

    @property
    def escalation_rate(self) -> float | None:
        """Escalations per message (see :func:`rate_of_escalation`); None without one (not 0%)."""
        return rate_of_escalation(self.escalations, self.messages, self.passed_on, self.withdrawn)

    @property
    def withdrawn_messages(self) -> int:
        """Messages their author deleted before the bot replied, routed (:attr:`withdrawn`) or not."""
        return self.withdrawn + self.withdrawn_unrouted

    @property
    def answers(self) -> int:
        """The answers posted: the categories' messages neither escalated nor passed on."""
        escalated = sum(self.category_escalations.values()) + sum(self.category_passed_on.values())
        return sum(c.count for c in self.categories) - escalated

    @property
    def stopped(self) -> int:
        """Answers the customer stopped (see :attr:`category_stopped`)."""
        return sum(self.category_stopped.values())

    @property
    def stop_rate(self) -> float | None:
        """The share of the answers the customers stopped; None without an answer."""
        return self.stopped / self.answers if self.answers else None

    def category_stops_rated(self) -> list[tuple[int, float | None]]:
        """For each of :attr:`categories`, how many of its answers the customers stopped, and their share
        of its answers (None for a category with none)."""
        found = []
        for category in self.categories:
            n = self.category_stopped.get(category.name, 0)
            answers = (
                category.count
                - self.category_escalations.get(category.name, 0)
                - self.category_passed_on.get(category.name, 0)
            )
            found.append((n, n / answers if answers > 0 else None))
        return found

    def category_escalations_rated(self) -> list[tuple[int, float | None]]:
        """For each of :attr:`categories`, how many of its messages were escalated, and their share of
        the category's messages that could have been one (see :func:`rate_of_escalation`): None for a
        category whose messages were all passed on to the person in charge."""
        found = []
        for category in self.categories:
            n = self.category_escalations.get(category.name, 0)
            passed_on = self.category_passed_on.get(category.name, 0)
            found.append((n, rate_of_escalation(n, category.count, passed_on)))
        return found

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_creation_tokens

    @property
    def tokens_per_message(self) -> float | None:
        """Tokens per message whose tokens are known (see :attr:`unmeasured`)."""
        return self.tokens / self.measured_messages if self.measured_messages else None

    @property
    def cost_per_message(self) -> float | None:
        """Cost per message whose tokens are known (see :attr:`unmeasured`)."""
        return self.cost_usd / self.measured_messages if self.measured_messages else None
