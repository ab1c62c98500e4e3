"""The Realtime WebSocket: relayed both ways, keys swapped, failover before accepting."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from tests.fakes import Error, Reply
from tests.support import account

URL = "/v1/realtime?model=gpt-realtime"
CLIENT_KEY = {"Authorization": "Bearer client-key-not-forwarded"}


async def receive(socket) -> dict:
    message = await asyncio.wait_for(socket.receive(), 2)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


async def test_relayed_both_ways_with_the_accounts_key(localgate, make_fake):
    work = await make_fake("openai", "work")
    work.script(Reply(text="hi there", chunks=2, headers={}))
    client = await localgate([account("work", "openai", work.url)])
    async with client.ws_connect(URL, headers=CLIENT_KEY) as socket:
        created = await receive(socket)
        assert created["type"] == "session.created"
        assert created["session"]["model"] == "gpt-realtime"
        await socket.send_str(json.dumps({"type": "response.create"}))
        events = [await receive(socket) for _ in range(3)]
        assert [e["type"] for e in events] == [
            "response.output_text.delta",
            "response.output_text.delta",
            "response.done",
        ]
        await socket.send_bytes(b"\x01\x02\x03")
        echoed = await asyncio.wait_for(socket.receive(), 2)
        assert echoed.type == aiohttp.WSMsgType.BINARY and echoed.data == b"\x03\x02\x01"
    sent = work.requests[-1]
    assert sent.headers["authorization"] == "Bearer sk-test-work-secret"
    assert "client-key-not-forwarded" not in json.dumps(sent.headers)
    assert sent.query == {"model": "gpt-realtime"}


async def test_browser_subprotocol_key_is_replaced(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    protocols = ("realtime", "openai-insecure-api-key.sk-browser", "openai-beta.realtime-v1")
    async with client.ws_connect(URL, protocols=protocols) as socket:
        assert socket.protocol == "realtime"
        assert (await receive(socket))["type"] == "session.created"
    offered = work.requests[-1].headers["sec-websocket-protocol"]
    assert offered == "realtime,openai-beta.realtime-v1"
    assert "sk-browser" not in json.dumps(work.requests[-1].headers)


async def test_the_proxy_token_may_come_as_the_subprotocol_key(localgate, make_fake):
    """Browsers cannot set headers on a socket: the token rides as the key subprotocol."""
    from localgate.proxytoken import rotate_proxy_token

    work = await make_fake("openai", "work")
    token = rotate_proxy_token()
    client = await localgate([account("work", "openai", work.url)])
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await client.ws_connect(URL, protocols=("realtime", "openai-insecure-api-key.wrong"))
    assert caught.value.status == 401
    protocols = ("realtime", f"openai-insecure-api-key.{token}")
    async with client.ws_connect(URL, protocols=protocols) as socket:
        assert (await receive(socket))["type"] == "session.created"
    assert token not in json.dumps(work.requests[-1].headers)


async def test_a_refused_connect_fails_over_before_accepting(localgate, make_fake):
    first = await make_fake("openai", "first")
    second = await make_fake("openai", "second")
    first.script(Error(429))
    client = await localgate(
        [
            account("first", "openai", first.url, priority=10),
            account("second", "openai", second.url),
        ],
        server={"strategy": "fill-first"},
    )
    async with client.ws_connect(URL, headers=CLIENT_KEY) as socket:
        assert (await receive(socket))["type"] == "session.created"
    assert len(first.requests) == 1 and len(second.requests) == 1
    from localgate.server.app import GATEWAY

    status = {s.name: s.state for s in client.app[GATEWAY].pool.status()}
    assert status["first"] == "cooling"


@pytest.mark.parametrize(
    "refusal, status",
    [
        (Error(429, headers={"retry-after": "30"}), 429),  # no account left: not a socket
        (Error(404, "The model does not exist"), 404),  # the upstream's own refusal
    ],
)
async def test_a_refused_connect_is_an_http_error(localgate, make_fake, refusal, status):
    work = await make_fake("openai", "work")
    work.script(refusal)
    client = await localgate([account("work", "openai", work.url)])
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await client.ws_connect(URL, headers=CLIENT_KEY)
    assert caught.value.status == status


async def test_missing_model_is_a_400(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    resp = await client.get("/v1/realtime", headers={"Upgrade": "websocket"})
    assert resp.status == 400 and work.requests == []


async def test_client_closing_closes_the_upstream(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    socket = await client.ws_connect(URL, headers=CLIENT_KEY)
    await receive(socket)
    await socket.close()
    await asyncio.wait_for(work.socket_closed.wait(), 2)


async def test_upstream_closing_closes_the_client_with_its_code(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    async with client.ws_connect(URL, headers=CLIENT_KEY) as socket:
        await receive(socket)
        await socket.send_str(json.dumps({"type": "test.close"}))
        closing = await asyncio.wait_for(socket.receive(), 2)
        assert closing.type == aiohttp.WSMsgType.CLOSE
        assert socket.close_code == 4001


async def test_usage_of_each_response_lands_in_the_record(localgate, make_fake):
    from localgate.server.app import GATEWAY

    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)])
    done: list = []
    client.app[GATEWAY].events.subscribe(done.append)
    async with client.ws_connect(URL, headers=CLIENT_KEY) as socket:
        await receive(socket)
        for _ in range(2):
            await socket.send_str(json.dumps({"type": "response.create"}))
            while (await receive(socket))["type"] != "response.done":
                pass
    for _ in range(50):
        if any(hasattr(e, "op") for e in done):
            break
        await asyncio.sleep(0.02)
    (record,) = [e for e in done if hasattr(e, "op")]
    assert record.op == "realtime" and record.account == "work"
    assert (record.usage.input_tokens, record.usage.output_tokens) == (20, 10)


@pytest.mark.parametrize(
    ("caps", "size"),
    [({"max_event_mb": 1}, 3 << 20), ({"max_body_mb": 1}, 3 << 20)],
    ids=["from-upstream", "from-client"],
)
async def test_a_message_past_its_cap_closes_the_socket_1009(localgate, make_fake, caps, size):
    # Each message is held whole before it is relayed: a client's is capped by
    # max_body_mb, the upstream's by max_event_mb (the fake echoes what it gets).
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)], server=caps)
    async with client.ws_connect(URL, headers=CLIENT_KEY, max_msg_size=0) as socket:
        assert (await receive(socket))["type"] == "session.created"
        await socket.send_bytes(b"x" * size)
        message = await asyncio.wait_for(socket.receive(), 5)
        assert message.type == aiohttp.WSMsgType.CLOSE, message.type
        assert message.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
