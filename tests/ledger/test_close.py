"""Closing the ledger writes everything it was given, whatever its writer was doing."""

from __future__ import annotations

import asyncio
import threading

from localgate.ledger import Ledger, ledger_path, writer
from tests.ledger.test_bad_rows import done, stored


async def test_closing_while_a_flush_is_under_way_loses_and_miscounts_nothing(
    tmp_path, monkeypatch
):
    """The app's cleanup cancels the writer's loop; a flush it cancelled mid-write
    used to leave its rows uncounted, or lost, when cancelled before the write."""
    ledger = Ledger(ledger_path(tmp_path), interval=0.01)
    assert await ledger.start()
    writing, release = threading.Event(), threading.Event()
    write_batch = writer.write_batch

    def held(*args):
        writing.set()
        release.wait(5)
        return write_batch(*args)

    monkeypatch.setattr(writer, "write_batch", held)
    for tokens in range(10):
        ledger(done(tokens))
    assert await asyncio.to_thread(writing.wait, 5)  # the loop's flush is on the thread
    ledger(done(99))
    closing = asyncio.create_task(ledger.close())
    await asyncio.sleep(0.05)  # close has cancelled the loop by now
    release.set()
    await closing
    assert ledger.written == 11
    assert stored(tmp_path) == 11
