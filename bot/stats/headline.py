"""The routing report's headline figures that are read across periods: the escalation rate (which
messages count in it), and those figures for the whole days just before the report's period
(:class:`Previous`, read by :mod:`bot.stats.previous`, compared by :mod:`bot.stats.compare`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


def rate_of_escalation(escalations: int, messages: int, passed_on: int, withdrawn: int = 0) -> float | None:
    """Escalations per message that could have been one: what a customer adds under a DM already with a
    person (``passed_on``) is neither, as in a channel, where it is not routed at all; counted, a DM
    escalated and then added to three times read as a rate of 25% where the same channel thread reads
    100%. Nor is a message its author deleted before the bot replied (``withdrawn``): nothing was posted,
    to the customer or the agents. None without such a message (not a rate of 0%)."""
    routed = messages - passed_on - withdrawn
    return escalations / routed if routed > 0 else None


class Previous(BaseModel):
    """The headline figures of the whole UTC days just before the report's period, as many days as it
    has (``days``; same channel), to read the report's against: did escalations, stops, accuracy, cost
    and the customers' wait get better or worse. For a date range cut at now, the same stretch of those
    days, as long as the part of the range that has happened."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime
    days: int = Field(ge=1)
    messages: int = Field(default=0, ge=0)
    escalations: int = Field(default=0, ge=0)
    passed_on: int = Field(default=0, ge=0)
    withdrawn: int = Field(default=0, ge=0)
    # Messages whose tokens are known, and their cost (see :attr:`StatsReport.unmeasured`).
    measured_messages: int = Field(default=0, ge=0)
    cost_usd: float = 0.0
    # The customers' median wait for a reply (see :attr:`StatsReport.reply`).
    reply_p50_ms: float | None = None
    reviewed: int = Field(default=0, ge=0)
    correct: int = Field(default=0, ge=0)
    # The answers posted, and of them those the customers stopped (see :attr:`StatsReport.stop_rate`).
    answers: int = Field(default=0, ge=0)
    stopped: int = Field(default=0, ge=0)

    @property
    def escalation_rate(self) -> float | None:
        return rate_of_escalation(self.escalations, self.messages, self.passed_on, self.withdrawn)

    @property
    def cost_per_message(self) -> float | None:
        return self.cost_usd / self.measured_messages if self.measured_messages else None

    @property
    def stop_rate(self) -> float | None:
        return self.stopped / self.answers if self.answers else None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.reviewed if self.reviewed else None
