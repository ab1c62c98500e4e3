"""The ledger in a running app: nothing lost under concurrency, everything kept over a restart."""

from __future__ import annotations

import asyncio

from localgate.ledger import LedgerStore, ledger_path
from tests.fakes import Error, Reply, Usage
from tests.limits.live import HI, ledger_of, pool_of, post_messages, written
from tests.support import account


def store_of(tmp_state):
    return LedgerStore.open(ledger_path(tmp_state))


def state_dir():
    from localgate.config import default_state_dir

    return default_state_dir()


async def test_hundreds_of_concurrent_requests_are_all_written(localgate, make_fake):
    fake = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", fake.url)])
    ledger = ledger_of(client)
    ledger.batch = 64  # several batches race with the requests
    await asyncio.gather(*(post_messages(client) for _ in range(300)))
    await client.close()  # the app's cleanup writes what is left
    assert ledger.written == 300
    store = store_of(state_dir())
    try:
        assert store.count() == 300
        (row,) = store.usage(0, "account")
        assert (row.key, row.requests, row.input_tokens, row.output_tokens) == (
            "work",
            300,
            3000,
            1500,
        )
    finally:
        store.close()


async def test_rows_cooldowns_and_invalid_marks_survive_a_restart(localgate, make_fake):
    import time

    work = await make_fake("anthropic", "work")
    spare = await make_fake("anthropic", "spare")
    broken = await make_fake("anthropic", "broken")
    accounts = [
        account("broken", "anthropic", broken.url, priority=20),
        account("work", "anthropic", work.url, priority=10),
        account("spare", "anthropic", spare.url),
    ]
    client = await localgate(accounts, server={"strategy": "fill-first"})
    broken.script(Error(401, "invalid x-api-key"))
    work.script(Error(429, "slow down", headers={"retry-after": "600"}))
    await post_messages(client)  # broken → invalid, work → cooling, spare serves
    await client.close()

    client = await localgate(accounts, server={"strategy": "fill-first"})
    status = {s.name: s for s in pool_of(client).status()}
    assert status["broken"].state == "invalid" and "invalid x-api-key" in status["broken"].reason
    assert status["work"].state == "cooling"
    ((model, until, reason, _kind),) = status["work"].cooldowns
    assert model == HI["model"] and 590 < until - time.time() <= 600.5
    assert status["spare"].requests_today == 1
    await post_messages(client)  # still skips both
    assert (len(broken.requests), len(work.requests), len(spare.requests)) == (1, 1, 2)
    await client.close()
    store = store_of(state_dir())
    try:
        # The accounts that failed count their failed attempt, though they served nothing.
        rows = [(r.key, r.requests, r.failed_attempts) for r in store.usage(0, "account")]
        assert rows == [("broken", 0, 1), ("spare", 2, 0), ("work", 0, 1)]
    finally:
        store.close()


async def test_a_fixed_key_clears_the_saved_invalid_mark(localgate, make_fake):
    fake = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", fake.url)])
    fake.script(Error(401, "invalid x-api-key"))
    async with client.post("/v1/messages", json=HI) as resp:
        assert resp.status == 503
    await client.close()
    client = await localgate([account("work", "anthropic", fake.url, key="sk-new-key")])
    assert pool_of(client).status()[0].state == "ok"
    await post_messages(client)


async def test_configured_limits_hold_across_a_restart(localgate, make_fake):
    a = await make_fake("anthropic", "a")
    b = await make_fake("anthropic", "b")
    accounts = [
        account("a", "anthropic", a.url, priority=1, rpm=2),
        account("b", "anthropic", b.url),
    ]
    client = await localgate(accounts, server={"strategy": "fill-first"})
    await post_messages(client)
    await post_messages(client)
    await client.close()
    client = await localgate(accounts, server={"strategy": "fill-first"})
    await post_messages(client)  # a already spent its rpm before the restart
    assert (len(a.requests), len(b.requests)) == (2, 1)


async def test_provider_figures_survive_a_restart(localgate, make_fake):
    a = await make_fake("anthropic", "a")
    b = await make_fake("anthropic", "b")
    accounts = [account("a", "anthropic", a.url, priority=1), account("b", "anthropic", b.url)]
    client = await localgate(accounts, server={"strategy": "fill-first"})
    a.script(Reply(headers=spent_headers()))
    await post_messages(client)
    await client.close()
    client = await localgate(accounts, server={"strategy": "fill-first"})
    await post_messages(client)
    assert (len(a.requests), len(b.requests)) == (1, 1)


def spent_headers() -> dict:
    from datetime import UTC, datetime, timedelta

    reset = (datetime.now(UTC) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": reset,
    }


async def test_usage_rows_hold_what_the_upstream_reported(localgate, make_fake):
    fake = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", fake.url)])
    fake.script(Reply(usage=Usage(input=7, output=3, cache_read=100, cache_creation=20)))
    await post_messages(client)
    await written(client)
    store = store_of(state_dir())
    try:
        (row,) = store.usage(0, "model")
        assert (row.key, row.input_tokens, row.output_tokens) == (HI["model"], 7, 3)
        assert (row.cache_read_tokens, row.cache_creation_tokens, row.errors) == (100, 20, 0)
    finally:
        store.close()
