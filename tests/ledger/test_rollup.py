"""The quarter-hour rollup: added by each write, rebuilt for older ledgers, pruned, queried."""

from __future__ import annotations

import sqlite3
import time

from localgate.ledger import LedgerStore, ledger_path
from localgate.ledger.rollup import MEASURES, QUARTER
from localgate.ledger.store import _SCHEMA, REQUEST_COLUMNS, SCHEMA_VERSION
from tests.dashboard.helpers import MEDIA_MODELS, MODELS, generated_rows, row

NOW = time.time()


def quarters(store) -> int:
    return store._db.execute("SELECT COUNT(*) FROM usage_quarters").fetchone()[0]


def sums_from_requests(store, lo, hi, by="account"):
    """What the rollup must equal: the same sums straight from the request rows."""
    key = "COALESCE(account, '-')" if by == "account" else "COALESCE(model_used, model, '-')"
    rows = store._db.execute(
        f"SELECT {key}, COUNT(*), SUM(COALESCE(status, 0) >= 400 OR client_gone), "
        "SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), "
        "SUM(cache_creation_tokens), COALESCE(SUM(images), 0), "
        "COALESCE(SUM(audio_seconds), 0), COALESCE(SUM(speech_characters), 0) "
        "FROM requests WHERE ts >= ? AND ts < ? GROUP BY 1",
        (lo, hi),
    ).fetchall()
    # Seconds to the millisecond, as the rollup answers them.
    return {k: tuple(round(x, 3) if isinstance(x, float) else x for x in v) for k, *v in rows}


def test_each_write_keeps_the_rollup_equal_to_the_rows(tmp_path):
    store = LedgerStore.open(ledger_path(tmp_path))
    rows = list(generated_rows(5000, NOW, days=3, models=(*MODELS, *MEDIA_MODELS)))
    store.write(rows[:2500])
    store.write(rows[2500:])
    store.write([row(NOW, account=None, model="m", status=None)])  # no account, no status
    lo = (NOW - 4 * 86400) // QUARTER * QUARTER
    hi = (NOW + 86400) // QUARTER * QUARTER
    for by in ("account", "model"):
        cells = store.series([(lo, hi)], by)
        assert {c.key: c.values for c in cells} == sums_from_requests(store, lo, hi, by)
    store.close()


def test_a_version_4_ledger_loses_its_trigger_and_counts_each_row_once(tmp_path):
    path = ledger_path(tmp_path)
    store = LedgerStore.open(path)
    store.write([row(NOW), row(NOW + 1)])
    store.close()
    db = sqlite3.connect(path)  # what version 4 kept: a trigger summing each insert
    db.executescript(
        "CREATE TRIGGER requests_rollup AFTER INSERT ON requests BEGIN "
        "UPDATE usage_quarters SET requests = requests + 1; END; PRAGMA user_version = 4;"
    )
    db.close()
    store = LedgerStore.open(path)
    store.write([row(NOW + 2), row(NOW + 3, account=None, model="m", status=None)])
    lo, hi = (NOW - 900) // QUARTER * QUARTER, (NOW + 1800) // QUARTER * QUARTER
    assert {c.key: c.values for c in store.series([(lo, hi)], "account")} == sums_from_requests(
        store, lo, hi
    )
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    store.close()


def test_buckets_split_on_their_bounds(tmp_path):
    store = LedgerStore.open(ledger_path(tmp_path))
    base = NOW // 3600 * 3600
    store.write([row(base - 1), row(base), row(base + 3599), row(base + 3600)])
    cells = store.series([(base - 3600, base), (base, base + 3600)], "account")
    assert {(c.bucket, c.values[0]) for c in cells} == {(0, 1), (1, 2)}
    only = store.series([(base, base + 3600)], "account", account="nobody")
    assert only == []
    store.close()


def test_an_older_ledger_is_summed_once_when_opened(tmp_path):
    path = ledger_path(tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)  # a version-1 ledger, as the daemon wrote it before
    db.executescript(_SCHEMA + "PRAGMA user_version = 1;")
    rows = list(generated_rows(3000, NOW, days=2, models=(*MODELS, *MEDIA_MODELS)))
    db.executemany(
        f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(REQUEST_COLUMNS))})",
        rows,
    )
    db.commit()
    db.close()
    store = LedgerStore.open(path)
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    lo, hi = (NOW - 3 * 86400) // QUARTER * QUARTER, (NOW + 900) // QUARTER * QUARTER + 900
    cells = store.series([(lo, hi)], "account")
    assert {c.key: c.values for c in cells} == sums_from_requests(store, lo, hi)
    assert sum(c.values[MEASURES.index("requests")] for c in cells) == 3000
    store.close()
    again = LedgerStore.open(path)  # opened again: not summed twice
    assert sum(c.values[0] for c in again.series([(lo, hi)], "account")) == 3000
    again.close()


def test_retention_prunes_the_rollup_too(tmp_path):
    store = LedgerStore.open(ledger_path(tmp_path))
    store.write([row(NOW - 100 * 86400), row(NOW - 10)])
    assert quarters(store) == 2
    store.prune(NOW - 90 * 86400)
    assert quarters(store) == 1
    store.close()
