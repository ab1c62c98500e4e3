"""Background threads that share a core with the event loop.

The daemon's log writer (formatting lines) and ledger writer (making and
binding rows) run Python, so they hold the GIL, and on a laptop's busy core
(or a benchmark's pinned one) they hold the core too. Left to run, a writer
keeps it for its whole time slice or its whole batch, and a request that
arrives meanwhile waits for it: at concurrency 1 that was the daemon's p99
(docs/benchmarks.md, rounds six and ten). So each writer works in short
stretches and gives the core back between them, while the loop has room to
give: once requests queue for a loop that is busy all the time, stepping aside
shortens no request's wait and only costs context switches, ~4 a pause, which
were most of small chat's gap to the bare relay at concurrency 32 (round
fourteen). Busy alone does not say that: one client at a time on a fast
upstream keeps the loop ~95% busy with nobody queued, and the one request in
flight then waits for every stretch.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from localgate.events import RequestDone

# Items (log lines, ledger rows) a writer handles between two yields: a
# request that arrives meanwhile waits for one stretch (~0.1 ms), not a batch.
STRETCH = 16
# How long a writer steps aside. A sleep takes the thread off the core, so the
# loop runs at once. For the ledger, the c=1 p99 on small chat was ~0.55 ms
# with this pause against ~0.6-0.85 with sleep(0), which only lets go of the
# GIL (round nine measured the relay at ~0.53). The log writer used sched_yield,
# which leaves the thread runnable; against this pause it measured within noise,
# so both writers step aside the same way.
PAUSE = 0.0002  # seconds
# The share of the time the loop's thread spent running above which it counts as
# busy. Measured on the benchmark's pinned core: ~0.95 under a load it cannot keep
# up with (the writers take the rest); at concurrency 1, 0.68-0.78, or ~0.95 where
# waking the other core is cheap.
BUSY = 0.9
# Requests in flight, on average, from which they queue for a busy loop: Little's
# law, the latencies of the requests that ended over the time they ended in.
QUEUED = 2.0
# Gateway events (a request makes one or more) between two measures: ~15 ms of a
# load that saturates the loop, so a burst is seen almost at once (a timer every
# 0.25 s left a 2-second benchmark run a quarter paced); an idle daemon measures
# nothing, and no timer wakes it.
SAMPLE = 64
# Seconds a saturated measure holds: a saturated loop measures again within
# ~40 ms even on the heaviest route, and a loop that went quiet after a burst
# must not leave the writers unpaced for the next requests (a stream's events).
HOLD = 0.2


class LoopLoad:
    """Whether the event loop is saturated (busy and queued for): an observer of
    the gateway's events that, every SAMPLE-th, measures the share of the time
    since its last measure the loop's thread spent running, and the requests in
    flight on average. Called on the loop: `thread_time` is the CPU time of the
    calling thread. A saturated measure holds for HOLD seconds."""

    def __init__(self, *, cpu=time.thread_time, clock=time.monotonic) -> None:
        self._cpu, self._clock = cpu, clock
        self.busy = 0.0  # share of the time between the last two measures the loop ran
        self.in_flight = 0.0  # requests in flight over that time, on average
        # Read by the writer threads: one float, written whole, no lock.
        self._saturated_until = 0.0
        self.samples = 0
        self._events = 0
        self._served = 0.0  # seconds the requests that ended since the last measure took
        self._last: tuple[float, float] | None = None  # (thread CPU, wall) at the last measure

    def __call__(self, event: object) -> None:
        if isinstance(event, RequestDone):
            self._served += event.latency
        self._events += 1
        if self._events < SAMPLE:
            return
        self._events = 0
        now = self._cpu(), self._clock()
        if self._last is not None and now[1] > self._last[1]:
            elapsed = now[1] - self._last[1]
            self.busy = (now[0] - self._last[0]) / elapsed
            self.in_flight = self._served / elapsed
            saturated = self.busy >= BUSY and self.in_flight >= QUEUED
            self._saturated_until = now[1] + HOLD if saturated else 0.0
            self.samples += 1
        self._served = 0.0
        self._last = now

    @property
    def saturated(self) -> bool:
        """Whether the last measure found the loop saturated, HOLD seconds ago at most."""
        return self._clock() < self._saturated_until


# Process-wide, as the core and the GIL the writers share with the loop are.
LOAD = LoopLoad()


def yield_core() -> None:
    """Step aside for whatever else wants this core: the event loop, first of all,
    unless it is saturated (then the pause would only cost switches)."""
    if not LOAD.saturated:
        time.sleep(PAUSE)


def paced(items: Iterable) -> Iterator:
    """`items` one by one, stepping aside after every STRETCH of them."""
    for index, item in enumerate(items):
        if index and not index % STRETCH:
            yield_core()
        yield item
