"""The live feed observes gateway events; a slow or absent page never holds anything up."""

from __future__ import annotations

import asyncio
import time

from localgate.dashboard.feed import VIEWER_QUEUE, LiveFeed
from localgate.events import AttemptFailed, Events, RequestDone
from localgate.server.keys import FEED
from tests.limits.live import post_messages
from tests.support import account


def done(request_id: str, account: str = "work", status: int = 200) -> RequestDone:
    return RequestDone(
        request_id,
        "anthropic",
        "messages",
        "claude-x",
        False,
        status,
        time.time(),
        0.25,
        account=account,
    )


def test_failed_attempts_become_the_requests_failover_chain():
    feed = LiveFeed()
    feed(AttemptFailed("r1", "work", "claude-x", "rate_limited", "429 slow down", 30.0))
    feed(done("r1", account="spare"))
    feed(done("r2"))
    first, second = feed.history({})
    assert first["failovers"] == [
        {
            "account": "work",
            "model": "claude-x",
            "kind": "rate_limited",
            "reason": "429 slow down",
            "cooldown": 30.0,
        }
    ]
    assert second["failovers"] == [] and feed._chains == {}


def test_a_viewer_that_never_reads_keeps_only_the_newest_items():
    events = Events()
    feed = LiveFeed()
    events.subscribe(feed)
    stalled = feed.watch({})
    choosy = feed.watch({"account": "spare"})
    for n in range(20_000):
        events.emit(done(f"r{n}"))
    items, dropped = stalled.drain()
    assert len(items) == VIEWER_QUEUE and dropped == 20_000 - VIEWER_QUEUE
    assert items[-1]["id"] == "r19999"  # the oldest went, the newest stayed
    assert choosy.drain() == ([], 0)  # filtered out before queueing
    assert len(feed.recent) == 500


async def test_close_ends_open_streams():
    feed = LiveFeed()
    viewer = feed.watch({})
    waiter = asyncio.create_task(viewer.ready.wait())
    feed.close()
    await asyncio.wait_for(waiter, 1)
    assert viewer.closed


async def test_a_stalled_browser_does_not_slow_requests(dashboard, make_fake):
    """A page opens the stream and stops reading: its socket fills, its queue stays
    bounded, requests keep their pace; when the page goes, so does its viewer."""
    fake = await make_fake("anthropic", "a")
    client = await dashboard([account("work", "anthropic", fake.url)])
    feed = client.app[FEED]
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    host = f"127.0.0.1:{client.server.port}"
    writer.write(f"GET /ui/api/traffic/stream HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    while not feed.viewers:
        await asyncio.sleep(0.01)
    (viewer,) = feed.viewers
    for n in range(20_000):  # ~15 MB of events: more than the socket buffers hold
        feed(done(f"bulk{n}"))
        if n % 200 == 0:
            await asyncio.sleep(0)
    assert len(viewer.queue) <= VIEWER_QUEUE
    async with asyncio.timeout(30):  # a hang guard: a blocked loop would never answer
        for _ in range(10):
            await post_messages(client)
    writer.close()  # the page vanishes
    for _ in range(100):
        if not feed.viewers:
            break
        feed(done("nudge"))
        await asyncio.sleep(0.05)
    assert not feed.viewers
