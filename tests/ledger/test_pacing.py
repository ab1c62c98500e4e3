"""The ledger's writer thread shares the core with the event loop: it steps aside
every STRETCH rows it makes or writes, and a batch is still one transaction."""

from __future__ import annotations

import sqlite3

from localgate import sharing
from localgate.ledger import LedgerStore, ledger_path
from localgate.ledger.writer import write_batch
from tests.ledger.test_bad_rows import done


def test_a_batch_is_written_in_one_transaction_paced(tmp_path, monkeypatch):
    store = LedgerStore.open(ledger_path(tmp_path))
    reader = sqlite3.connect(ledger_path(tmp_path))
    seen = []  # rows another connection sees each time the writer steps aside

    def step_aside():
        seen.append(reader.execute("SELECT COUNT(*) FROM requests").fetchone()[0])

    monkeypatch.setattr(sharing, "yield_core", step_aside)
    # Finished requests, made into rows on the writer thread, then written.
    events = [done(i) for i in range(3 * sharing.STRETCH + 1)]
    try:
        outcome = write_batch(store, events, [], None)

        assert outcome.written == len(events) and outcome.error is None
        # Three times while the rows are made, three while they are written; nothing
        # committed until the whole batch is.
        assert seen == [0] * 6
        assert reader.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == len(events)
        rolled_up = reader.execute("SELECT SUM(requests) FROM usage_quarters").fetchone()[0]
        assert rolled_up == len(events)
    finally:
        reader.close()
        store.close()
