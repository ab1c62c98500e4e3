"""The daemon's side of the ledger: an event observer that only appends, a writer thread.

The gateway's events arrive on the event loop; `Ledger.__call__` turns each
into a tuple and appends it to a list (nothing else happens on the request
path). A background task swaps the list out every `interval` seconds (or as
soon as `batch` rows wait) and hands it to a single worker thread that owns
the SQLite connection and writes the batch in one transaction. The same
thread saves the pool's state whenever it changed, and deletes rows past the
retention. `close` (the app's cleanup, after graceful shutdown drained the
requests) writes what is left.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localgate.events import AttemptFailed, LimitsObserved, RequestDone
from localgate.ledger.store import POOL_STATE, LedgerStore
from localgate.pool.quota import DAY, local_midnight
from localgate.providers.ratelimit import MAX_COUNT
from localgate.sharing import paced
from localgate.statedir import StateDir

log = logging.getLogger("localgate")
# Seconds between flushes: a kill -9 loses the rows of requests that ended in the
# last FLUSH_INTERVAL (plus the write under way). Was 1.0; 0.25 measured no
# different in daemon CPU per request (0.66-0.70 ms vs 0.64-0.68 at 240 req/s),
# since the write runs on the writer thread and an idle daemon skips the flush.
FLUSH_INTERVAL = 0.25
FLUSH_BATCH = 512  # rows that make the writer flush before the interval is up
PRUNE_INTERVAL = 3600.0  # seconds between retention sweeps
MAX_PENDING = 200_000  # rows kept in memory while the disk refuses them
# Errors that belong to one row (a value SQLite cannot hold, a missing column),
# not to the disk: that row is dropped, the rest of its batch written.
_ROW_ERRORS = (
    OverflowError,
    ValueError,  # UnicodeEncodeError among them
    TypeError,
    sqlite3.InterfaceError,
    sqlite3.IntegrityError,
    sqlite3.ProgrammingError,
    sqlite3.DataError,
)


def _stored(value):
    """An integer SQLite can hold (0 … 2^63-1); anything else as it is."""
    # Compared rather than min(max(…)), which cost ~0.5 µs a value (seven a row).
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            return 0
        if value > MAX_COUNT:
            return MAX_COUNT
    return value


def request_row(event: RequestDone, failed: list[str] | None = None) -> tuple:
    """A RequestDone as a `requests` row (REQUEST_COLUMNS order); `failed`: the
    accounts whose attempt at it failed before one served (or none did)."""
    usage = event.usage
    return (
        event.started_wall,
        event.request_id,
        event.account,
        event.provider,
        event.model,
        event.model_used,
        event.dialect,
        event.op,
        int(event.stream),
        _stored(event.status),
        _stored(usage.input_tokens),
        _stored(usage.output_tokens),
        _stored(usage.cache_read_tokens),
        _stored(usage.cache_creation_tokens),
        event.latency,
        event.ttfb,
        _stored(event.attempts),
        _stored(event.fallback_depth),
        int(event.client_gone),
        event.error,
        json.dumps(failed) if failed else None,
        # Counted by localgate (lengths, events), the seconds bounded where they were read.
        usage.images,
        usage.audio_seconds,
        usage.speech_characters,
    )


class Ledger:
    """Observer of gateway events and owner of the writer thread; see the module doc."""

    def __init__(
        self,
        path: Path,
        *,
        retention_days: float = 90,
        interval: float = FLUSH_INTERVAL,
        batch: int = FLUSH_BATCH,
        state: StateDir | None = None,
    ) -> None:
        self.path = Path(path)
        self._state = state  # checked before each write: no row goes to a deleted file
        self.retention = retention_days * DAY
        self.interval = interval
        self.batch = batch
        # RequestDone events (made rows on the writer thread, off the request
        # path) and rows a failed write gave back.
        self._rows: list[RequestDone | tuple] = []
        self._failed: dict[str, list[str]] = {}  # request id → accounts that failed it
        self._limits: dict[tuple[str, str, str], tuple] = {}
        self._store: LedgerStore | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._pool = None
        self._pool_changes = -1
        self._open = False
        self._failing = False  # the last write failed: its log line is out
        self.written = 0  # rows written since start, for tests and logs

    @property
    def active(self) -> bool:
        return self._open

    # -- the observer (event loop, O(1)) ------------------------------------

    def __call__(self, event: object) -> None:
        if not self._open:
            return
        if isinstance(event, RequestDone):
            failed = self._failed.pop(event.request_id, None)
            # Rows are made on the writer thread, but for the rare request that
            # failed over: its row carries the accounts that failed.
            self._rows.append(request_row(event, failed) if failed else event)
            if len(self._rows) >= self.batch and self._wake is not None:
                self._wake.set()
            if event.account is not None and self._pool is not None:
                # "today" counts what this row counts, so a restart does not change it.
                self._pool.served(event.account, event.usage.total)
        elif isinstance(event, AttemptFailed):
            if len(self._failed) >= MAX_PENDING:  # a request that never ended: forget it
                self._failed.pop(next(iter(self._failed)))
            self._failed.setdefault(event.request_id, []).append(event.account)
        elif isinstance(event, LimitsObserved):
            for s in event.snapshots:
                key = (event.account, event.model, s.dimension)
                figures = (_stored(s.limit), _stored(s.remaining), s.reset_at, s.observed_at)
                self._limits[key] = (*key, *figures)

    # -- lifecycle ------------------------------------------------------------

    async def start(self) -> bool:
        """Open the file and start writing; False (logged) when the ledger cannot be used."""
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="localgate-ledger")
        try:
            self._store = await self._run(LedgerStore.open, self.path)
            now = time.time()
            await self._run(self._store.prune, now - self.retention, now)
        except Exception as exc:  # sqlite3.Error, OSError: serve on without a ledger
            log.error("usage ledger disabled: cannot open %s: %s", self.path, exc)
            await self._close_store()  # opened, then the prune failed: nothing half-open
            self._executor.shutdown(wait=False)
            self._executor = None
            return False
        self._wake, self._lock = asyncio.Event(), asyncio.Lock()
        self._open = True
        if self._state is not None:
            self._state.keep(self.path, self.reopen)
        self._task = asyncio.create_task(self._loop())
        return True

    def watch(self, pool) -> None:
        """Save `pool`'s state (`export`) whenever its `changes` counter moves."""
        self._pool = pool

    async def restore(self, pool) -> None:
        """Give `pool` back what the ledger knows: rests, invalid marks, figures, counts."""
        if self._store is None:
            return
        known = await self._run(_read_back, self._store, time.time())
        apply_known(pool, known)
        self._pool_changes = pool.changes

    async def flush(self) -> None:
        """Write everything queued now (rows, figures, a changed pool state).

        A row SQLite cannot hold is dropped (logged) and the rest written; when
        the disk refuses, everything not written is queued again.
        """
        if self._store is None or self._lock is None:
            return
        async with self._lock:
            state = self._pool_state()
            rows, self._rows = self._rows, []
            limits, self._limits = list(self._limits.values()), {}
            if not (rows or limits or state):
                return
            try:
                if self._state is not None:
                    await self._state.check()
                outcome = await self._run(write_batch, self._store, rows, limits, state)
            except Exception as exc:  # no file to write to, or the executor failed: keep it all
                outcome = Outcome(rows_left=rows, limits_left=limits, state_left=bool(state))
                outcome.error = exc
            self.written += outcome.written
            if outcome.dropped:
                log.error(
                    "usage ledger: dropped %d row(s) it cannot store (first: %s)",
                    len(outcome.dropped),
                    outcome.dropped[0],
                )
            if outcome.error is None:
                self._failing = False
                return
            if not self._failing:  # once per outage, not every second
                log.error(
                    "usage ledger: cannot write %d row(s), will retry: %s",
                    len(outcome.rows_left),
                    outcome.error,
                )
                self._failing = True
            if len(outcome.rows_left) + len(self._rows) <= MAX_PENDING:
                self._rows[:0] = outcome.rows_left
            for figure in outcome.limits_left:
                self._limits.setdefault(tuple(figure[:3]), figure)  # a newer figure wins
            if outcome.state_left:
                self._pool_changes = -1

    async def reopen(self) -> None:
        """Open the ledger file again after it was deleted (or replaced) under us: a
        copy of what the open connection still holds, or the file put in its place.

        Raises when it cannot; the rows then wait in memory like any refused write.
        """
        store = self._store
        if store is None:
            return
        await self._run(store.copy_back)
        self._store = await self._run(LedgerStore.open, self.path)
        await self._run(store.close)
        self._pool_changes = -1  # a file put back by hand needs the pool's state too

    def _pool_state(self) -> tuple[str, str, float] | None:
        """The watched pool's state to save when it changed; None when not (or on a bug)."""
        pool = self._pool
        if pool is None or pool.changes == self._pool_changes:
            return None
        self._pool_changes = pool.changes
        try:
            value = json.dumps(pool.export())
        except Exception:  # a bug here must not cost the usage rows their write
            log.exception("usage ledger: cannot save the pool's state")
            return None
        return (POOL_STATE, value, time.time())

    async def close(self) -> None:
        """Stop the loop, write what is left, close the file and the thread."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._open:
            await self.flush()
            self._open = False
        if self._state is not None:
            self._state.forget(self.reopen)
        await self._close_store()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def _close_store(self) -> None:
        store, self._store = self._store, None
        if store is None:
            return
        try:
            await self._run(store.close)
        except Exception as exc:  # at shutdown: say so, do not raise into the app's cleanup
            log.error("usage ledger: cannot close %s: %s", self.path, exc)

    async def _loop(self) -> None:
        assert self._wake is not None
        next_prune = time.monotonic() + PRUNE_INTERVAL
        while True:
            try:
                # Not wait_for: that would start a new task every interval.
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                # Shielded: `close` cancels this loop, and a flush cut mid-way would
                # lose the rows it took (or their count, the thread writing them on).
                # Its own flush then waits for this one (the lock) and writes the rest.
                await asyncio.shield(self.flush())
                if time.monotonic() >= next_prune and self._store is not None:
                    next_prune = time.monotonic() + PRUNE_INTERVAL
                    now = time.time()
                    await self._run(self._store.prune, now - self.retention, now)
            except Exception:  # keep the loop alive whatever the disk does
                log.exception("usage ledger: writer error")

    def _run(self, fn, *args):
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)


@dataclass
class Outcome:
    """What `write_batch` did: rows written, rows dropped, and what is left to retry."""

    written: int = 0
    dropped: list[str] = field(default_factory=list)  # why, per dropped row
    rows_left: list[tuple] = field(default_factory=list)
    limits_left: list[tuple] = field(default_factory=list)
    state_left: bool = False
    error: Exception | None = None  # the disk's refusal; what is left waits for a retry


def write_batch(
    store: LedgerStore, rows: list[RequestDone | tuple], limits: list[tuple], state: tuple | None
) -> Outcome:
    """Write a batch in one transaction; if a row in it cannot be stored, row by row.

    Row by row, a row SQLite refuses (`_ROW_ERRORS`) is dropped; any other
    error (disk full, locked) stops there and leaves the rest for a retry. A
    finished request that cannot even be made a row (a bug of ours) is dropped
    and said: kept, it would come back in every retry and stop the ledger.
    Runs on the writer thread.
    """
    # Paced (localgate.sharing): a whole batch at once kept the loop off the core for
    # milliseconds, the c=1 p99 ~2.3 ms against ~0.55 ms paced (docs/benchmarks.md,
    # round ten). Pacing inside one transaction loses no throughput; a transaction
    # per stretch helped less.
    made, unmade = [], []
    for row in paced(rows):
        try:
            made.append(row if isinstance(row, tuple) else request_row(row))
        except Exception as exc:
            unmade.append(f"request: {type(exc).__name__}: {exc}"[:200])
    rows = made
    try:
        store.write(paced(rows), limits, state)  # one transaction, paced as it goes
        return Outcome(written=len(rows), dropped=unmade)
    except _ROW_ERRORS:
        pass  # find the bad rows below
    except Exception as exc:  # nothing was written: all of it waits
        return Outcome(
            dropped=unmade, rows_left=rows, limits_left=limits, state_left=bool(state), error=exc
        )
    items = [("request", r) for r in rows] + [("figure", f) for f in limits]
    items += [("state", state)] if state else []
    outcome = Outcome(dropped=unmade)
    for index, (kind, item) in enumerate(items):
        try:
            if kind == "request":
                store.write([item])
            elif kind == "figure":
                store.write([], [item])
            else:
                store.write([], [], item)
        except _ROW_ERRORS as exc:
            outcome.dropped.append(f"{kind}: {type(exc).__name__}: {exc}"[:200])
        except Exception as exc:
            outcome.error = exc
            rest = items[index:]
            outcome.rows_left = [x for k, x in rest if k == "request"]
            outcome.limits_left = [x for k, x in rest if k == "figure"]
            outcome.state_left = any(k == "state" for k, _ in rest)
            break
        else:
            outcome.written += kind == "request"
    return outcome


def _read_back(store: LedgerStore, now_wall: float) -> dict[str, Any]:
    """What a restarting daemon (or the CLI without one) takes from the ledger."""
    saved = store.load_state(POOL_STATE)
    return {
        "state": saved[0] if saved else None,
        "saved_at": saved[1] if saved else None,
        "limits": store.limits(now_wall),
        "buckets": store.minute_buckets(now_wall - DAY),
        "today": store.totals_since(local_midnight(now_wall)),
    }


def read_back(store: LedgerStore, now_wall: float | None = None) -> dict[str, Any]:
    """Everything the ledger knows for a pool: saved state, figures, recent counts."""
    return _read_back(store, time.time() if now_wall is None else now_wall)


def apply_known(pool, known: dict[str, Any]) -> None:
    """Restore `read_back`'s result into `pool` (accounts it does not know are skipped)."""
    if known.get("state"):
        pool.restore(known["state"])
    by_model: dict[tuple[str, str], list] = {}
    for account, model, snapshot in known.get("limits", ()):
        by_model.setdefault((account, model), []).append(snapshot)
    for (account, model), snapshots in by_model.items():
        pool.observe(account, model, snapshots, count=False)
    today = known.get("today", {})
    for account, buckets in known.get("buckets", {}).items():
        pool.seed_usage(account, buckets, today.get(account, (0, 0)))
