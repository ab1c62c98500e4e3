"""The response store: saves the client never waits for, kept in the order asked,
failures said and survived, and a prune that reads the index instead of the rows."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading

from localgate import response_store
from localgate.response_store import FILENAME, PRUNE_EVERY, ResponseStore
from localgate.statedir import StateDir
from tests.sdks import openai_sdk
from tests.support import account


def answer(response_id: str, text: str) -> dict:
    return {
        "id": response_id,
        "object": "response",
        "output": [{"type": "message", "role": "assistant", "content": [{"text": text}]}],
    }


async def test_an_answer_is_out_before_its_save_is_written(localgate, make_fake, monkeypatch):
    # The save is held on the worker thread: the client still gets its whole
    # answer, and a follow-up naming it waits for the write instead of missing it.
    claude = await make_fake("anthropic", "claude")
    client = await localgate([account("claude", "anthropic", claude.url)])
    sdk = openai_sdk(client)
    release, written = threading.Event(), threading.Event()
    write = ResponseStore._write

    def held_write(self):
        release.wait(10)
        write(self)
        written.set()

    monkeypatch.setattr(ResponseStore, "_write", held_write)
    first = await sdk.responses.create(model="claude-sonnet-4-5", input="Capital of France?")
    assert first.output_text and not written.is_set()
    release.set()
    follow_up = await sdk.responses.create(
        model="claude-sonnet-4-5", input="And of Spain?", previous_response_id=first.id
    )
    assert follow_up.output_text
    roles = [m["role"] for m in claude.requests[1].json["messages"]]
    assert roles == ["user", "assistant", "user"]  # the first turn was found


async def test_a_save_is_queued_before_anything_it_waits_for(tmp_path):
    """The gateway writes the answer first, so a follow-up naming it can be read while
    its save still waits on the state dir's check: the save was queued before it."""
    state, checking, recreated = StateDir(tmp_path), asyncio.Event(), asyncio.Event()
    store = ResponseStore(tmp_path, days=30, max_mb=64, state=state)
    assert await store.start()

    async def slow_check(path=None):
        checking.set()
        await recreated.wait()  # a recreation under way: the save waits here

    state.check = slow_check
    saving = asyncio.create_task(store.save(answer("resp_1", "kept"), None, []))
    await checking.wait()
    assert (await store.get("resp_1"))["output"][0]["content"][0]["text"] == "kept"
    assert not saving.done()
    recreated.set()
    await saving
    await store.close()


async def test_saves_and_reads_run_in_the_order_asked(tmp_path):
    store = ResponseStore(tmp_path, days=30, max_mb=64)
    assert await store.start()
    for i in range(50):
        previous = f"resp_{i - 1}" if i else None
        await store.save(answer(f"resp_{i}", f"turn {i}"), previous, [{"role": "user"}])
    chain = await store.chain("resp_49")  # asked right after the last save was queued
    assert chain is not None and len(chain) == 100
    assert (await store.get("resp_49"))["output"][0]["content"][0]["text"] == "turn 49"
    await store.close()
    db = sqlite3.connect(tmp_path / FILENAME)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # no fsync per save
    assert db.execute("SELECT COUNT(*) FROM responses").fetchone() == (50,)


async def test_a_failed_save_is_said_and_the_store_goes_on(tmp_path, monkeypatch, caplog):
    store = ResponseStore(tmp_path, days=30, max_mb=64)
    assert await store.start()

    class Full:  # the disk fills up for one row's write
        def __init__(self, db):
            self.db = db

        def executemany(self, sql, rows):
            if any(row[0] == "resp_lost" for row in rows):
                raise sqlite3.OperationalError("database or disk is full")
            return self.db.executemany(sql, rows)

        def __getattr__(self, name):
            return getattr(self.db, name)

    store._db = Full(store._db)
    busy = threading.Event()
    store._worker.submit(busy.wait, 10)  # both saves queue up: one transaction, then each
    with caplog.at_level(logging.ERROR, logger="localgate"):
        await store.save(answer("resp_lost", "gone"), None, [])
        await store.save(answer("resp_kept", "here"), None, [])
        busy.set()
        assert await store.get("resp_lost") is None
        assert (await store.get("resp_kept"))["id"] == "resp_kept"
    assert "could not keep response resp_lost for later turns: database or disk is full" in (
        caplog.text
    )
    await store.close()


async def test_saves_gather_into_one_transaction_written_before_a_read(tmp_path, monkeypatch):
    monkeypatch.setattr(response_store, "SAVE_DELAY", 60.0)  # only the read sends them
    store = ResponseStore(tmp_path, days=30, max_mb=64)
    assert await store.start()
    transactions = []

    class Counted:
        def __init__(self, db):
            self.db = db

        def execute(self, sql, *args):
            if sql.startswith("BEGIN"):
                transactions.append(sql)
            return self.db.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.db, name)

    store._db = Counted(store._db)
    for i in range(20):
        await store.save(answer(f"resp_{i}", "ok"), None, [])
    assert (await store.get("resp_19"))["id"] == "resp_19"
    assert len(transactions) == 1
    await store.close()


async def test_gathered_saves_are_written_without_a_read(tmp_path):
    store = ResponseStore(tmp_path, days=30, max_mb=64)
    assert await store.start()
    await store.save(answer("resp_alone", "ok"), None, [])
    db = sqlite3.connect(tmp_path / FILENAME)
    for _ in range(500):  # SAVE_DELAY, and the write; waits at most 5 s on a slow machine
        if db.execute("SELECT count(*) FROM responses").fetchone() == (1,):
            break
        await asyncio.sleep(0.01)
    assert db.execute("SELECT id FROM responses").fetchall() == [("resp_alone",)]
    db.close()
    await store.close()


async def test_the_prune_reads_sizes_from_the_index_not_the_rows(tmp_path):
    # Sizes sit after the large JSON columns, on overflow pages: summing them from
    # the rows would read the whole store (up to response_store_mb) every 64 saves.
    store = ResponseStore(tmp_path, days=30, max_mb=64)
    assert await store.start()
    await store.close()
    db = sqlite3.connect(tmp_path / FILENAME)
    for query in (
        "SELECT COALESCE(SUM(size), 0) FROM responses",
        "SELECT id, size FROM responses ORDER BY created",
    ):
        (plan,) = db.execute(f"EXPLAIN QUERY PLAN {query}").fetchall()
        assert "COVERING INDEX responses_age" in plan[-1]


async def test_a_full_store_forgets_its_oldest_first(tmp_path):
    store = ResponseStore(tmp_path, days=30, max_mb=0.05)  # ~52 KB
    assert await store.start()
    filler = [{"role": "user", "content": "x" * 2000}]
    for i in range(64):  # the 64th save prunes
        await store.save(answer(f"resp_{i}", "ok"), None, filler)
    assert await store.get("resp_0") is None
    assert await store.get("resp_63") is not None
    await store.close()


async def test_a_failed_prune_is_said_and_saves_go_on(tmp_path, caplog):
    store = ResponseStore(tmp_path, days=30, max_mb=64)
    assert await store.start()

    def locked():
        raise sqlite3.OperationalError("database is locked")

    store._prune = locked
    with caplog.at_level(logging.ERROR, logger="localgate"):
        for i in range(PRUNE_EVERY + 1):
            await store.save(answer(f"resp_{i}", "ok"), None, [])
        assert (await store.get(f"resp_{PRUNE_EVERY}"))["id"] == f"resp_{PRUNE_EVERY}"
    assert "could not forget old responses: database is locked" in caplog.text
    await store.close()


async def test_a_chain_that_links_back_into_itself_is_not_followed_around(tmp_path, monkeypatch):
    """An upstream that answers a follow-up with an id it gave before: the kept row
    then names itself as its previous. It reads as not kept, at once."""
    store = ResponseStore(tmp_path, days=30, max_mb=64)
    assert await store.start()
    await store.save(answer("resp_same", "first"), None, [])
    await store.save(answer("resp_same", "again"), "resp_same", [])
    queries = []
    db = store._db

    class Counted:
        def execute(self, sql, *args):
            queries.append(sql)
            return db.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(db, name)

    assert await store.chain("resp_same") is None  # the saves are written first
    store._db = Counted()
    try:
        assert await store.chain("resp_same") is None
    finally:  # the real connection back, so close() closes it whatever failed
        store._db = db
        await store.close()
    assert len(queries) <= 2
