"""One bad row must not stop the ledger: it is dropped, everything else is written."""

from __future__ import annotations

import logging
import sqlite3
import time

import pytest

from localgate.dialects.usage import Usage, as_int
from localgate.events import LimitsObserved, RequestDone
from localgate.ledger import Ledger, LedgerStore, ledger_path
from localgate.ledger.store import REQUEST_COLUMNS
from localgate.ledger.writer import request_row
from localgate.providers.ratelimit import LimitSnapshot
from tests.pool.test_pool import MODEL, Clock, make_pool

BIG = 2**63 - 1


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (1e19, BIG),
        (float("inf"), 0),
        (float("-inf"), 0),
        (float("nan"), 0),
        (2**70, BIG),
        (-5, 0),
        ("12", 12),
        (None, 0),
        (True, 1),
        (7.9, 7),
    ],
)
def test_as_int_is_a_storable_count(given, expected):
    assert as_int(given) == expected


def done(tokens: int, account: str = "a") -> RequestDone:
    event = RequestDone("r", "anthropic", "messages", MODEL, False, 200, time.time(), 0.1)
    event.account = account
    event.usage = Usage(tokens, 1, 0, 0)
    return event


def test_request_rows_are_clamped():
    row = request_row(done(2**70))
    assert row[10] == BIG


@pytest.fixture
async def ledger(tmp_path):
    ledger = Ledger(ledger_path(tmp_path), interval=3600)
    assert await ledger.start()
    yield ledger
    await ledger.close()


def stored(tmp_path) -> int:
    store = LedgerStore.open(ledger_path(tmp_path))
    try:
        return store.count()
    finally:
        store.close()


async def test_a_request_that_cannot_be_made_a_row_is_dropped_not_retried_forever(
    ledger, tmp_path, caplog
):
    """A bug making one row (here a usage that is not a Usage) costs that row, said in
    the log; kept, the batch would come back in every retry and the ledger stop."""
    broken = done(5)
    broken.usage = object()
    ledger(done(5))
    ledger(broken)
    ledger(done(6))
    with caplog.at_level(logging.ERROR, "localgate"):
        await ledger.flush()
        await ledger.flush()
    assert stored(tmp_path) == 2
    assert ledger._rows == [] and ledger.written == 2
    assert "AttributeError" in caplog.text
    ledger(done(7))
    await ledger.flush()
    assert stored(tmp_path) == 3


async def test_a_bad_row_is_dropped_and_the_rest_written(ledger, tmp_path, caplog):
    ledger(done(5))
    bad = list(request_row(done(5)))
    bad[REQUEST_COLUMNS.index("error")] = "\ud800"  # unencodable error text
    ledger._rows.append(tuple(bad))
    ledger._rows.append((None,) * len(REQUEST_COLUMNS))  # ts NOT NULL
    ledger(done(6))
    ledger(LimitsObserved("a", MODEL, [LimitSnapshot("requests", 10, 9, None, time.time())]))
    with caplog.at_level(logging.ERROR, "localgate"):
        await ledger.flush()
    assert stored(tmp_path) == 2
    assert ledger._rows == [] and ledger.written == 2
    assert "dropped 2" in caplog.text
    ledger(done(7))
    await ledger.flush()
    assert stored(tmp_path) == 3


async def test_figures_are_requeued_when_the_disk_refuses(ledger, monkeypatch):
    def refuse(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(ledger._store, "write", refuse)
    ledger(done(5))
    ledger(LimitsObserved("a", MODEL, [LimitSnapshot("requests", 10, 9, None, time.time())]))
    await ledger.flush()
    assert len(ledger._rows) == 1
    assert list(ledger._limits) == [("a", MODEL, "requests")]


async def test_a_failing_export_keeps_the_rows(ledger, tmp_path):
    class Broken:
        changes = 3

        def export(self):
            raise RuntimeError("bug")

        def served(self, name, tokens):
            pass

    ledger.watch(Broken())
    ledger(done(5))
    await ledger.flush()
    assert stored(tmp_path) == 1


async def test_a_failed_start_closes_cleanly(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    ledger = Ledger(blocker / "ledger.sqlite3")  # its directory is a file
    assert not await ledger.start()
    await ledger.close()  # nothing half-open left to raise


async def test_a_failed_prune_at_start_closes_the_store(tmp_path, monkeypatch):
    closed = []

    def prune(self, *args):
        raise sqlite3.OperationalError("database is locked")

    original_close = LedgerStore.close
    monkeypatch.setattr(LedgerStore, "prune", prune)
    monkeypatch.setattr(LedgerStore, "close", lambda self: closed.append(original_close(self)))
    ledger = Ledger(ledger_path(tmp_path))
    assert not await ledger.start()
    assert closed and ledger._store is None
    await ledger.close()


async def test_today_counts_client_requests_the_ledger_counts(ledger, tmp_path):
    clock = Clock()
    pool = make_pool(clock, "a")
    ledger.watch(pool)
    for _ in range(3):  # three upstream attempts: two refused, then served
        pool.observe("a", MODEL)
    ledger(done(10))
    (status,) = pool.status()
    assert (status.requests_today, status.tokens_today) == (1, 11)
    await ledger.flush()
    store = LedgerStore.open(ledger_path(tmp_path))
    try:
        assert store.totals_since(0) == {"a": (1, 11)}
    finally:
        store.close()
