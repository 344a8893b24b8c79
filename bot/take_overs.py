"""Take-overs this process saw, for the one question that cannot wait on the store."""

from __future__ import annotations

import time

# Longer than any answer takes to write: an older take-over asks nothing of one being written now.
KEEP_SECONDS = 600.0

ThreadKey = tuple[str, str, str]


class RecentTakeOvers:
    """When this process's intake last saw an agent take each thread over.

    Read at a streamed answer's first words (``bot.conversation``), whether an agent wrote in its thread
    since the answer was begun: in memory, because a read of the store there held the first words back
    (a tenth of a second under a burst). Another replica's intake writes in the store alone, which is read
    while Claude writes the answer (``bot.replies.StreamedReply.prepare``).
    """

    def __init__(self, keep_seconds: float = KEEP_SECONDS) -> None:
        self._keep = keep_seconds
        self._seen: dict[ThreadKey, float] = {}

    def note(self, team_id: str, channel_id: str, thread_ts: str) -> None:
        """An agent just wrote in this thread; take-overs older than the keep window are forgotten."""
        now = time.monotonic()
        self._seen = {key: at for key, at in self._seen.items() if now - at < self._keep}
        self._seen[(team_id, channel_id, thread_ts)] = now

    def since(self, team_id: str, channel_id: str, thread_ts: str, started: float) -> bool:
        """Whether an agent took the thread over after ``started`` (a ``time.monotonic()`` reading)."""
        return self._seen.get((team_id, channel_id, thread_ts), float("-inf")) > started
