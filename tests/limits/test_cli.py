"""`localgate limits`, `usage` and `models` through click, with the daemon live and absent."""

from __future__ import annotations

import json

from tests.fakes import Error, Reply, Usage
from tests.limits.live import HI, free_port, post_messages, run_cli, serve, written
from tests.support import account, write_config


async def test_limits_from_a_live_daemon(aiohttp_client, config_path, make_fake):
    a = await make_fake("anthropic", "a")
    b = await make_fake("anthropic", "b")
    client = await serve(
        aiohttp_client,
        config_path,
        [account("a", "anthropic", a.url, priority=1), account("b", "anthropic", b.url, rpm=9)],
        server={"strategy": "fill-first"},
    )
    a.script(Error(429, "slow down", headers={"retry-after": "120"}))
    await post_messages(client)
    result = await run_cli(config_path, "limits", "--json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert view["daemon"] is True and view["summary"]["cooling"] == 1
    assert [x["state"] for x in view["accounts"]] == ["cooling", "ok"]
    assert view["accounts"][1]["configured"] == {"rpm": {"limit": 9, "used": 1}}

    result = await run_cli(config_path, "limits")
    assert result.exit_code == 0, result.output
    assert "2 accounts: 1 ok, 1 cooling" in result.output
    assert "claude-opus-4-8 back in 1m5" in result.output or "back in 2m00s" in result.output
    assert "rpm 1/9" in result.output
    assert "wait 1m5" in result.output or "wait 2m00s" in result.output  # the matrix


async def test_limits_url_option(aiohttp_client, config_path, make_fake, tmp_path):
    fake = await make_fake("anthropic", "a")
    client = await serve(aiohttp_client, config_path, [account("a", "anthropic", fake.url)])
    other = write_config(tmp_path / "other.toml", [], server={"port": free_port()})
    url = str(client.make_url("/account-limits"))
    result = await run_cli(other, "limits", "--json", "--url", url)
    assert json.loads(result.output)["accounts"][0]["name"] == "a"


async def test_limits_without_a_daemon_reads_the_ledger(localgate, config_path, make_fake):
    fake = await make_fake("anthropic", "a")
    accounts = [account("a", "anthropic", fake.url), account("b", "anthropic", fake.url)]
    client = await localgate(accounts)
    fake.script(Error(401, "invalid x-api-key"))
    await post_messages(client)
    await client.close()
    write_config(config_path, accounts, server={"port": free_port()})  # nobody listens there
    result = await run_cli(config_path, "limits", "--json")
    assert result.exit_code == 0
    assert "is not running" in result.stderr
    view = json.loads(result.stdout)
    assert view["daemon"] is False
    states = {x["name"]: (x["state"], x["reason"]) for x in view["accounts"]}
    assert states["a"] == ("invalid", "401 invalid x-api-key")
    assert view["accounts"][1]["usage"]["requests_today"] == 1

    result = await run_cli(config_path, "limits")
    assert "not running: last known state" in result.output
    assert "invalid x-api-key" in result.output


async def test_limits_without_daemon_or_ledger(config_path):
    write_config(
        config_path, [account("a", "anthropic", "http://127.0.0.1:9")], server={"port": free_port()}
    )
    result = await run_cli(config_path, "limits")
    assert result.exit_code == 0 and "no ledger yet" in result.stderr
    assert "1 accounts: 1 ok" in result.stdout


async def test_usage_since_1d_adds_up_to_what_the_upstreams_reported(
    aiohttp_client, config_path, make_fake
):
    anthropic_fake = await make_fake("anthropic", "work")
    openai_fake = await make_fake("openai", "oa")
    client = await serve(
        aiohttp_client,
        config_path,
        [
            account("work", "anthropic", anthropic_fake.url),
            account("oa", "openai", openai_fake.url),
        ],
    )
    anthropic_fake.script(
        Reply(usage=Usage(input=11, output=7, cache_read=300, cache_creation=40)),
        Reply(usage=Usage(input=5, output=2)),
    )
    openai_fake.script(Reply(usage=Usage(input=20, output=9)))
    await post_messages(client)
    await post_messages(client)
    chat = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "x"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    async with client.post("/v1/chat/completions", json=chat) as resp:
        await resp.read()
    await written(client)

    result = await run_cli(config_path, "usage", "--since", "1d", "--json")
    report = json.loads(result.output)
    assert report["total"]["requests"] == 3
    assert report["total"]["input_tokens"] == 11 + 5 + 20
    assert report["total"]["output_tokens"] == 7 + 2 + 9
    assert report["total"]["cache_read_tokens"] == 300
    assert report["total"]["cache_creation_tokens"] == 40
    by_account = {row["account"]: row["tokens"] for row in report["rows"]}
    assert by_account == {"work": 11 + 7 + 300 + 40 + 5 + 2, "oa": 29}

    result = await run_cli(config_path, "usage", "--since", "1d", "--by", "model")
    assert result.exit_code == 0
    assert HI["model"] in result.output and "gpt-4o" in result.output
    assert "total" in result.output
    day = json.loads((await run_cli(config_path, "usage", "--by", "day", "--json")).output)
    assert len(day["rows"]) == 1 and day["rows"][0]["requests"] == 3


async def test_usage_without_a_ledger_and_bad_since(config_path):
    write_config(config_path, [])
    result = await run_cli(config_path, "usage")
    assert result.exit_code == 0 and "no usage recorded yet" in result.output
    assert json.loads((await run_cli(config_path, "usage", "--json")).output)["rows"] == []
    result = await run_cli(config_path, "usage", "--since", "yesterday-ish")
    assert result.exit_code == 2 and "--since" in result.output


async def test_models_from_the_daemon_and_from_the_config(aiohttp_client, config_path, make_fake):
    fake = await make_fake("anthropic", "a")
    fake.models = ["claude-opus-4-8", "claude-haiku-4-5"]
    client = await serve(aiohttp_client, config_path, [account("a", "anthropic", fake.url)])
    result = await run_cli(config_path, "models", "--json")
    assert json.loads(result.output) == {
        "source": "daemon",
        "models": ["claude-haiku-4-5", "claude-opus-4-8"],
    }
    assert "claude-opus-4-8" in (await run_cli(config_path, "models")).output
    await client.close()

    write_config(
        config_path,
        [account("a", "anthropic", fake.url)],
        server={"port": free_port()},
        aliases={"fast": ["claude-haiku-4-5"]},
    )
    report = json.loads((await run_cli(config_path, "models", "--json")).stdout)
    assert report["source"] == "config"
    assert report["models"] == [{"pattern": "claude-*", "accounts": ["a"]}]
    assert report["aliases"] == [{"name": "fast", "targets": ["claude-haiku-4-5"]}]
    text = await run_cli(config_path, "models")
    assert "claude-*" in text.stdout and "alias" in text.stdout
