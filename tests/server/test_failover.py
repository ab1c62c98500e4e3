"""Failover before the first byte, never after it; cooldowns; every way to give up."""

from __future__ import annotations

import asyncio

import anthropic
import pytest

from tests.fakes import Cut, Delay, Error, Garbage, Hang, Reply
from tests.sdks import anthropic_sdk, openai_sdk
from tests.support import account, preferred_pair

HI = {"model": "claude-opus-4-8", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
FILL_FIRST = {"strategy": "fill-first"}


async def two_accounts(localgate, make_fake, **tables):
    return await preferred_pair(localgate, make_fake, "anthropic", **tables)


def cooldown_of(client, name):
    from localgate.server.app import GATEWAY

    return {s.name: s for s in client.app[GATEWAY].pool.status()}[name]


@pytest.mark.parametrize(
    "failure",
    [
        Error(429, "slow down", headers={"retry-after": "30"}),
        Error(500, "boom"),
        Error(529, "Overloaded"),
        Error(503, "unavailable"),
        Garbage(200, b"<html>proxy error</html>"),
    ],
)
async def test_failure_moves_to_next_account_unseen(localgate, make_fake, failure):
    client, first, second = await two_accounts(localgate, make_fake)
    first.script(failure)
    message = await anthropic_sdk(client).messages.create(**HI)
    assert message.content[0].text == "Hello from second"
    assert len(first.requests) == 1 and len(second.requests) == 1


async def test_streaming_failover_before_first_byte(localgate, make_fake):
    client, first, second = await two_accounts(localgate, make_fake)
    first.script(Error(429, "slow down", headers={"retry-after": "30"}))
    async with anthropic_sdk(client).messages.stream(**HI) as stream:
        text = await stream.get_final_text()
    assert text == "Hello from second"


async def test_retry_after_sets_the_cooldown(localgate, make_fake):
    client, first, second = await two_accounts(localgate, make_fake)
    first.script(Error(429, "slow down", headers={"retry-after": "42"}))
    await anthropic_sdk(client).messages.create(**HI)
    status = cooldown_of(client, "first")
    assert status.state == "cooling"
    ((model, until, reason, _kind),) = status.cooldowns
    import time

    assert model == "claude-opus-4-8" and 38 < until - time.time() <= 42.5
    # The cooling account is skipped: the next request goes straight to the second.
    await anthropic_sdk(client).messages.create(**HI)
    assert len(first.requests) == 1 and len(second.requests) == 2


async def test_openai_reset_header_sets_the_cooldown(localgate, make_fake):
    import time

    a = await make_fake("openai", "a")
    b = await make_fake("openai", "b")
    client = await localgate(
        [account("a", "openai", a.url, priority=1), account("b", "openai", b.url)],
        server=FILL_FIRST,
    )
    a.script(
        Error(
            429,
            "Rate limit reached",
            headers={"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"},
        )
    )
    done = await openai_sdk(client).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}]
    )
    assert done.choices[0].message.content == "Hello from b"
    ((_, until, *_),) = cooldown_of(client, "a").cooldowns
    assert 350 < until - time.time() <= 360.5


async def test_auth_failure_marks_invalid_and_skips(localgate, make_fake):
    client, first, second = await two_accounts(localgate, make_fake)
    first.script(Error(401, "invalid x-api-key"))
    await anthropic_sdk(client).messages.create(**HI)
    status = cooldown_of(client, "first")
    assert status.state == "invalid" and "invalid x-api-key" in status.reason
    await anthropic_sdk(client).messages.create(**HI)
    assert len(first.requests) == 1


async def test_bad_request_goes_back_as_is(localgate, make_fake):
    client, first, second = await two_accounts(localgate, make_fake)
    first.script(Error(400, "messages: at least one message is required"))
    with pytest.raises(anthropic.BadRequestError) as caught:
        await anthropic_sdk(client).messages.create(**HI)
    assert "at least one message" in str(caught.value)
    assert len(second.requests) == 0


async def test_no_retry_after_bytes_were_streamed(localgate, make_fake):
    client, first, second = await two_accounts(localgate, make_fake)
    first.script(Cut(after_events=4))  # message_start, block start, ping, first text delta
    resp = await client.post("/v1/messages", json={**HI, "stream": True})
    text = (await resp.read()).decode()
    assert resp.status == 200
    assert text.rstrip().splitlines()[-2] == "event: error"
    assert '"type":"error"' in text.replace(" ", "")
    assert len(second.requests) == 0  # never retried: that would duplicate output
    assert text.count("event: message_start") == 1


async def test_slow_first_byte_times_out_and_fails_over(localgate, make_fake):
    client, first, second = await two_accounts(localgate, make_fake, timeouts={"first_byte": 0.3})
    first.script(Delay(5, then=Reply()))
    async with anthropic_sdk(client).messages.stream(**HI) as stream:
        assert await stream.get_final_text() == "Hello from second"


async def test_connection_refused_fails_over(localgate, make_fake):
    second = await make_fake("anthropic", "second")
    client = await localgate(
        [
            account("dead", "anthropic", "http://127.0.0.1:9", priority=5),
            account("second", "anthropic", second.url),
        ],
        server=FILL_FIRST,
    )
    message = await anthropic_sdk(client).messages.create(**HI)
    assert message.content[0].text == "Hello from second"
    assert cooldown_of(client, "dead").state == "cooling"


async def test_all_cooling_beyond_max_wait_is_429_with_retry_after(localgate, make_fake):
    client, first, second = await two_accounts(
        localgate, make_fake, server={"strategy": "fill-first", "max_wait": 1}
    )
    first.script(Error(429, "slow", headers={"retry-after": "120"}))
    second.script(Error(429, "slow", headers={"retry-after": "60"}))
    resp = await client.post("/v1/messages", json=HI)
    assert resp.status == 429
    assert 59 <= int(resp.headers["retry-after"]) <= 60
    body = await resp.json()
    assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"


async def test_short_cooldown_is_waited_out(localgate, make_fake):
    solo = await make_fake("anthropic", "solo")
    client = await localgate([account("solo", "anthropic", solo.url)])
    solo.script(Error(429, "slow", headers={"retry-after": "0.5"}))
    message = await anthropic_sdk(client).messages.create(**HI)
    assert message.content[0].text == "Hello from solo"
    assert len(solo.requests) == 2


async def test_server_error_storm_gives_502_in_dialect(localgate, make_fake):
    a = await make_fake("openai", "a")
    client = await localgate([account("a", "openai", a.url)], server={"max_wait": 0.5})
    a.default = Error(500, "internal")
    resp = await client.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
    )
    assert resp.status == 502
    body = await resp.json()
    assert body["error"]["type"] == "server_error" and "500 internal" in body["error"]["message"]


async def test_client_disconnect_closes_upstream(localgate, make_fake):
    work = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", work.url)])
    work.script(Reply(text="x" * 50, chunks=50, gap=0.05))
    resp = await client.post("/v1/messages", json={**HI, "stream": True})
    await resp.content.readany()
    resp.close()
    for _ in range(40):
        if work.disconnects:
            break
        await asyncio.sleep(0.05)
    assert work.disconnects == 1


async def test_hanging_upstream_and_disconnecting_client(localgate, make_fake):
    work = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", work.url)])
    work.script(Hang())
    task = asyncio.ensure_future(client.post("/v1/messages", json={**HI, "stream": True}))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not work.requests:  # the upstream has it, and hangs
        assert loop.time() < deadline, "the request never reached the upstream"
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    for _ in range(40):
        if work.disconnects:
            break
        await asyncio.sleep(0.05)
    assert work.disconnects == 1


async def test_a_client_leaving_after_the_streams_head_frees_its_connection(localgate, make_fake):
    """The upstream sent its head and is slow with the first content; the client
    goes away while localgate waits for it: the upstream connection must be
    dropped, not kept busy for ever (a storm of disconnects found this)."""
    from localgate.server.app import GATEWAY

    work = await make_fake("anthropic", "work")
    work.default = Reply(text="slow words", chunks=2, gap=2.0)
    client = await localgate([account("work", "anthropic", work.url)])
    http = client.app[GATEWAY].http
    task = asyncio.ensure_future(client.post("/v1/messages", json={**HI, "stream": True}))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not work.requests:
        assert loop.time() < deadline, "the request never reached the upstream"
        await asyncio.sleep(0.01)
    # The head and message_start are in (had they not, the cancel would meet the
    # request itself, which the client library drops: the test passes, proving less).
    await asyncio.sleep(0.5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    for _ in range(100):
        if not http.in_use:
            break
        await asyncio.sleep(0.05)
    assert http.in_use == 0
    assert work.disconnects == 1


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (b"404: Not Found", "404: Not Found"),
        (b"<html>\n<body>Not Found</body>\n</html>", "<html> <body>Not Found</body> </html>"),
        (b"", "(empty body)"),
    ],
)
async def test_a_refusal_that_is_not_json_reaches_the_client_in_its_dialect(
    localgate, make_fake, body, shown
):
    """An upstream without the route (plain text from its framework, HTML from a proxy)
    refuses the request; the client's SDK still reads an error in its own shape."""
    client, first, second = await two_accounts(localgate, make_fake)
    first.script(Error(404, body=body))
    with pytest.raises(anthropic.NotFoundError) as caught:
        await anthropic_sdk(client).messages.create(**HI)
    error = caught.value.body["error"]  # parsed: the SDK read JSON
    assert error["type"] == "not_found_error"
    assert error["message"] == f"{first.name}: {shown}"
    assert len(second.requests) == 0  # a refusal of the request, not of the account
