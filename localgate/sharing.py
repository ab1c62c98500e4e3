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

import os
import sys
import threading
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


# The scheduling priority (nice) of the writer threads, Linux only: the lowest. At
# the default, a writer woken from its pause or by the GIL preempted the loop's
# thread at once (0.6 times a request at c=32), only to wait for the GIL the loop
# held: 1.3 context switches a request in all, against 0.45 at 19, and 5-9% less
# CPU a request (docs/benchmarks.md, round thirteen; nice 5 and 10 changed nothing).
# A writer still runs whenever the loop waits, and on any other core; one that falls
# behind writes a bigger batch. The price is at concurrency 1: a request's arrival now
# preempts a writer that may hold the GIL, ~5% more CPU a request, the same latency.
WRITER_NICE = 19


def lower_priority() -> None:
    """Give the calling (writer) thread the lowest scheduling priority, so that it
    does not take the core from the event loop. Linux sets it per thread; elsewhere,
    where it would set the whole process's, nothing is done."""
    if sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICE)
    except OSError:  # a sandbox that forbids it: the writer runs as before
        pass


def yield_core() -> None:
    """Step aside for whatever else wants this core: the event loop, first of all."""
    time.sleep(PAUSE)


def paced(items: Iterable) -> Iterator:
    """`items` one by one, stepping aside after every STRETCH of them."""
    for index, item in enumerate(items):
        if index and not index % STRETCH:
            yield_core()
        yield item
