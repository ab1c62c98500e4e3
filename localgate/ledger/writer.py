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
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from localgate.events import LimitsObserved, RequestDone
from localgate.ledger.store import POOL_STATE, LedgerStore
from localgate.pool.quota import DAY, local_midnight

log = logging.getLogger("localgate")
FLUSH_INTERVAL = 1.0  # seconds: at most this much usage is lost to a crash
FLUSH_BATCH = 512  # rows that make the writer flush before the interval is up
PRUNE_INTERVAL = 3600.0  # seconds between retention sweeps
MAX_PENDING = 200_000  # rows kept in memory while the disk refuses them


def request_row(event: RequestDone) -> tuple:
    """A RequestDone as a `requests` row (REQUEST_COLUMNS order)."""
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
        event.status,
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_creation_tokens,
        event.latency,
        event.ttfb,
        event.attempts,
        event.fallback_depth,
        int(event.client_gone),
        event.error,
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
    ) -> None:
        self.path = Path(path)
        self.retention = retention_days * DAY
        self.interval = interval
        self.batch = batch
        self._rows: list[tuple] = []
        self._limits: dict[tuple[str, str, str], tuple] = {}
        self._store: LedgerStore | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._pool = None
        self._pool_changes = -1
        self._open = False
        self.written = 0  # rows written since start, for tests and logs

    @property
    def active(self) -> bool:
        return self._open

    # -- the observer (event loop, O(1)) ------------------------------------

    def __call__(self, event: object) -> None:
        if not self._open:
            return
        if isinstance(event, RequestDone):
            self._rows.append(request_row(event))
            if len(self._rows) >= self.batch and self._wake is not None:
                self._wake.set()
        elif isinstance(event, LimitsObserved):
            for s in event.snapshots:
                key = (event.account, event.model, s.dimension)
                self._limits[key] = (*key, s.limit, s.remaining, s.reset_at, s.observed_at)

    # -- lifecycle ------------------------------------------------------------

    async def start(self) -> bool:
        """Open the file and start writing; False (logged) when the ledger cannot be used."""
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="localgate-ledger")
        try:
            self._store = await self._run(LedgerStore.open, self.path)
            await self._run(self._store.prune, time.time() - self.retention)
        except Exception as exc:  # sqlite3.Error, OSError: serve on without a ledger
            log.error("usage ledger disabled: cannot open %s: %s", self.path, exc)
            self._executor.shutdown(wait=False)
            self._executor = None
            return False
        self._wake, self._lock = asyncio.Event(), asyncio.Lock()
        self._open = True
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
        """Write everything queued now (rows, figures, a changed pool state)."""
        if self._store is None or self._lock is None:
            return
        async with self._lock:
            rows, self._rows = self._rows, []
            limits, self._limits = list(self._limits.values()), {}
            state = None
            if self._pool is not None and self._pool.changes != self._pool_changes:
                self._pool_changes = self._pool.changes
                state = (POOL_STATE, json.dumps(self._pool.export()), time.time())
            if not (rows or limits or state):
                return
            try:
                await self._run(self._store.write, rows, limits, state)
            except Exception as exc:
                log.error("usage ledger: cannot write %d row(s), will retry: %s", len(rows), exc)
                if len(rows) + len(self._rows) <= MAX_PENDING:
                    self._rows[:0] = rows
                self._pool_changes = -1
                return
            self.written += len(rows)

    async def close(self) -> None:
        """Stop the loop, write what is left, close the file and the thread."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._open:
            await self.flush()
            self._open = False
        if self._store is not None:
            await self._run(self._store.close)
            self._store = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

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
                await self.flush()
                if time.monotonic() >= next_prune and self._store is not None:
                    next_prune = time.monotonic() + PRUNE_INTERVAL
                    await self._run(self._store.prune, time.time() - self.retention)
            except Exception:  # keep the loop alive whatever the disk does
                log.exception("usage ledger: writer error")

    def _run(self, fn, *args):
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)


def _read_back(store: LedgerStore, now_wall: float) -> dict[str, Any]:
    """What a restarting daemon (or the CLI without one) takes from the ledger."""
    saved = store.load_state(POOL_STATE)
    return {
        "state": saved[0] if saved else None,
        "saved_at": saved[1] if saved else None,
        "limits": store.limits(),
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
