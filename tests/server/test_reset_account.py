"""An invalid or cooling account comes back with `accounts enable` (POST /reset-account)."""

from __future__ import annotations

from tests.fakes import Error
from tests.limits.live import post_messages, run_cli, serve
from tests.support import account


def states(client) -> dict[str, str]:
    from localgate.server.app import GATEWAY

    return {s.name: s.state for s in client.app[GATEWAY].pool.status()}


async def test_enable_clears_an_invalid_mark_in_the_running_daemon(
    aiohttp_client, config_path, make_fake
):
    a = await make_fake("anthropic", "a")
    b = await make_fake("anthropic", "b")
    client = await serve(
        aiohttp_client,
        config_path,
        [account("a", "anthropic", a.url, priority=1), account("b", "anthropic", b.url)],
        server={"strategy": "fill-first"},
    )
    a.script(Error(401, "invalid x-api-key"))
    await post_messages(client)  # served by b; a is now invalid
    assert states(client) == {"a": "invalid", "b": "ok"}

    result = await run_cli(config_path, "accounts", "enable", "a")  # already enabled in config
    assert result.exit_code == 0, result.output
    assert "already enabled" in result.output
    assert "the running daemon forgot its marks on 'a': now ok" in result.output
    assert states(client) == {"a": "ok", "b": "ok"}
    await post_messages(client)
    assert len(a.requests) == 2  # tried again (and answered, this time)


async def test_reset_route(aiohttp_client, config_path, make_fake):
    a = await make_fake("anthropic", "a")
    client = await serve(aiohttp_client, config_path, [account("a", "anthropic", a.url)])
    a.script(Error(429, "slow down", headers={"retry-after": "600"}))
    async with client.post(
        "/v1/messages",
        json={
            "model": "claude-x",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi"}],
        },
    ) as resp:
        assert resp.status == 429
    assert states(client) == {"a": "cooling"}
    async with client.post("/reset-account?account=a") as resp:
        assert resp.status == 200 and await resp.json() == {"name": "a", "state": "ok"}
    async with client.post("/reset-account?account=nope") as resp:
        assert resp.status == 404
        assert "no account named 'nope'" in (await resp.json())["error"]["message"]
    async with client.post("/reset-account") as resp:
        assert resp.status == 400 and (await resp.json())["error"]["param"] == "account"


async def test_enable_without_a_daemon_just_edits_the_config(config_path):
    from tests.limits.live import free_port
    from tests.support import write_config

    accounts = [account("a", "anthropic", "http://127.0.0.1:9", enabled=False)]
    write_config(config_path, accounts, server={"port": free_port()})
    result = await run_cli(config_path, "accounts", "enable", "a")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "enabled account 'a'"
