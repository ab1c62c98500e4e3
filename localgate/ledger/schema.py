"""The ledger file's tables, and how an older file is brought up to them in place.

Each version adds (a table, a column) or changes how derived sums are kept
(version 5: the rollup's trigger gave way to a sum per write); an upgrade keeps
every row, and runs once, in one transaction, when a file older than
SCHEMA_VERSION is opened (`LedgerStore.open`).
"""

from __future__ import annotations

import sqlite3

from localgate.ledger import rollup
from localgate.sqlitefile import transaction

# 2: usage_quarters (see rollup.py); 3: requests.failed; 4: images, audio seconds,
# speech characters (requests and usage_quarters); 5: usage_quarters summed per write,
# not by a trigger (rollup.py)
SCHEMA_VERSION = 5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,                -- wall time the request arrived (epoch seconds)
    request_id TEXT,
    account TEXT,                    -- the account that served; NULL when none did
    provider TEXT,
    model TEXT,                      -- as the client asked
    model_used TEXT,                 -- as sent upstream
    dialect TEXT,
    op TEXT,
    stream INTEGER,
    status INTEGER,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
    latency REAL,                    -- seconds until the last byte
    ttfb REAL,                       -- seconds until the first byte reached the client
    attempts INTEGER,
    fallback_depth INTEGER,
    client_gone INTEGER,
    error TEXT,
    failed TEXT,                     -- JSON list: accounts whose attempt failed first
    -- What media operations used (localgate.dialects.media); NULL: not measured
    -- (rows written before version 4).
    images INTEGER,                  -- final images an images answer held
    audio_seconds REAL,              -- audio a transcription said it heard
    speech_characters INTEGER        -- characters sent to be spoken
);
CREATE INDEX IF NOT EXISTS requests_ts ON requests (ts);
CREATE TABLE IF NOT EXISTS limits (
    account TEXT NOT NULL,
    model TEXT NOT NULL,
    dimension TEXT NOT NULL,
    "limit" INTEGER,
    remaining INTEGER,
    reset_at REAL,
    observed_at REAL NOT NULL,
    PRIMARY KEY (account, model, dimension)
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    saved_at REAL NOT NULL
);
"""

REQUEST_COLUMNS = (
    "ts",
    "request_id",
    "account",
    "provider",
    "model",
    "model_used",
    "dialect",
    "op",
    "stream",
    "status",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "latency",
    "ttfb",
    "attempts",
    "fallback_depth",
    "client_gone",
    "error",
    "failed",
    "images",
    "audio_seconds",
    "speech_characters",
)
# Columns later versions added, as an older ledger gains them in place: its rows
# keep their values and read NULL in the new columns.
ADDED_COLUMNS = {
    "failed": "TEXT",  # version 3
    "images": "INTEGER",  # version 4
    "audio_seconds": "REAL",
    "speech_characters": "INTEGER",
}


def upgrade(db: sqlite3.Connection) -> None:
    """Bring a new or older ledger to SCHEMA_VERSION in place, in one transaction.

    The write lock comes first: a daemon and a CLI opening the same old file
    at once must not both add a column (the second would fail on it).
    """
    with transaction(db):
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:  # still so under the lock
            for table, added in (
                ("requests", ADDED_COLUMNS),
                ("usage_quarters", rollup.MEDIA_COLUMNS),
            ):
                have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                for name in [n for n in added if n not in have] if have else ():  # not new
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {added[name]}")
            for statement in _statements(_SCHEMA + rollup.SCHEMA):
                db.execute(statement)
            if version < 2:  # the rows a version-1 ledger holds (none when new), summed once
                rollup.rebuild(db)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _statements(script: str):
    """The statements of `script` one by one (SQLite tells where each ends: a
    semicolon may stand in a string or a trigger's body)."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \t\r\n;"):
                yield statement
            statement = ""
