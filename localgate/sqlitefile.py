"""The SQLite files localgate keeps (the usage ledger, the response store), opened one way.

Each is written by one background thread while the CLI may read it, so each
is in WAL mode with NORMAL sync: a write costs no fsync, and a power cut may
lose the last writes, never the file. Each is private (0600, files.py).
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

from localgate.files import private_file

CACHE_KB = 256  # each connection's page cache


def open_wal(path: Path, **options) -> sqlite3.Connection:
    """A connection to the file at `path` (created 0600 when missing), in WAL mode,
    autocommit (`isolation_level=None`: transactions are begun by hand);
    `options` go to `sqlite3.connect`."""
    # sqlite3 binds int, float, str and bytearray at once; anything else, None
    # included, is first offered to the adapters. With none registered for None
    # that is two failed attribute lookups, each formatting an AttributeError
    # message: ~0.5 µs per None bound (measured), and a ledger row binds two to
    # five. An adapter that hands None back binds it in a third of that. It is
    # process-wide and changes only the time: None is NULL either way.
    sqlite3.register_adapter(type(None), _as_is)
    db = sqlite3.connect(private_file(Path(path)), isolation_level=None, **options)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # SQLite's page cache is 2 MB a connection by default, and the daemon
        # keeps three (ledger writer and reader, response store): filled by use,
        # kept for the daemon's life. Their writes append and their reads are
        # small or whole scans, which 256 KB serves as well: after a load the
        # daemon held 49.7 MB against 53.4, at the same req/s (round nineteen).
        db.execute(f"PRAGMA cache_size={-CACHE_KB}")
    except sqlite3.Error:
        db.close()
        raise
    return db


@contextmanager
def transaction(db: sqlite3.Connection):
    """One transaction on `db` (opened by `open_wal`), committed when the block ends.

    The write lock is taken at BEGIN (IMMEDIATE): two processes upgrading the
    same old file must not both change it. When the block or the commit fails,
    it is rolled back (unless SQLite already did, as on a full disk), so the
    connection is ready for the next one.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _as_is(value):
    return value
