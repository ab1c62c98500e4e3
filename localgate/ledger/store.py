"""The usage ledger on disk: one SQLite file (WAL) in the state dir.

Tables (`schema.py`): `requests` (one row per client request), `usage_quarters` (their
sums per quarter hour, added by each write: `rollup.py`), `limits` (the
provider's last figures per account, model and dimension) and `state` (the
pool's invalid marks and rests, as `Pool.export` writes them). A `LedgerStore` is a
plain blocking object: the daemon uses it from one worker thread only
(`localgate.ledger.writer`), the CLI directly.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localgate.ledger import rollup
from localgate.ledger.schema import (  # noqa: F401 (_SCHEMA, SCHEMA_VERSION: for tests)
    _SCHEMA,
    REQUEST_COLUMNS,
    SCHEMA_VERSION,
    upgrade,
)
from localgate.providers.ratelimit import (
    FIGURE_LIFETIME,
    RESET_FUTURE,
    LimitSnapshot,
    sane_reset,
)
from localgate.sqlitefile import open_wal, transaction
from localgate.statedir import copy_back

LEDGER_FILENAME = "ledger.sqlite3"
POOL_STATE = "pool"
# A stream that broke after its first bytes: it kept its 200 and carries the error.
_BROKEN = "stream AND status < 400 AND error IS NOT NULL AND NOT client_gone"
_INSERT = (
    f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(REQUEST_COLUMNS))})"
)
# When a `limits` row stops meaning anything (LimitSnapshot.expires_at, in SQL).
_EXPIRES = "COALESCE(reset_at, observed_at + ?)"
_MEDIA_SUMS = ", ".join(f"SUM({m})" for m in rollup.MEDIA)
_TOKENS = "input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens"
# --by KEY -> the SQL expression rows are grouped on
GROUPINGS = {
    "account": "COALESCE(account, '-')",
    "model": "COALESCE(model_used, model, '-')",
    "day": "date(ts, 'unixepoch', 'localtime')",
}


@dataclass(frozen=True)
class UsageRow:
    """Requests, tokens and media use of one group (an account, a model, a day)."""

    key: str
    requests: int
    errors: int  # requests that ended with status >= 400 or a client that went away
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    broken_streams: int = 0  # streams that broke after their first bytes
    failed_attempts: int = 0  # attempts that failed over to another account
    images: int = 0  # final images answered
    audio_seconds: float = 0.0  # audio transcribed or translated, where the answer said
    speech_characters: int = 0  # characters sent to be spoken

    @property
    def tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_creation_tokens
        )


def ledger_path(state_dir: Path) -> Path:
    """Where the ledger of a state dir lives."""
    return Path(state_dir) / LEDGER_FILENAME


class LedgerStore:
    """One connection to the ledger file; use it from a single thread."""

    def __init__(self, connection: sqlite3.Connection, path: Path):
        self._db = connection
        self.path = path

    def copy_back(self) -> None:
        """Put at `path` what this connection still holds of its deleted file
        (statedir.copy_back); nothing when a file is there."""
        copy_back(self._db, self.path)

    @classmethod
    def open(cls, path: Path) -> LedgerStore:
        """Open (creating it and its directory when missing) the ledger at `path`."""
        # SQLite gives its -wal and -shm files the database file's mode (0600).
        db = open_wal(path, timeout=5.0)
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                upgrade(db)
        except sqlite3.Error:
            db.close()
            raise
        return cls(db, Path(path))

    @classmethod
    def open_existing(cls, path: Path) -> LedgerStore | None:
        """Open the ledger at `path` if there is one (for readers such as the CLI)."""
        return cls.open(path) if Path(path).is_file() else None

    def close(self) -> None:
        self._db.close()

    # -- writing ------------------------------------------------------------

    def write(
        self,
        requests: Iterable[tuple],
        limits: list[tuple] = (),
        state: tuple[str, str, float] | None = None,
    ) -> None:
        """One transaction: request rows (REQUEST_COLUMNS order), limit rows, a state value.

        `requests` may be an iterator: it is consumed as its rows are written
        (the daemon's writer paces itself there: localgate.sharing).
        """
        with transaction(self._db):
            last = rollup.last_row(self._db)
            if self._db.executemany(_INSERT, requests).rowcount:
                rollup.add(self._db, last)
            if limits:
                self._db.executemany(
                    'INSERT OR REPLACE INTO limits (account, model, dimension, "limit", '
                    "remaining, reset_at, observed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    limits,
                )
            if state is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO state (key, value, saved_at) VALUES (?, ?, ?)", state
                )

    def prune(self, before_wall: float, now_wall: float | None = None) -> int:
        """Delete request rows older than `before_wall`; how many went.

        With `now_wall`, also the provider figures that expired by then (their
        reset passed, or, without one, their short lifetime did) or were
        observed before `before_wall`.
        """
        with transaction(self._db):
            gone = self._db.execute("DELETE FROM requests WHERE ts < ?", (before_wall,)).rowcount
            rollup.prune(self._db, before_wall)
            if now_wall is not None:
                self._db.execute(
                    f"DELETE FROM limits WHERE {_EXPIRES} <= ? OR observed_at < ? OR reset_at > ?",
                    (FIGURE_LIFETIME, now_wall, before_wall, now_wall + RESET_FUTURE),
                )
            return gone

    # -- reading ------------------------------------------------------------

    def usage(self, since_wall: float, by: str = "account") -> list[UsageRow]:
        """Requests, tokens, broken streams and failed attempts since `since_wall`,
        grouped by account, model or day.

        By account, a failed attempt counts for the account that failed (which
        may have served nothing); by model or day, for the request's group.
        """
        group = GROUPINGS[by]  # KeyError for an unknown grouping: a programming error
        rows = self._db.execute(
            f"SELECT {group} AS key, COUNT(*), "
            "SUM(CASE WHEN status >= 400 OR client_gone THEN 1 ELSE 0 END), "
            "SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), "
            f"SUM(cache_creation_tokens), SUM(CASE WHEN {_BROKEN} THEN 1 ELSE 0 END), "
            f"{_MEDIA_SUMS} FROM requests WHERE ts >= ? GROUP BY key",
            (since_wall,),
        ).fetchall()
        if by == "account":
            failed_sql = (
                "SELECT failure.value, COUNT(*) FROM requests, json_each(requests.failed) "
                "AS failure WHERE ts >= ? AND failed IS NOT NULL GROUP BY failure.value"
            )
        else:
            failed_sql = (
                f"SELECT {group} AS key, SUM(json_array_length(failed)) FROM requests "
                "WHERE ts >= ? AND failed IS NOT NULL GROUP BY key"
            )
        failed = {str(k): int(n or 0) for k, n in self._db.execute(failed_sql, (since_wall,))}
        counts = {str(key): [rollup.figure(v) for v in rest] for key, *rest in rows}
        for key in failed.keys() - counts.keys():  # an account that only ever failed
            counts[key] = [0] * 10
        return [
            UsageRow(
                key,
                *counts[key][:6],
                broken_streams=counts[key][6],
                failed_attempts=failed.get(key, 0),
                images=counts[key][7],
                audio_seconds=float(counts[key][8]),
                speech_characters=counts[key][9],
            )
            for key in sorted(counts)
        ]

    def series(self, buckets, by: str = "account", **only) -> list[rollup.Cell]:
        """Sums per (bucket, account or model) from the rollup; see `rollup.series`."""
        return rollup.series(self._db, buckets, by, **only)

    def count(self) -> int:
        """How many request rows the ledger holds."""
        return self._db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]

    def minute_buckets(self, since_wall: float) -> dict[str, list[tuple[float, int, int]]]:
        """Per account, (time, requests, tokens) of each minute since `since_wall`, oldest first.

        The time is the minute's last request, not its start: a restored count
        must not leave the rpm window before the requests in it would have
        (up to a minute early, letting a burst through after a restart).
        """
        rows = self._db.execute(
            f"SELECT account, CAST(ts / 60 AS INTEGER) AS minute, MAX(ts), COUNT(*), "
            f"SUM({_TOKENS}) FROM requests WHERE ts >= ? AND account IS NOT NULL "
            "GROUP BY account, minute ORDER BY minute",
            (since_wall,),
        ).fetchall()
        buckets: dict[str, list[tuple[float, int, int]]] = {}
        for account, _, last, requests, tokens in rows:
            buckets.setdefault(account, []).append((float(last), requests, int(tokens or 0)))
        return buckets

    def totals_since(self, since_wall: float) -> dict[str, tuple[int, int]]:
        """Per account, (requests, tokens) since `since_wall`."""
        rows = self._db.execute(
            f"SELECT account, COUNT(*), SUM({_TOKENS}) FROM requests "
            "WHERE ts >= ? AND account IS NOT NULL GROUP BY account",
            (since_wall,),
        ).fetchall()
        return {account: (requests, int(tokens or 0)) for account, requests, tokens in rows}

    def limits(self, now_wall: float | None = None) -> list[tuple[str, str, LimitSnapshot]]:
        """(account, model, figure) of every provider figure kept; with `now_wall`, unexpired."""
        where, args = ("", ()) if now_wall is None else (f"WHERE {_EXPIRES} > ? ", (now_wall,))
        rows = self._db.execute(
            'SELECT account, model, dimension, "limit", remaining, reset_at, observed_at '
            f"FROM limits {where}ORDER BY account, model, dimension",
            (FIGURE_LIFETIME, *args) if where else (),
        ).fetchall()
        figures = [
            # A reset no date can show (stored before readers dropped them) is no reset.
            (a, m, LimitSnapshot(d, lim, rem, sane_reset(reset, seen), seen))
            for a, m, d, lim, rem, reset, seen in rows
        ]
        if now_wall is None:
            return figures
        return [(a, m, s) for a, m, s in figures if s.expires_at > now_wall]

    def load_state(self, key: str = POOL_STATE) -> tuple[Any, float] | None:
        """(value, saved_at) of a saved state, or None (also for unreadable JSON)."""
        row = self._db.execute("SELECT value, saved_at FROM state WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0]), row[1]
        except ValueError:
            return None
