"""Requests and tokens an account served in the last minute, in bounded memory."""

from __future__ import annotations

from collections import deque

WINDOW = 60.0


class UsageWindow:
    """Per-second buckets over a sliding window, with running totals.

    At most `span` buckets are kept whatever the traffic, and a read costs
    only the buckets it drops, so `least-used` can ask on every request.
    Resolution is one second: an event leaves the window up to a second early.
    """

    def __init__(self, span: float = WINDOW) -> None:
        self._span = span
        self._buckets: deque[list[int]] = deque()  # [second, requests, tokens]
        self._requests = 0
        self._tokens = 0

    def add(self, now: float, tokens: int) -> None:
        """Count one request of `tokens` tokens at monotonic time `now`."""
        second = int(now)
        tokens = max(0, int(tokens))
        if self._buckets and self._buckets[-1][0] == second:
            bucket = self._buckets[-1]
            bucket[1] += 1
            bucket[2] += tokens
        else:
            self._buckets.append([second, 1, tokens])
        self._requests += 1
        self._tokens += tokens
        self._prune(now)

    def totals(self, now: float) -> tuple[int, int]:
        """(requests, tokens) within the window ending at `now`."""
        self._prune(now)
        return self._requests, self._tokens

    def _prune(self, now: float) -> None:
        horizon = now - self._span
        while self._buckets and self._buckets[0][0] <= horizon:
            _, requests, tokens = self._buckets.popleft()
            self._requests -= requests
            self._tokens -= tokens
