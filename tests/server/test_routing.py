"""Error shapes for requests nothing can serve, strategies end to end, hot reload."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes import Error
from tests.server.test_failover import HI
from tests.support import account, write_config

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}


async def test_no_accounts_health_and_503_in_each_dialect(localgate):
    client = await localgate([])
    health = await (await client.get("/health")).json()
    assert health["status"] == "ok" and health["accounts"] == 0
    resp = await client.post("/v1/messages", json=HI)
    assert resp.status == 503
    body = await resp.json()
    assert body["type"] == "error" and "localgate accounts add" in body["error"]["message"]
    resp = await client.post("/v1/chat/completions", json=CHAT)
    assert resp.status == 503
    assert "localgate accounts add" in (await resp.json())["error"]["message"]
    resp = await client.head("/")
    assert resp.status == 200 and resp.headers["x-request-id"]


async def test_unknown_model_is_404_in_dialect(localgate, make_fake):
    work = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", work.url)])
    resp = await client.post("/v1/chat/completions", json={**CHAT, "model": "mistral-large"})
    assert resp.status == 404
    error = (await resp.json())["error"]
    assert error["code"] == "model_not_found" and "mistral-large" in error["message"]
    assert error["param"] == "model"


async def test_disabled_accounts_give_503_naming_the_fix(localgate, make_fake):
    work = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", work.url, enabled=False)])
    resp = await client.post("/v1/messages", json=HI)
    assert resp.status == 503
    assert "localgate accounts enable" in (await resp.json())["error"]["message"]


async def test_missing_key_gives_503_naming_the_command(localgate, make_fake):
    work = await make_fake("anthropic", "work")
    client = await localgate([{"name": "work", "provider": "anthropic", "base_url": work.url}])
    resp = await client.post("/v1/messages", json=HI)
    assert resp.status == 503
    message = (await resp.json())["error"]["message"]
    assert "localgate accounts edit work --key" in message
    assert not work.requests


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/v1/messages", b"{not json", "not valid JSON"),
        ("/v1/messages", b"[1, 2]", "JSON object"),
        ("/v1/messages", b'{"model": "claude-x", "messages": []}', "max_tokens"),
        ("/v1/messages", b'{"model": 5, "max_tokens": 1, "messages": []}', "model"),
        ("/v1/chat/completions", b'{"model": "gpt-4o"}', "messages"),
        ("/v1/chat/completions", b'{"model": "gpt-4o", "messages": [], "stream": "yes"}', "stream"),
    ],
)
async def test_malformed_requests_are_400_and_never_sent(
    localgate, make_fake, path, body, fragment
):
    work = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", work.url)])
    resp = await client.post(path, data=body, headers={"content-type": "application/json"})
    assert resp.status == 400
    payload = await resp.json()
    error = payload["error"]
    assert fragment in error["message"]
    if path.startswith("/v1/messages"):
        assert payload["type"] == "error" and error["type"] == "invalid_request_error"
    assert not work.requests


async def test_unknown_route_is_404_in_dialect(localgate):
    client = await localgate([])
    resp = await client.post("/v1/messages/batches", json={})
    assert resp.status == 404
    assert (await resp.json())["type"] == "error"


async def served_by(client, n, *, headers=None, body=HI):
    names = []
    for _ in range(n):
        resp = await client.post("/v1/messages", json=body, headers=headers or {})
        assert resp.status == 200
        names.append(resp.headers["x-localgate-account"])
    return names


async def three(localgate, make_fake, strategy):
    fakes = [await make_fake("anthropic", n) for n in ("a", "b", "c")]
    client = await localgate(
        [
            account(f.name, "anthropic", f.url, priority=p)
            for f, p in zip(fakes, (0, 5, 1), strict=True)
        ],
        server={"strategy": strategy},
    )
    return client, fakes


async def test_round_robin_spreads(localgate, make_fake):
    client, _ = await three(localgate, make_fake, "round-robin")
    names = await served_by(client, 6)
    assert sorted(names) == ["a", "a", "b", "b", "c", "c"]


async def test_fill_first_uses_highest_priority(localgate, make_fake):
    client, fakes = await three(localgate, make_fake, "fill-first")
    assert await served_by(client, 3) == ["b", "b", "b"]
    fakes[1].script(Error(429, "slow", headers={"retry-after": "60"}))
    assert await served_by(client, 2) == ["c", "c"]


async def test_sticky_keeps_a_claude_code_session_on_one_account(localgate, make_fake):
    client, _ = await three(localgate, make_fake, "sticky")
    one = await served_by(client, 4, headers={"X-Claude-Code-Session-Id": "s-1"})
    two = await served_by(client, 4, headers={"X-Claude-Code-Session-Id": "s-2"})
    assert len(set(one)) == 1 and len(set(two)) == 1


async def test_sticky_session_from_metadata_user_id(localgate, make_fake):
    client, _ = await three(localgate, make_fake, "sticky")
    body = {**HI, "metadata": {"user_id": '{"device_id":"d","session_id":"abc"}'}}
    assert len(set(await served_by(client, 4, body=body))) == 1


async def test_hot_reload_adds_an_account_without_restart(localgate, make_fake, config_path):
    from localgate.server import app as app_module

    app_module.RELOAD_INTERVAL = 0.05
    try:
        client = await localgate([])
        assert (await client.post("/v1/messages", json=HI)).status == 503
        work = await make_fake("anthropic", "work")
        write_config(config_path, [account("work", "anthropic", work.url)])
        for _ in range(100):
            resp = await client.post("/v1/messages", json=HI)
            if resp.status == 200:
                break
            await asyncio.sleep(0.05)
        assert resp.status == 200 and resp.headers["x-localgate-account"] == "work"
        # A broken edit keeps the last good config serving.
        config_path.write_text("[[accounts]]\nname = 'x'\nprovider = 'nope'\n")
        await asyncio.sleep(0.3)
        assert (await client.post("/v1/messages", json=HI)).status == 200
    finally:
        app_module.RELOAD_INTERVAL = 1.0


async def test_request_log_line(localgate, make_fake, caplog):
    from localgate.requestlog import RequestLog
    from localgate.server.app import GATEWAY

    work = await make_fake("anthropic", "work")
    client = await localgate([account("work", "anthropic", work.url)])
    client.app[GATEWAY].events.subscribe(RequestLog())
    with caplog.at_level("INFO", logger="localgate.requests"):
        response = await client.post("/v1/messages", json=HI)
    records = [r for r in caplog.records if r.name == "localgate.requests"]
    assert len(records) == 1
    line = records[0].getMessage()
    assert records[0].request_id == response.headers["x-request-id"]
    assert "anthropic" in line and "claude-opus-4-8 → work 200" in line and "in=" in line
    assert "sk-test" not in line
