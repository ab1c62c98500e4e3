"""Usage over time: the ledger's requests summed per quarter hour, kept by SQLite itself.

A month of traffic is hundreds of thousands of `requests` rows; summing them
for every chart the dashboard draws would take the better part of a second.
So a trigger adds every inserted row into `usage_quarters`, one row per
(quarter hour, account, model): a month is a few thousand rows, read through
the primary key in milliseconds. The table is derived data with one source of
truth (the insert itself, inside the same transaction), rebuilt from
`requests` when an older ledger is opened.

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

_ACCOUNT = "COALESCE({r}account, '-')"
_MODEL = "COALESCE({r}model_used, {r}model, '-')"
_ERROR = "(COALESCE({r}status, 0) >= 400 OR COALESCE({r}client_gone, 0))"
# NULL in a media column: a row from before it was measured.
_SUMS = ", ".join(f"COALESCE({{r}}{m}, 0)" for m in _SUMMED)


def _values(r: str) -> str:
    """The rollup row of one `requests` row (`r` is `NEW.` in the trigger)."""
    parts = (f"CAST({{r}}ts / {QUARTER} AS INTEGER)", _ACCOUNT, _MODEL, "1", _ERROR, _SUMS)
    return ", ".join(part.format(r=r) for part in parts)


SCHEMA = f"""
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
DROP TRIGGER IF EXISTS requests_rollup;  -- an older ledger's sums fewer measures
CREATE TRIGGER requests_rollup AFTER INSERT ON requests BEGIN
    INSERT INTO usage_quarters (quarter, account, model, {", ".join(MEASURES)}) VALUES (
        {_values("NEW.")})
    ON CONFLICT DO UPDATE SET
        requests = requests + 1,
        errors = errors + excluded.errors,
        {", ".join(f"{m} = {m} + excluded.{m}" for m in _SUMMED)};
END;
"""

# For a ledger written before the rollup existed: sum what it holds, once.
BACKFILL = f"""
DELETE FROM usage_quarters;
INSERT INTO usage_quarters (quarter, account, model, {", ".join(MEASURES)})
SELECT CAST(ts / {QUARTER} AS INTEGER) AS q, {_ACCOUNT.format(r="")} AS a,
       {_MODEL.format(r="")} AS m, COUNT(*), SUM({_ERROR.format(r="")}),
       {", ".join(f"COALESCE(SUM({m}), 0)" for m in _SUMMED)}
FROM requests GROUP BY q, a, m;
"""


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
