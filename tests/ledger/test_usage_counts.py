"""`usage` counts broken streams and failed attempts per account; old ledgers migrate."""

from __future__ import annotations

import sqlite3

from localgate.ledger import LedgerStore
from localgate.ledger.store import SCHEMA_VERSION
from tests.fakes import Cut, Error, Reply
from tests.ledger.test_ledger_app import state_dir, store_of
from tests.support import account

STREAM = {
    "model": "claude-opus-4-8",
    "max_tokens": 10,
    "stream": True,
    "messages": [{"role": "user", "content": "hi"}],
}


async def test_broken_streams_and_failed_attempts_per_account(localgate, make_fake):
    first = await make_fake("anthropic", "first")
    second = await make_fake("anthropic", "second")
    client = await localgate(
        [
            account("first", "anthropic", first.url, priority=10),
            account("second", "anthropic", second.url),
        ],
        server={"strategy": "fill-first"},
    )
    first.script(Error(500, "boom"))  # fails over to second, which serves
    # Cut after content (an Anthropic stream's 4th event is its first text delta):
    # before it, the held head would fail over instead of breaking.
    second.script(Reply(text="fine"), Cut(after_events=4, reply=Reply(text="abcdefghij")))
    for _ in range(2):
        async with client.post("/v1/messages", json=STREAM) as response:
            await response.read()
    await client.close()
    store = store_of(state_dir())
    try:
        by_account = {r.key: r for r in store.usage(0, "account")}
        by_model = store.usage(0, "model")
    finally:
        store.close()
    assert by_account["first"].failed_attempts == 1 and by_account["first"].requests == 0
    assert by_account["second"].requests == 2 and by_account["second"].broken_streams == 1
    assert by_account["second"].failed_attempts == 0
    assert [(r.requests, r.failed_attempts, r.broken_streams) for r in by_model] == [(2, 1, 1)]


def test_an_older_ledger_gains_the_column_and_keeps_its_rows(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    store = LedgerStore.open(path)
    store.close()
    db = sqlite3.connect(path)  # make it what version 2 wrote
    db.executescript(
        "ALTER TABLE requests DROP COLUMN failed; PRAGMA user_version = 2;"
        "INSERT INTO requests (ts, account, model, status, stream, client_gone) "
        "VALUES (1.0, 'old', 'm', 200, 0, 0);"
    )
    db.close()
    store = LedgerStore.open(path)
    try:
        (row,) = store.usage(0, "account")
        assert (row.key, row.requests, row.failed_attempts) == ("old", 1, 0)
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        store.close()
