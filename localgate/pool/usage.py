"""Requests and tokens an account served in a sliding window, in bounded memory."""

from __future__ import annotations

from collections import deque

WINDOW = 60.0


class UsageWindow:
    """Buckets of `resolution` seconds over a sliding window, with running totals.

    At most span/resolution buckets are kept whatever the traffic, and a read
    costs only the buckets it drops, so strategies can ask on every request.
    An event leaves the window up to one bucket (`resolution`) early.
    """

    def __init__(self, span: float = WINDOW, resolution: float = 1.0) -> None:
        self._span = span
        self._resolution = resolution
        self._buckets: deque[list[int]] = deque()  # [bucket index, requests, tokens]
        self._requests = 0
        self._tokens = 0

    @property
    def span(self) -> float:
        """Seconds the window spans."""
        return self._span

    def add(self, now: float, tokens: int, requests: int = 1) -> None:
        """Count `requests` requests of `tokens` tokens at monotonic time `now`."""
        index = int(now // self._resolution)
        tokens = max(0, int(tokens))
        if self._buckets and self._buckets[-1][0] >= index:
            # Same bucket (or a clock that stepped back): count it in the newest.
            bucket = self._buckets[-1]
            bucket[1] += requests
            bucket[2] += tokens
        else:
            self._buckets.append([index, requests, tokens])
        self._requests += requests
        self._tokens += tokens
        self._prune(now)

    def totals(self, now: float) -> tuple[int, int]:
        """(requests, tokens) within the window ending at `now`."""
        self._prune(now)
        return self._requests, self._tokens

    def wait_below(self, now: float, limit: int, *, tokens: bool = False) -> float:
        """Seconds until the window's requests (or tokens) drop below `limit`; 0 if already."""
        self._prune(now)
        total = self._tokens if tokens else self._requests
        for index, requests, used in self._buckets:
            if total < limit:
                break
            total -= used if tokens else requests
            if total < limit:
                return max(0.0, index * self._resolution + self._span - now)
        return 0.0

    def _prune(self, now: float) -> None:
        horizon = now - self._span
        while self._buckets and self._buckets[0][0] * self._resolution <= horizon:
            _, requests, tokens = self._buckets.popleft()
            self._requests -= requests
            self._tokens -= tokens
