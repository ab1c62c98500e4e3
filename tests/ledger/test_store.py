"""The ledger file on its own: groupings, retention, figures, saved state, junk."""

from __future__ import annotations

import sqlite3
import time

import pytest

from localgate.ledger import LedgerStore, ledger_path
from localgate.ledger.store import REQUEST_COLUMNS
from localgate.providers.ratelimit import LimitSnapshot

NOW = time.time()


def row(ts, account="work", model="m1", status=200, tokens=(10, 5, 0, 0), **extra):
    values = dict.fromkeys(REQUEST_COLUMNS)
    values.update(ts=ts, account=account, model=model, model_used=model, status=status)
    values.update(zip(REQUEST_COLUMNS[10:14], tokens, strict=True))
    values.update(client_gone=0, **extra)
    return tuple(values[c] for c in REQUEST_COLUMNS)


@pytest.fixture
def store(tmp_path):
    store = LedgerStore.open(ledger_path(tmp_path / "state" / "deep"))
    yield store
    store.close()


def test_usage_by_account_model_and_day(store):
    store.write(
        [
            row(NOW - 10),
            row(NOW - 20, model="m2", tokens=(1, 1, 100, 10)),
            row(NOW - 30, account="other", status=429),
            row(NOW - 40, account=None, status=503),
            row(NOW - 8 * 86400),  # older than the window asked for
        ]
    )
    by_account = {r.key: r for r in store.usage(NOW - 86400, "account")}
    assert sorted(by_account) == ["-", "other", "work"]
    work = by_account["work"]
    assert (work.requests, work.errors, work.tokens) == (2, 0, 15 + 112)
    assert (by_account["other"].errors, by_account["-"].errors) == (1, 1)
    assert {r.key: r.requests for r in store.usage(NOW - 86400, "model")} == {"m1": 3, "m2": 1}
    days = store.usage(NOW - 3600, "day")
    assert sum(d.requests for d in days) == 4
    assert time.strftime("%Y-%m-%d", time.localtime(NOW - 10)) == days[-1].key
    assert store.count() == 5


def test_retention_deletes_old_rows(store):
    store.write([row(NOW - 100 * 86400), row(NOW - 89 * 86400), row(NOW)])
    assert store.prune(NOW - 90 * 86400) == 1
    assert store.count() == 2


def test_figures_keep_the_latest_per_dimension(store):
    new = LimitSnapshot("requests", 50, 9, NOW + 5, NOW)
    store.write([], [("work", "m1", "requests", 50, 10, NOW + 5, NOW - 5)])
    store.write([], [("work", "m1", "requests", 50, 9, NOW + 5, NOW)])
    assert store.limits() == [("work", "m1", new)]


def test_state_round_trip_and_unreadable_state(store):
    assert store.load_state() is None
    store.write([], [], ("pool", '{"version": 1, "accounts": {}}', NOW))
    assert store.load_state() == ({"version": 1, "accounts": {}}, NOW)
    store.write([], [], ("pool", "{not json", NOW))
    assert store.load_state() is None


def test_buckets_and_totals_for_seeding(store):
    store.write([row(NOW - 30), row(NOW - 25), row(NOW - 7200, account="other"), row(NOW, None)])
    buckets = store.minute_buckets(NOW - 86400)
    assert sum(b[1] for b in buckets["work"]) == 2 and set(buckets) == {"work", "other"}
    # Each minute is dated by its last request, so a restored count never leaves early.
    assert max(b[0] for b in buckets["work"]) == NOW - 25
    assert store.totals_since(NOW - 3600) == {"work": (2, 30)}


def test_a_failed_batch_writes_nothing(store):
    with pytest.raises(sqlite3.ProgrammingError):
        store.write([row(NOW), ("too", "short")])
    assert store.count() == 0


def test_open_existing_does_not_create(tmp_path):
    assert LedgerStore.open_existing(tmp_path / "none" / "ledger.sqlite3") is None
    assert not (tmp_path / "none").exists()


def test_the_ledger_is_private(tmp_path):
    import os
    import stat

    state = tmp_path / "state" / "localgate"
    path = ledger_path(state)
    old = os.umask(0o022)  # the usual umask would leave 0755 dirs and 0644 files
    try:
        store = LedgerStore.open(path)
        store.write([row(NOW)], [], None)
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(state) == 0o700
    files = [p for p in state.iterdir() if p.name.startswith(path.name)]
    assert {p.name for p in files} >= {path.name, path.name + "-wal"}
    assert all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}
    store.close()
