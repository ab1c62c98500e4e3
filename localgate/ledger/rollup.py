"""Usage over time: the ledger's requests summed per quarter hour, kept by SQLite itself.

A month of traffic is hundreds of thousands of `requests` rows; summing them
for every chart the dashboard draws would take the better part of a second.
So every write adds the rows it inserted into `usage_quarters`, one row per
(quarter hour, account, model): a month is a few thousand rows, read through
the primary key in milliseconds. The table is derived data with one source of
truth: `add` sums the new rows of `requests` in SQL, in the write's own
transaction (`LedgerStore.write`, the one writer of `requests`), and the same
statement sums a whole older ledger when it is opened.

Until schema version 5 a trigger added each row as it was inserted. Summing a
write's rows at once costs a third of that (4.5 µs less a row, measured on
500-row writes): one upsert per quarter, account and model, not one per row.

Quarter hours because every time zone's hours and days start on one
(UTC+5:45 included), so local hours and days are exact sums of quarters.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

QUARTER = 900  # seconds
MEDIA = ("images", "audio_seconds", "speech_characters")  # what media operations use
MEASURES = (
    "requests",
    "errors",  # status >= 400, or the client went away
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    *MEDIA,
)
# The measures summed as they are, column for column, from `requests`.
_SUMMED = MEASURES[2:]
# The media columns of both tables, as an older ledger gains them (rows so far: 0).
# audio_seconds is a float: the one measure that is not a count.
MEDIA_COLUMNS = {
    "images": "INTEGER NOT NULL DEFAULT 0",
    "audio_seconds": "REAL NOT NULL DEFAULT 0",
    "speech_characters": "INTEGER NOT NULL DEFAULT 0",
}
# --by KEY -> the usage_quarters column rows are grouped on
KEYS = {"account": "account", "model": "model"}

_ACCOUNT = "COALESCE(account, '-')"
_MODEL = "COALESCE(model_used, model, '-')"
_ERROR = "(COALESCE(status, 0) >= 400 OR COALESCE(client_gone, 0))"

SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_quarters (
    quarter INTEGER NOT NULL,        -- CAST(ts / 900): the quarter hour since the epoch
    account TEXT NOT NULL,           -- '-' when no account served
    model TEXT NOT NULL,             -- as sent upstream, else as asked
    requests INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_creation_tokens INTEGER NOT NULL,
    images INTEGER NOT NULL DEFAULT 0,
    audio_seconds REAL NOT NULL DEFAULT 0,
    speech_characters INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (quarter, account, model)
) WITHOUT ROWID;
-- Versions 2 to 4 summed each row as it was inserted (see above).
DROP TRIGGER IF EXISTS requests_rollup;
"""

# The request rows after the one whose id is given, summed into their quarters.
# NULL in a media column: a row from before it was measured.
_ADD = f"""
INSERT INTO usage_quarters (quarter, account, model, {", ".join(MEASURES)})
SELECT CAST(ts / {QUARTER} AS INTEGER) AS q, {_ACCOUNT} AS a, {_MODEL} AS m,
       COUNT(*), SUM({_ERROR}), {", ".join(f"COALESCE(SUM({m}), 0)" for m in _SUMMED)}
FROM requests WHERE id > ? GROUP BY q, a, m
ON CONFLICT DO UPDATE SET {", ".join(f"{m} = {m} + excluded.{m}" for m in MEASURES)}
"""


def last_row(db: sqlite3.Connection) -> int:
    """The id of the newest request row (0: none); rows inserted next have larger ones."""
    return db.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0]


def add(db: sqlite3.Connection, after: int) -> None:
    """Add the request rows after row `after` (`last_row` before they were inserted)
    into the quarters; in the transaction that inserted them."""
    db.execute(_ADD, (after,))


def rebuild(db: sqlite3.Connection) -> None:
    """Sum every request row again (a ledger written before the rollup existed)."""
    db.execute("DELETE FROM usage_quarters")
    add(db, 0)


def prune(db: sqlite3.Connection, before_wall: float) -> None:
    """Forget the quarters that ended before `before_wall` (the retention)."""
    db.execute("DELETE FROM usage_quarters WHERE quarter < ?", (int(before_wall // QUARTER),))


@dataclass(frozen=True)
class Cell:
    """The sums of one bucket for one key (an account or a model)."""

    bucket: int  # index into the buckets asked for
    key: str
    values: tuple[int | float, ...]  # MEASURES order


def series(
    db: sqlite3.Connection,
    buckets: Sequence[tuple[float, float]],
    by: str,
    *,
    account: str | None = None,
    model: str | None = None,
) -> list[Cell]:
    """Sums per (bucket, key) for `buckets` ([start, end) wall times on quarter bounds).

    One indexed range per bucket (the JSON list of bounds is joined on the
    primary key), so the cost follows the quarters asked for, not the rows.
    """
    column = KEYS[by]  # KeyError for an unknown grouping: a programming error
    bounds = json.dumps([[int(lo // QUARTER), int(hi // QUARTER)] for lo, hi in buckets])
    where, args = "", [bounds]
    for name, value in (("account", account), ("model", model)):
        if value is not None:
            where += f" AND u.{name} = ?"
            args.append(value)
    sums = ", ".join(f"SUM(u.{m})" for m in MEASURES)
    rows = db.execute(
        "WITH b(i, lo, hi) AS (SELECT key, json_extract(value, '$[0]'), "
        "json_extract(value, '$[1]') FROM json_each(?)) "
        f"SELECT b.i, u.{column}, {sums} FROM b JOIN usage_quarters u "
        f"ON u.quarter >= b.lo AND u.quarter < b.hi{where} GROUP BY b.i, u.{column}",
        args,
    ).fetchall()
    return [Cell(int(i), str(key), tuple(map(figure, rest))) for i, key, *rest in rows]


def figure(value) -> int | float:
    """A sum as SQLite gives it: a count as an int, seconds to the millisecond."""
    return round(value, 3) if isinstance(value, float) else int(value or 0)
