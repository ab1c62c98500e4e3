"""The state dir deleted under a running daemon: noticed, recreated, said, no rows lost after."""

from __future__ import annotations

import logging
import shutil

from localgate.config import default_state_dir
from localgate.ledger import LedgerStore, ledger_path
from tests.limits.live import ledger_of, post_messages
from tests.support import account


async def test_a_deleted_state_dir_is_recreated_and_the_ledger_goes_on(
    localgate, make_fake, caplog
):
    fake = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", fake.url)])
    ledger = ledger_of(client)
    for _ in range(3):
        await post_messages(client)
    await ledger.flush()
    state = default_state_dir()
    with caplog.at_level(logging.ERROR, logger="localgate"):
        shutil.rmtree(state)
        for _ in range(5):
            await post_messages(client)
        await ledger.flush()
        await post_messages(client)
        await client.close()  # the cleanup writes what is left
    assert ledger_path(state).is_file()
    assert (state.stat().st_mode & 0o777) == 0o700
    store = LedgerStore.open(ledger_path(state))
    try:
        assert store.count() == 6  # every request answered after the deletion
        assert store.load_state() is not None  # the pool's state saved again
    finally:
        store.close()
    messages = [r.getMessage() for r in caplog.records if "deleted" in r.getMessage()]
    assert len(messages) == 1 and str(ledger_path(state)) in messages[0]
