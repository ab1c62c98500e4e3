"""The ledger's writer thread shares the core with the event loop: it pauses every
PACE rows it makes or writes, and a batch is still one transaction."""

from __future__ import annotations

import sqlite3

from localgate.ledger import LedgerStore, ledger_path, writer
from localgate.ledger.writer import PACE, PAUSE, write_batch
from tests.ledger.test_bad_rows import done


def test_a_batch_is_written_in_one_transaction_paced(tmp_path, monkeypatch):
    store = LedgerStore.open(ledger_path(tmp_path))
    reader = sqlite3.connect(ledger_path(tmp_path))
    seen = []  # rows another connection sees at each pause

    def pause(seconds):
        assert seconds == PAUSE
        seen.append(reader.execute("SELECT COUNT(*) FROM requests").fetchone()[0])

    monkeypatch.setattr(writer.time, "sleep", pause)
    events = [done(i) for i in range(3 * PACE + 1)]  # made into rows on the writer thread
    outcome = write_batch(store, events, [], None)

    assert outcome.written == len(events) and outcome.error is None
    # Three pauses while the rows are made, three while they are written; nothing
    # committed until the whole batch is.
    assert seen == [0] * 6
    assert reader.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == len(events)
    assert reader.execute("SELECT SUM(requests) FROM usage_quarters").fetchone()[0] == len(events)
