"""Hundreds of concurrent requests with random faults and client disconnects.

Every answer must be whole or end in the dialect's error (never duplicated
output), and afterwards no connection is held, no task lingers and the open
file descriptors are back where they started.
"""

from __future__ import annotations

import asyncio
import json
import random

from tests.fakes import Cut, Delay, Error, Garbage, Hang, Reply
from tests.hardening.helpers import COMPLETIONS, MESSAGES, open_fds
from tests.support import account

REQUESTS = 300
CONCURRENCY = 100


def random_fault(rng: random.Random):
    """Mostly answers; every fault cools an account down, and too many leave none ready."""
    if rng.random() < 0.75:
        return rng.choice([Reply(text="abcdefghij", chunks=5, gap=0.01), Reply()])
    return rng.choice(
        [
            Error(429, "slow", headers={"retry-after": "0.2"}),
            Error(500, "boom", headers={}),
            Garbage(200, b"<html>proxy</html>"),
            Cut(after_events=0),
            Cut(after_events=3),
            Delay(0.05),
            Hang(),
        ]
    )


async def one_request(client, rng: random.Random) -> str:
    """Run one request the way a random client would; returns how it ended."""
    route = rng.choice([MESSAGES, COMPLETIONS])
    stream = rng.random() < 0.6
    body = route.stream_body if stream else route.body
    leave = rng.random() < 0.2  # the client goes away early
    request = asyncio.ensure_future(client.post(route.path, json=body))
    if leave and rng.random() < 0.5:
        await asyncio.sleep(rng.uniform(0, 0.1))
        request.cancel()
        await asyncio.gather(request, return_exceptions=True)
        return "left"
    try:
        resp = await asyncio.wait_for(request, 10)
    except TimeoutError:
        return "left"
    if leave:
        await resp.content.readany()
        resp.close()
        return "left"
    data = await resp.read()
    if resp.status != 200:
        assert resp.status in (429, 502, 503, 504), (resp.status, data[:200])
        json.loads(data)
        return f"error {resp.status}"
    if not stream:
        json.loads(data)
        return "whole"
    if route is MESSAGES:
        assert data.count(b"event: message_start") == 1, data[-300:]
        last = data.rstrip().rsplit(b"\n\n", 1)[-1]
        assert last.startswith((b"event: message_stop", b"event: error")), data[-300:]
    else:
        assert data.count(b'"role":"assistant"') == 1, data[-300:]
        assert data.rstrip().endswith(b"data: [DONE]") or b'"error"' in data, data[-300:]
    return "stream"


async def test_storm_leaves_nothing_behind(localgate, make_fake):
    from localgate.server.app import GATEWAY

    rng = random.Random(6)
    fakes = [
        await make_fake(kind, f"{kind}-{i}") for kind in ("anthropic", "openai") for i in (1, 2, 3)
    ]
    client = await localgate(
        [account(fake.name, fake.kind, fake.url) for fake in fakes],
        server={"strategy": "round-robin", "max_wait": 0.5},
        timeouts={"first_byte": 0.5, "idle": 0.5, "response": 2},
    )
    http = client.app[GATEWAY].http
    tasks_before = asyncio.all_tasks()
    fds_before = open_fds()
    for fake in fakes:
        fake.script(*(random_fault(rng) for _ in range(REQUESTS // 2)))
    limit = asyncio.Semaphore(CONCURRENCY)

    async def limited():
        async with limit:
            return await one_request(client, rng)

    outcomes = await asyncio.gather(*(limited() for _ in range(REQUESTS)))
    assert len(outcomes) == REQUESTS
    # Faults cool accounts down, so many requests meet "all cooling" (429): fine, as
    # long as plenty were served whole and every one ended in one of the ways above.
    assert outcomes.count("stream") + outcomes.count("whole") >= 50, outcomes

    # Nothing in flight: every upstream connection was released or closed.
    for _ in range(100):
        if not http.in_use:
            break
        await asyncio.sleep(0.02)
    assert not http.in_use
    # Drop idle keep-alive connections on both sides; then every fd must be back.
    await client.session.connector.close()
    await http.close()
    for _ in range(150):
        leftover = {t for t in asyncio.all_tasks() - tasks_before if not t.done()}
        leftover.discard(asyncio.current_task())
        if open_fds() <= fds_before and not leftover:
            break
        await asyncio.sleep(0.02)
    assert open_fds() <= fds_before
    assert not leftover, leftover
