"""Take-overs this process saw, for the one question that cannot wait on the store."""

from __future__ import annotations

import time

# Longer than any answer takes to write: an older take-over asks nothing of one being written now.
KEEP_SECONDS = 600.0

ThreadKey = tuple[str, str, str]


class RecentTakeOvers:
    """When this process's intake last saw an agent take each thread over.

    Read at a streamed answer's first words (``bot.ownership``), whether an agent wrote in its thread
    since the answer was begun: in memory, because a read of the store there held the first words back
    (a tenth of a second under a burst). Another replica's intake writes in the store alone, which is read
    while Claude writes the answer (``bot.streaming.StreamedReply.prepare``).
    """

    def __init__(self, keep_seconds: float = KEEP_SECONDS) -> None:
        self._keep = keep_seconds
        # When an agent last wrote in each thread, and who.
        self._seen: dict[ThreadKey, tuple[float, str]] = {}

    def note(self, team_id: str, channel_id: str, thread_ts: str, agent_id: str) -> None:
        """``agent_id`` just wrote in this thread; take-overs older than the keep window are forgotten."""
        now = time.monotonic()
        self._seen = {key: seen for key, seen in self._seen.items() if now - seen[0] < self._keep}
        self._seen[(team_id, channel_id, thread_ts)] = (now, agent_id)

    def since(
        self, team_id: str, channel_id: str, thread_ts: str, started: float, *, other_than: str | None = None
    ) -> bool:
        """Whether an agent (``other_than`` aside: the one re-routing) wrote in the thread after
        ``started`` (a ``time.monotonic()`` reading)."""
        at, agent = self._seen.get((team_id, channel_id, thread_ts), (float("-inf"), ""))
        return at > started and agent != other_than
