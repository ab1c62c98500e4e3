"""Background threads that share a core with the event loop.

The daemon's log writer (formatting lines) and ledger writer (making and
binding rows) run Python, so they hold the GIL, and on a laptop's busy core
(or a benchmark's pinned one) they hold the core too. Left to run, a writer
keeps it for its whole time slice or its whole batch, and a request that
arrives meanwhile waits for it: at concurrency 1 that was the daemon's p99
(docs/benchmarks.md, rounds six and ten). So each writer works in short
stretches and gives the core back between them.
"""

from __future__ import annotations

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


def yield_core() -> None:
    """Step aside for whatever else wants this core: the event loop, first of all."""
    time.sleep(PAUSE)


def paced(items: Iterable) -> Iterator:
    """`items` one by one, stepping aside after every STRETCH of them."""
    for index, item in enumerate(items):
        if index and not index % STRETCH:
            yield_core()
        yield item
