"""Reading the ledger while the daemon writes it: its own connection on its own thread.

The dashboard's queries must not wait behind the writer's batches (nor make
the writer wait): WAL lets a second connection read while the first writes,
and one worker thread keeps that connection to itself, as SQLite requires.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from localgate.ledger.store import LedgerStore


class LedgerReader:
    """`await reader.run(LedgerStore.series, buckets, "account")`; None when there is no ledger."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._executor: ThreadPoolExecutor | None = None
        self._store: LedgerStore | None = None

    async def run(self, query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any | None:
        """`query(store, *args, **kwargs)` on the reader thread; None while there is no ledger."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="localgate-ledger-reader")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._query, query, args, kwargs)

    def _query(self, query, args, kwargs):
        store = self._store  # once: `reopen` may let go of it meanwhile (closed after this)
        if store is None:
            store = self._store = LedgerStore.open_existing(self.path)
            if store is None:
                return None
        return query(store, *args, **kwargs)

    async def reopen(self) -> None:
        """Let go of the file read so far (it was deleted or replaced): the next
        query opens the one at `path`."""
        store, self._store = self._store, None
        if store is not None and self._executor is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, store.close)

    async def close(self) -> None:
        """Close the connection on its thread, then the thread."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        store, self._store = self._store, None
        if store is not None:
            await asyncio.get_running_loop().run_in_executor(executor, store.close)
        executor.shutdown(wait=True)
