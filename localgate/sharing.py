"""Background threads that share a core with the event loop.

The daemon's log writer (formatting lines) and ledger writer (making and
binding rows) run Python, so they hold the GIL, and on a laptop's busy core
(or a benchmark's pinned one) they hold the core too. Left to run, a writer
keeps it for its whole time slice or its whole batch, and a request that
arrives meanwhile waits for it: at concurrency 1 that was the daemon's p99
(docs/benchmarks.md, rounds six and ten). So each writer works in short
stretches and gives the core back between them, while the loop has idle time
to give: once the loop is saturated, stepping aside shortens no request's wait
(they queue for the loop anyway) and only costs context switches, ~4 a pause,
which were most of small chat's gap to the bare relay (round fourteen).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator

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
# The share of a PERIOD the loop's thread spent running above which it counts as
# saturated. Measured on the benchmark's pinned core: ~0.95 under a load it cannot
# keep up with (the writers take the rest), 0.68-0.78 at concurrency 1.
SATURATED = 0.9
PERIOD = 0.25  # seconds between two looks at the loop's load (as often as the ledger flushes)


class LoopLoad:
    """How busy the event loop's thread is, as `watch` last measured it."""

    def __init__(self) -> None:
        self.busy = 0.0  # share of the last period the loop's thread ran
        self.saturated = False  # read by the writer threads: one attribute, no lock
        self.samples = 0

    async def watch(self, *, cpu=time.thread_time, clock=time.monotonic) -> None:
        """Measure the loop's load every PERIOD until cancelled. Runs on the loop:
        `thread_time` is the CPU time of the thread that calls it."""
        try:
            before = cpu(), clock()
            while True:
                await asyncio.sleep(PERIOD)
                now = cpu(), clock()
                elapsed = now[1] - before[1]
                self.busy = (now[0] - before[0]) / elapsed if elapsed > 0 else 0.0
                self.saturated = self.busy >= SATURATED
                self.samples += 1
                before = now
        finally:
            self.saturated = False  # no watcher, no claim: the writers pace again


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
