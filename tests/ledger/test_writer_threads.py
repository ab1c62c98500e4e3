"""The ledger's two writer threads: small batches at the lowest CPU priority, the
rest at normal priority, one job at a time on their shared connection."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time

import pytest

from localgate.events import RequestDone
from localgate.ledger import Ledger, LedgerStore, ledger_path, writer


def done(n: int) -> RequestDone:
    return RequestDone(f"r{n}", "openai", "chat", "gpt-4o", False, 200, time.time(), 0.1)


@pytest.fixture
async def ledger(tmp_path):
    ledger = Ledger(ledger_path(tmp_path), interval=3600, batch=4)
    assert await ledger.start()
    yield ledger
    await ledger.close()


def spy_on_writes(monkeypatch) -> list[tuple[str, int, int]]:
    """(thread name, its scheduling policy, rows) for every batch written."""
    writes = []
    write_batch = writer.write_batch

    def spy(store, rows, *rest):
        policy = os.sched_getscheduler(0) if hasattr(os, "sched_getscheduler") else None
        writes.append((threading.current_thread().name, policy, len(rows)))
        return write_batch(store, rows, *rest)

    monkeypatch.setattr(writer, "write_batch", spy)
    return writes


async def test_small_batches_go_to_the_quiet_thread_a_backlog_to_the_normal_one(
    ledger, tmp_path, monkeypatch
):
    writes = spy_on_writes(monkeypatch)
    for rows in (3, 2 * 4, 5):  # under twice the batch, a backlog, under again
        for n in range(rows):
            ledger(done(n))
        await ledger.flush()
    threads = [name.rsplit("_", 1)[0] for name, _, _ in writes]
    assert threads == ["localgate-ledger-quiet", "localgate-ledger", "localgate-ledger-quiet"]
    assert [rows for _, _, rows in writes] == [3, 8, 5]
    store = LedgerStore.open(ledger_path(tmp_path))
    try:
        assert store.count() == 16
    finally:
        store.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SCHED_IDLE is Linux's")
async def test_the_quiet_thread_runs_at_the_idle_priority(ledger, monkeypatch):
    writes = spy_on_writes(monkeypatch)
    ledger(done(1))
    await ledger.flush()
    for n in range(8):
        ledger(done(n))
    await ledger.flush()
    assert [policy for _, policy, _ in writes] == [os.SCHED_IDLE, os.SCHED_OTHER]


async def test_a_cancelled_job_still_holds_the_connection_until_it_ends(ledger):
    """close() cancels the loop mid-write; the thread writes on, so the next job
    (close's own flush) must wait for it rather than use the connection at once."""
    release, started, order = threading.Event(), threading.Event(), []

    def slow():
        started.set()
        release.wait(10)
        order.append("slow")

    job = asyncio.create_task(ledger._run(slow, quiet=True))
    await asyncio.to_thread(started.wait, 10)
    job.cancel()
    nxt = asyncio.create_task(ledger._run(order.append, "next"))
    await asyncio.sleep(0.05)
    assert order == []  # the next job waits although the first was cancelled
    release.set()
    await nxt
    assert order == ["slow", "next"]
    with pytest.raises(asyncio.CancelledError):
        await job
