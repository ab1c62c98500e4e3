"""The responses localgate served, kept for `previous_response_id` and GET/DELETE.

OpenAI keeps a response's items server-side so that a follow-up can name it
(`previous_response_id`) instead of resending the conversation. An account of
another kind keeps nothing, so localgate keeps them itself — one SQLite file
(`responses.sqlite3`, 0600) in the state dir — and expands the chain before
the request reaches any account. Each row holds one response and only the input
items its own request added, linked to the previous response: a long chain
costs what it says once, not once per turn. Rows go after
`[server] response_store_days`, and the oldest first past `response_store_mb`.

All SQLite work runs on one worker thread, off the event loop, one job after
another in the order asked: a save is queued as the answer ends, and not
awaited (the client never waits for the write); a read queued after it (a
follow-up naming it) runs after the write. Saves gather for SAVE_DELAY and
are written in one transaction: a commit each cost ~76 µs of the worker's
time, and a wake-up of the worker each, on the core the event loop needs
(woken at once, it took them one by one). Any other job (a read) first
queues the write of the saves asked before it. The file is in WAL mode
with NORMAL sync, as the ledger: a save costs no fsync (each took ~2 ms, once
per request, in the default mode); a power cut may lose the last saves, never
the file.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from localgate import jsonwire
from localgate.sqlitefile import open_wal, transaction
from localgate.statedir import StateDir, copy_back

FILENAME = "responses.sqlite3"
MAX_CHAIN = 10_000  # links followed at most (a loop in hand-edited data must end)
PRUNE_EVERY = 64  # saves between two prunes
# Seconds saves gather before one write takes them all: at 1,500 answers a second,
# ~15 rows a transaction; a kill -9 loses at most this much more than the last write.
SAVE_DELAY = 0.01
log = logging.getLogger("localgate")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,     -- epoch seconds
    previous TEXT,             -- the response this one continued, if any
    input TEXT NOT NULL,       -- JSON: the input items this request added
    response TEXT NOT NULL,    -- JSON: the response object as the client got it
    size INTEGER NOT NULL
);
-- Covers pruning: the total size and the oldest ids are read from the index,
-- not from rows whose large JSON lies on overflow pages before `size`.
DROP INDEX IF EXISTS responses_created;
CREATE INDEX IF NOT EXISTS responses_age ON responses (created, size, id);
"""


class ResponseStore:
    """Responses by id, with the chain of items behind each."""

    def __init__(
        self, state_dir: Path, *, days: int, max_mb: float, state: StateDir | None = None
    ) -> None:
        self.path = Path(state_dir) / FILENAME
        self._state = state  # checked before each write: no response goes to a deleted file
        self.days = days
        self.max_bytes = int(max_mb * 1024 * 1024)
        self._db: sqlite3.Connection | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="localgate-responses")
        self._saves = 0
        # Saves not yet written: appended on the loop, taken by the worker's _write;
        # the timer that will queue that write, while one is due.
        self._unsaved: deque[tuple[dict, str | None, list]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    async def _run(self, fn, *args):
        self._write_now()  # the saves asked before this job are written before it
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    def _write_now(self) -> None:
        """Queue the write of the saves gathered (if their timer is due)."""
        if self._timer is None:
            return
        self._timer.cancel()
        self._timer = None
        self._worker.submit(self._write)

    async def start(self) -> bool:
        """Open (or create) the file; False, with the reason logged, when it cannot be."""
        try:
            await self._run(self._open)
        except (OSError, sqlite3.Error) as exc:
            log.error(
                "response store unavailable (%s): previous_response_id is served only by "
                "OpenAI accounts until it can be opened: %s",
                self.path,
                exc,
            )
            return False
        if self._state is not None:
            self._state.keep(self.path, self.reopen)
        return True

    async def reopen(self) -> None:
        """Open the file again after it was deleted (or replaced) under us: a copy of
        what the open connection still holds, or the file put in its place."""
        await self._run(self._reopen)

    async def close(self) -> None:
        if self._state is not None:
            self._state.forget(self.reopen)
        if self._db is not None:
            await self._run(self._db.close)  # after the write of the saves gathered
            self._db = None
        if self._timer is not None:  # a save asked while the file closed: too late
            self._timer.cancel()
            self._timer = None
        self._worker.shutdown(wait=False)

    async def save(self, response: dict, previous: str | None, input_items: list) -> None:
        """Queue `response` (answered to a request that added `input_items` after
        `previous`) to be kept; returns once queued, before the write.

        Queued before anything that may wait: the client has the answer already
        (the gateway writes it first), and a follow-up naming it must find it.
        """
        if self._db is None or not isinstance(response.get("id"), str):
            return
        self._unsaved.append((response, previous, input_items))
        # A save waits for its timer or for the next job asked (_run), whichever
        # comes first; the write takes every save there when it runs.
        if self._timer is not None:
            return
        self._timer = asyncio.get_running_loop().call_later(SAVE_DELAY, self._write_now)
        if self._state is not None:
            # Its file checked once per write, not per save: the saves of the next
            # SAVE_DELAY are written with this one, into the file checked now (one
            # that cannot be recreated the check reports itself).
            await self._state.check(self.path)

    async def chain(self, response_id: str) -> list | None:
        """Every item of the conversation up to and including `response_id`'s output,
        oldest first; None when localgate does not know the id (or lost a link)."""
        return await self._read(self._chain, response_id)

    async def get(self, response_id: str) -> dict | None:
        return await self._read(self._get, response_id)

    async def input_items(self, response_id: str) -> list | None:
        """The items that went into `response_id` (the whole chain before it)."""
        items = await self.chain(response_id)
        if items is None:
            return None
        output = (await self.get(response_id) or {}).get("output") or []
        return items[: len(items) - len(output)]

    async def delete(self, response_id: str) -> bool:
        if self._db is None:
            return False
        if self._state is not None:
            await self._state.check(self.path)  # else the deletion would go to a deleted copy
        return await self._run(self._delete, response_id)

    async def _read(self, fn, response_id: str):
        if self._db is None:
            return None
        try:
            return await self._run(fn, response_id)
        except (sqlite3.Error, ValueError) as exc:
            log.error("could not read response %s: %s", response_id, exc)
            return None

    # -- on the worker thread -------------------------------------------------

    def _open(self) -> None:
        db = open_wal(self.path, check_same_thread=False)
        db.executescript(_SCHEMA)
        self._db = db
        self._prune()

    def _reopen(self) -> None:
        old = self._db
        if old is not None:
            copy_back(old, self.path)
        self._open()
        if old is not None:
            old.close()

    def _write(self) -> None:
        """Every queued save, in one transaction."""
        rows = []
        while self._unsaved:
            response, previous, input_items = self._unsaved.popleft()
            try:
                rows.append(self._row(response, previous, input_items))
            except ValueError as exc:  # a value JSON cannot hold: this save alone is lost
                log.error("could not keep response %s for later turns: %s", response["id"], exc)
        if not rows or self._db is None:  # nothing fit, or closed while the saves waited
            return
        try:
            self._insert(rows)
        except (OSError, sqlite3.Error):
            # A row at fault, or the disk for a moment: each alone, so that one
            # save cannot cost the others theirs (the answers are already out).
            for row in rows:
                try:
                    self._insert([row])
                except (OSError, sqlite3.Error) as exc:
                    log.error("could not keep response %s for later turns: %s", row[0], exc)
        self._saves += len(rows)
        if self._saves >= PRUNE_EVERY:
            self._saves = 0
            try:
                self._prune()
            except (OSError, sqlite3.Error) as exc:  # tried again after the next saves
                log.error("could not forget old responses: %s", exc)

    def _insert(self, rows: list[tuple]) -> None:
        with transaction(self._db):
            self._db.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)", rows)

    @staticmethod
    def _row(response: dict, previous: str | None, input_items: list) -> tuple:
        encoded_input = jsonwire.dumps(input_items).decode()
        encoded = jsonwire.dumps(response).decode()
        size = len(encoded_input) + len(encoded)
        return (response["id"], time.time(), previous, encoded_input, encoded, size)

    def _chain(self, response_id: str) -> list | None:
        levels = []
        seen: set[str] = set()
        current: str | None = response_id
        while current is not None:
            row = self._db.execute(
                "SELECT previous, input, response FROM responses WHERE id = ?", (current,)
            ).fetchone()
            # A link back into the chain: an upstream that answered a follow-up with the
            # id of a response before it (kept, it replaced that one) would otherwise
            # be followed MAX_CHAIN times, a query each.
            if row is None or current in seen or len(levels) >= MAX_CHAIN:
                return None
            seen.add(current)
            previous, items, response = row
            levels.append((jsonwire.loads(items), jsonwire.loads(response).get("output") or []))
            current = previous
        chain: list = []
        for items, output in reversed(levels):
            chain += items + output
        return chain

    def _get(self, response_id: str) -> dict | None:
        row = self._db.execute(
            "SELECT response FROM responses WHERE id = ?", (response_id,)
        ).fetchone()
        return jsonwire.loads(row[0]) if row else None

    def _delete(self, response_id: str) -> bool:
        return self._db.execute("DELETE FROM responses WHERE id = ?", (response_id,)).rowcount > 0

    def _prune(self) -> None:
        self._db.execute(
            "DELETE FROM responses WHERE created < ?", (time.time() - self.days * 86400,)
        )
        total = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM responses").fetchone()[0]
        if total <= self.max_bytes:
            return
        # Oldest first, down to nine tenths of the bound, so a full store is not
        # pruned again on every save.
        excess, freed = total - self.max_bytes * 0.9, 0
        doomed = []
        for response_id, size in self._db.execute(
            "SELECT id, size FROM responses ORDER BY created"
        ):
            if freed >= excess:
                break
            doomed.append((response_id,))
            freed += size
        self._db.executemany("DELETE FROM responses WHERE id = ?", doomed)
