"""The state dir deleted under a running daemon: noticed, recreated, said once.

Every part of the daemon that keeps a file in the state dir registers it here
with how to recreate it: the usage ledger (and the dashboard's reader of it),
the response store, the seal key, the lock and runtime file, the log. Without
this, SQLite writes on into a deleted file without a word (every row after is
lost with it), `localgate status` finds no daemon (and a second one could
start on the same dir), and the seal key and the log live on only where
nobody can read them.

`check()` runs before every write of a SQLite part (so no row goes to a
deleted file; the response store, which writes once a request, checks only
its own file) and once a second (`watch()`) for the others. It recreates the
dir (0700), then each part whose file is gone or is not the one it holds, and
logs one ERROR naming them. A SQLite part copies back what its open connection
still reads of the deleted file (`copy_back`): nothing kept before the
deletion is lost. A file put back in its place by hand is used as it is.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from localgate.files import identity, private_dir, private_file

CHECK_INTERVAL = 1.0  # seconds between two checks of the files nobody writes often
log = logging.getLogger("localgate")

Identity = tuple[int, int] | None  # (device, inode) of a file; None when there is none


def copy_back(db: sqlite3.Connection, path: Path) -> None:
    """Put at `path` a copy of the database `db` has open, unless a file is there.

    A deleted file stays readable to whoever has it open, so the connection
    still reads all of it; SQLite's backup copies it page by page. Call it on
    the thread that owns `db`.
    """
    if path.exists():  # put back by hand: the part adopts that one
        return
    copy = sqlite3.connect(private_file(path))
    try:
        db.backup(copy)
    finally:
        copy.close()


@dataclass
class _Part:
    path: Path
    recreate: Callable[[], Awaitable[None]]
    held: Callable[[], Identity] | None  # the file the part has open (None: cannot tell now)
    made: Identity  # … else the file at `path` when it was last (re)made

    def stale(self) -> bool:
        if self.held is None:
            return identity(self.path) != self.made
        held = self.held()
        return held is not None and identity(self.path) != held


class StateDir:
    """The files the daemon keeps in its state dir, and their recreation."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._parts: list[_Part] = []
        self._lock = asyncio.Lock()
        self._failing: set[Path] = set()  # paths whose recreation failed (said once)

    def keep(
        self,
        path: Path,
        recreate: Callable[[], Awaitable[None]],
        *,
        held: Callable[[], Identity] | None = None,
    ) -> None:
        """Watch the file at `path` (as it is now); `await recreate()` when it is gone
        or replaced. `held()`, when given, says which file the part has open."""
        self._parts.append(_Part(Path(path), recreate, held, identity(path)))

    def forget(self, recreate: Callable[[], Awaitable[None]]) -> None:
        """Stop watching what `recreate` was kept with (its part closed)."""
        self._parts = [part for part in self._parts if part.recreate != recreate]

    async def check(self, path: Path | None = None) -> None:
        """Recreate every watched file that is gone or replaced; say so once.

        With `path`, only the parts kept there: a part about to write checks its
        own file (a stat or two) rather than every file of the dir, once per request.
        """
        async with self._lock:
            stale: dict[Path, list[_Part]] = {}  # a path's parts in the order they came
            for part in self._parts:
                if (path is None or part.path == path) and part.stale():
                    stale.setdefault(part.path, []).append(part)
            if not stale:
                return
            recreated: list[Path] = []
            failed: dict[Path, Exception] = {}
            for path, parts in stale.items():
                try:
                    private_dir(self.path)
                    for part in parts:  # the ledger's reader after the ledger
                        await part.recreate()
                        part.made = identity(path)
                except Exception as exc:  # the disk refuses: tried again at the next check
                    failed[path] = exc
                else:
                    recreated.append(path)
            if recreated:
                log.error(
                    "%s deleted while localgate ran: recreated each from what localgate "
                    "still held of it, and going on",
                    _names(recreated),
                )
            news = {path: exc for path, exc in failed.items() if path not in self._failing}
            if news:  # once per outage, not every second
                log.error(
                    "%s deleted while localgate ran and cannot be recreated yet "
                    "(tried again every second): %s",
                    _names(news),
                    next(iter(news.values())),
                )
            self._failing = (self._failing | set(failed)) - set(recreated)

    async def watch(self, interval: float = CHECK_INTERVAL) -> None:
        """Check every `interval` seconds, until cancelled."""
        while True:
            await asyncio.sleep(interval)
            await self.check()


def _names(paths) -> str:
    return ", ".join(str(path) for path in paths)
