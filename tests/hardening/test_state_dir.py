"""The state dir deleted under a running daemon: noticed, recreated, said once, nothing lost.

Each file the daemon keeps there — the ledger, the response store, the seal key
(here), the lock, runtime file and log (tests/cli/test_lifecycle.py, with a
real daemon) — comes back, with what the daemon still held of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time

from localgate.config import default_state_dir
from localgate.ledger import LedgerStore, ledger_path
from localgate.response_store import FILENAME as RESPONSES
from localgate.server.app import SEAL_KEY_FILENAME
from localgate.server.keys import READER
from tests.fakes import Reply
from tests.limits.live import ledger_of, post_messages
from tests.sdks import openai_sdk
from tests.support import account


def notices(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "deleted while" in r.getMessage()]


async def until_back(*names: str, limit: float = 5.0) -> None:
    """Wait until every file `names` is in the state dir again."""
    deadline = time.monotonic() + limit
    while not all((default_state_dir() / name).is_file() for name in names):
        assert time.monotonic() < deadline, f"{names} never came back"
        await asyncio.sleep(0.05)


async def test_a_deleted_state_dir_is_recreated_and_the_ledger_keeps_every_row(
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
        # The dashboard's reader follows the new file, which holds the rows from before.
        assert await client.app[READER].run(LedgerStore.count) == 8
        await post_messages(client)
        await client.close()  # the cleanup writes what is left
    assert ledger_path(state).is_file()
    assert (state.stat().st_mode & 0o777) == 0o700
    assert (ledger_path(state).stat().st_mode & 0o777) == 0o600
    store = LedgerStore.open(ledger_path(state))
    try:
        assert store.count() == 9  # copied back from the deleted file, then written on
        assert store.load_state() is not None  # the pool's state saved again
    finally:
        store.close()
    (message,) = notices(caplog)  # once, naming each file
    for name in (ledger_path(state).name, RESPONSES, SEAL_KEY_FILENAME):
        assert str(state / name) in message


async def test_it_is_noticed_without_a_request(localgate, make_fake, caplog):
    fake = await make_fake("anthropic", "work")
    await localgate([account("work", "anthropic", fake.url)])
    with caplog.at_level(logging.ERROR, logger="localgate"):
        shutil.rmtree(default_state_dir())
        await until_back(ledger_path(default_state_dir()).name, RESPONSES, SEAL_KEY_FILENAME)
        await asyncio.sleep(1.5)  # another check or two: nothing more to say
    assert len(notices(caplog)) == 1


async def test_stored_responses_survive_and_new_ones_are_kept(localgate, make_fake):
    claude = await make_fake("anthropic", "claude")
    claude.script(Reply(text="Paris."), Reply(text="About 2 million."))
    accounts = [account("claude", "anthropic", claude.url)]
    client = await localgate(accounts)
    sdk = openai_sdk(client)
    first = await sdk.responses.create(model="claude-sonnet-4-5", input="Capital of France?")
    shutil.rmtree(default_state_dir())
    second = await sdk.responses.create(
        model="claude-sonnet-4-5", input="How many live there?", previous_response_id=first.id
    )
    assert second.output_text == "About 2 million."
    assert "Paris." in json.dumps(claude.requests[1].json["messages"])
    assert (await sdk.responses.retrieve(second.id)).output_text == "About 2 million."
    await client.close()
    # Restarted on the same state dir: both are in the file, the chain whole.
    client = await localgate(accounts)
    sdk = openai_sdk(client)
    assert (await sdk.responses.retrieve(first.id)).output_text == "Paris."
    listed = await sdk.responses.input_items.list(second.id, order="asc")
    assert [i.type for i in listed.data] == ["message", "message", "message"]


async def test_a_compaction_sealed_after_the_deletion_opens_after_a_restart(localgate, make_fake):
    claude = await make_fake("anthropic", "claude")
    claude.script(Reply(text="We listed files; next: read a.txt."), Reply(text="Reading."))
    accounts = [account("claude", "anthropic", claude.url)]
    client = await localgate(accounts)
    shutil.rmtree(default_state_dir())
    await until_back(SEAL_KEY_FILENAME)
    body = {"model": "claude-sonnet-4-5", "input": [{"role": "user", "content": "list files"}]}
    resp = await client.post("/v1/responses/compact", json=body)
    (compaction,) = (await resp.json())["output"]
    await client.close()
    # A new daemon reads the key from the file: the one the old daemon sealed with.
    client = await localgate(accounts)
    history = [compaction, {"role": "user", "content": "go on"}]
    resp = await client.post(
        "/v1/responses", json={"model": "claude-sonnet-4-5", "input": history, "store": False}
    )
    assert resp.status == 200
    assert "x-localgate-dropped" not in resp.headers
    assert "We listed files; next: read a.txt." in json.dumps(claude.requests[-1].json)


async def test_a_dir_that_cannot_be_made_yet_is_said_once_and_nothing_is_lost(
    localgate, make_fake, caplog
):
    fake = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", fake.url)])
    ledger = ledger_of(client)
    await post_messages(client)
    await ledger.flush()
    state = default_state_dir()
    with caplog.at_level(logging.ERROR, logger="localgate"):
        shutil.rmtree(state)
        state.write_text("a file where the dir was")  # nothing can be made in it
        for _ in range(3):
            await post_messages(client)
            await ledger.flush()  # each flush checks, and fails again
        (failure,) = [m for m in notices(caplog) if "cannot be recreated" in m]
        assert str(ledger_path(state)) in failure
        state.unlink()
        await post_messages(client)
        await ledger.flush()
        await client.close()
    (recreated,) = [m for m in notices(caplog) if "cannot" not in m]
    assert str(ledger_path(state)) in recreated
    store = LedgerStore.open(ledger_path(state))
    try:
        assert store.count() == 5  # the rows written meanwhile went to the deleted file, copied
    finally:
        store.close()


async def test_a_check_for_one_file_recreates_only_its_parts(tmp_path):
    # The response store checks its own file before each save: one stat, and the
    # other deleted files are left to the next whole check.
    from localgate.statedir import StateDir

    state = StateDir(tmp_path)
    made: list[str] = []
    for name in ("ledger.sqlite3", "responses.sqlite3"):
        (tmp_path / name).write_text(name)

        async def recreate(name=name) -> None:
            made.append(name)
            (tmp_path / name).write_text(name)

        state.keep(tmp_path / name, recreate)
    for name in ("ledger.sqlite3", "responses.sqlite3"):
        (tmp_path / name).unlink()
    await state.check(tmp_path / "responses.sqlite3")
    assert made == ["responses.sqlite3"]
    assert not (tmp_path / "ledger.sqlite3").exists()
    await state.check()
    assert made == ["responses.sqlite3", "ledger.sqlite3"]
