"""The daemon's writer threads run at the lowest priority, so that they do not take
the core from the event loop (localgate.sharing.lower_priority; Linux only)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from localgate.ledger import Ledger, ledger_path
from localgate.logs import DaemonLog
from localgate.response_store import ResponseStore
from localgate.sharing import WRITER_NICE

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="a per-thread nice is Linux's")


def own_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_the_ledger_writes_at_the_lowest_priority_and_the_loop_keeps_its_own(tmp_path):
    ledger = Ledger(ledger_path(tmp_path), interval=3600)
    assert await ledger.start()
    try:
        assert await ledger._run(own_nice) == WRITER_NICE
    finally:
        await ledger.close()
    assert own_nice() == 0  # the loop's thread: only the writer was lowered


async def test_the_response_store_writes_at_the_lowest_priority(tmp_path):
    store = ResponseStore(tmp_path, days=30, max_mb=100)
    assert await store.start()
    try:
        assert await store._run(own_nice) == WRITER_NICE
    finally:
        await store.close()


def test_the_log_writer_runs_at_the_lowest_priority(tmp_path):
    daemon_log = DaemonLog(tmp_path / "localgate.log", stderr=False).start()
    try:
        writer = daemon_log._handoff.thread
        tid = writer.native_id
        for _ in range(200):  # it lowers itself as it starts
            if os.getpriority(os.PRIO_PROCESS, tid) == WRITER_NICE:
                break
            threading.Event().wait(0.01)
        assert os.getpriority(os.PRIO_PROCESS, tid) == WRITER_NICE
    finally:
        daemon_log.stop()
