"""No fail-open, no lost configuration: the token beyond loopback, config reloads, the keyring.

1. A daemon bound beyond loopback whose token disappears refuses (503), never serves.
2. A config file that is deleted, emptied or cut short keeps the last good config.
3. A keyring that fails during a reload keeps the secrets loaded, and is asked again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

import keyring
import pytest
from click.testing import CliRunner

from localgate.cli import main
from localgate.config import load_config
from localgate.proxytoken import ProxyTokenSource, load_proxy_token, rotate_proxy_token
from localgate.server import app as app_module
from localgate.server.app import create_app
from localgate.server.keys import GATEWAY
from tests.hardening.helpers import ANTHROPIC_KEY, COMPLETIONS, MESSAGES, assert_dialect_error
from tests.keyrings import WORKING, FailingKeyring, use_backend
from tests.support import account, write_config

# -- 1. the proxy token beyond loopback ---------------------------------------------


async def serve_bound(aiohttp_client, config_path, fake, bind_host):
    write_config(config_path, [account("ant", "anthropic", fake.url)])
    source = ProxyTokenSource()
    app = create_app(load_config(config_path), bind_host=bind_host, proxy_token=source)
    return await aiohttp_client(app), source


async def reread(source: ProxyTokenSource, expected: str | None) -> None:
    """Let the source re-read the token until it holds `expected` (fails after 20 s)."""
    watcher = asyncio.create_task(source.watch(interval=0.01))
    deadline = time.monotonic() + 20
    try:
        while source.value != expected:
            assert time.monotonic() < deadline, f"the token stayed {source.value!r}"
            await asyncio.sleep(0.01)
    finally:
        watcher.cancel()


@pytest.mark.parametrize("how", ["keyring file deleted", "token clear"])
async def test_token_lost_beyond_loopback_refuses_every_request(
    aiohttp_client, config_path, make_fake, how, caplog
):
    fake = await make_fake("anthropic", "ant")
    token = rotate_proxy_token()
    client, source = await serve_bound(aiohttp_client, config_path, fake, "0.0.0.0")
    auth = {"x-api-key": token}
    assert (await client.post(MESSAGES.path, json=MESSAGES.body, headers=auth)).status == 200
    if how == "token clear":
        from localgate.proxytoken import clear_proxy_token

        clear_proxy_token()
    else:
        os.remove(keyring.get_keyring().file_path)
    with caplog.at_level(logging.INFO, logger="localgate"):
        await reread(source, None)
    assert source.value is None
    assert "proxy token cleared" not in caplog.text and "token rotate" in caplog.text
    calls = len(fake.requests)
    for headers in ({}, auth, {"x-api-key": "anything"}):
        for route in (MESSAGES, COMPLETIONS):
            resp = await client.post(route.path, json=route.body, headers=headers)
            assert resp.status == 503
            body = assert_dialect_error(route.dialect, 503, await resp.read())
            assert "localgate token rotate" in str(body)
        assert (await client.get("/health", headers=headers)).status == 503
    assert len(fake.requests) == calls
    assert (await client.head("/")).status == 200  # the liveness probe stays open
    token = rotate_proxy_token()  # the fix the error names
    await reread(source, token)
    resp = await client.post(MESSAGES.path, json=MESSAGES.body, headers={"x-api-key": token})
    assert resp.status == 200


async def test_token_cleared_on_loopback_serves_as_before(aiohttp_client, config_path, make_fake):
    fake = await make_fake("anthropic", "ant")
    rotate_proxy_token()
    client, source = await serve_bound(aiohttp_client, config_path, fake, "127.0.0.1")
    from localgate.proxytoken import clear_proxy_token

    clear_proxy_token()
    await reread(source, None)
    assert (await client.post(MESSAGES.path, json=MESSAGES.body)).status == 200


@pytest.mark.parametrize("bind_host,refused", [("0.0.0.0", True), ("127.0.0.1", False)])
async def test_token_clear_refuses_while_a_daemon_beyond_loopback_runs(
    aiohttp_client, config_path, make_fake, bind_host, refused
):
    fake = await make_fake("anthropic", "ant")
    token = rotate_proxy_token()
    client, _ = await serve_bound(aiohttp_client, config_path, fake, bind_host)
    url = str(client.make_url("/"))
    result = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["--config", str(config_path), "token", "clear"],
        env={"LOCALGATE_URL": url},
    )
    if refused:
        assert result.exit_code != 0
        assert "listens beyond loopback" in result.output and "127.0.0.1" in result.output
        assert load_proxy_token() == token
    else:
        assert result.exit_code == 0, result.output
        assert load_proxy_token() is None


async def test_health_says_whether_the_daemon_is_beyond_loopback(
    aiohttp_client, config_path, make_fake
):
    fake = await make_fake("anthropic", "ant")
    token = rotate_proxy_token()
    client, _ = await serve_bound(aiohttp_client, config_path, fake, "0.0.0.0")
    health = await (await client.get("/health", headers={"x-api-key": token})).json()
    assert health["beyondLoopback"] is True


# -- 2. a config file that disappears, empties or breaks --------------------------------


@pytest.fixture
def fast_reload(monkeypatch):
    monkeypatch.setattr(app_module, "RELOAD_INTERVAL", 0.02)
    monkeypatch.setattr(app_module, "KEYRING_RETRY", 0.05, raising=False)


async def settle(done=None, timeout: float = 10.0) -> None:
    """Let the watcher act: until `done()` holds (a busy machine may take seconds),
    or for a moment when there is nothing to wait for but its absence."""
    if done is None:
        await asyncio.sleep(0.3)
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done() and loop.time() < deadline:
        await asyncio.sleep(0.02)


def as_written_by_hand(path) -> str:
    """The file's text with [[accounts]] tables, as people and the CLI write it."""
    from localgate.cli.config_file import dumps_toml
    from localgate.config import read_toml

    return dumps_toml(read_toml(path))


def cut_short(path):
    """The file as a writer interrupted mid-account would leave it."""
    text = as_written_by_hand(path)
    path.write_text(text[: text.index("[[accounts]]") + len("[[accounts]]\nna")])


def cut_before_accounts(path):
    """Valid TOML that lost every [[accounts]] table (cut between tables)."""
    text = as_written_by_hand(path)
    path.write_text(text[: text.index("[[accounts]]")])


BREAKS = {
    "emptied": lambda path: path.write_text(""),
    "deleted": lambda path: path.unlink(),
    "cut mid-account": cut_short,
    "cut before the accounts": cut_before_accounts,
    "comments only": lambda path: path.write_text("# nothing\n"),
}


@pytest.mark.parametrize("breaking", BREAKS, ids=list(BREAKS))
async def test_a_broken_config_keeps_the_last_good_one(
    localgate, make_fake, config_path, fast_reload, caplog, breaking
):
    fake = await make_fake("anthropic", "ant")
    accounts = [account("ant", "anthropic", fake.url)]
    client = await localgate(accounts, server={"max_wait": 0})
    with caplog.at_level(logging.INFO, logger="localgate"):
        BREAKS[breaking](config_path)
        await settle(lambda: any(r.levelno == logging.ERROR for r in caplog.records))
        await settle()  # and no second ERROR for the same change
        resp = await client.post(MESSAGES.path, json=MESSAGES.body)
        assert resp.status == 200
        errors = [
            r
            for r in caplog.records
            if r.levelno == logging.ERROR and r.name.startswith("localgate")
        ]
        assert len(errors) == 1, [r.getMessage() for r in errors]  # said once
        assert str(config_path) in errors[0].getMessage()
        assert "restore" in errors[0].getMessage() or "valid" in errors[0].getMessage()
        # Adopted again once valid: now with a second account.
        other = await make_fake("anthropic", "other")
        write_config(
            config_path,
            [*accounts, account("other", "anthropic", other.url)],
            server={"max_wait": 0},
        )
        await settle(lambda: set(client.server.app[GATEWAY].accounts) == {"ant", "other"})
    assert set(client.server.app[GATEWAY].accounts) == {"ant", "other"}


async def test_removing_the_last_account_with_the_cli_still_works(
    localgate, make_fake, config_path, fast_reload
):
    fake = await make_fake("anthropic", "ant")
    client = await localgate([account("ant", "anthropic", fake.url)])
    result = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["--config", str(config_path), "accounts", "remove", "ant"],
    )
    assert result.exit_code == 0, result.output
    await settle(lambda: client.server.app[GATEWAY].accounts == {})
    assert client.server.app[GATEWAY].accounts == {}
    resp = await client.post(MESSAGES.path, json=MESSAGES.body)
    assert resp.status == 503


# -- 3. a keyring that fails during a reload ----------------------------------------------


async def test_keyring_failing_on_reload_keeps_keys_and_recovers(
    localgate, make_fake, config_path, fast_reload, caplog, monkeypatch
):
    ant = await make_fake("anthropic", "ant")
    client = await localgate([account("ant", "anthropic", ant.url, key=ANTHROPIC_KEY)])
    gateway = client.server.app[GATEWAY]
    with caplog.at_level(logging.INFO, logger="localgate"):
        use_backend(monkeypatch, FailingKeyring)  # the daemon's reader's
        # A config change triggers the reload while the keyring fails; it adds an
        # account whose key the daemon never held.
        late = await make_fake("openai", "late")
        write_config(
            config_path,
            [
                {"name": "ant", "provider": "anthropic", "base_url": ant.url},
                {"name": "late", "provider": "openai", "base_url": late.url},
            ],
        )
        await settle(lambda: gateway.keyring_failed)
        assert gateway.keyring_failed
        resp = await client.post(MESSAGES.path, json=MESSAGES.body)
        assert resp.status == 200  # the key loaded before is still used
        assert ant.requests[-1].headers["x-api-key"] == ANTHROPIC_KEY
        assert (await client.post(COMPLETIONS.path, json=COMPLETIONS.body)).status == 503
        use_backend(monkeypatch, WORKING)
        from localgate.secrets import store_secret

        store_secret("late", "sk-late-secret-0123456789")
        # No config change needed: the keyring is asked again.
        await settle(lambda: not gateway.keyring_failed)
    assert not gateway.keyring_failed
    assert (await client.post(COMPLETIONS.path, json=COMPLETIONS.body)).status == 200
    assert (await client.post(MESSAGES.path, json=MESSAGES.body)).status == 200
    assert "c2stYW50" not in caplog.text and "Incorrect padding" not in caplog.text
    assert "ValueError" in caplog.text
    errors = [
        r for r in caplog.records if r.levelno == logging.ERROR and "keyring" in r.getMessage()
    ]
    assert len(errors) == 1  # said once, not on every retry


async def test_a_key_with_a_line_break_refuses_its_account_not_the_request(localgate, make_fake):
    # A key set outside localgate (`keyring set localgate NAME` with a pasted
    # second line) cannot go out in a header: the account is refused with the
    # fix, and its requests go to the next account instead of failing with a 500.
    broken = await make_fake("openai", "broken")
    good = await make_fake("openai", "good")
    keyring.set_password("localgate", "broken", "sk-one\nsk-two")
    client = await localgate(
        [
            {"name": "broken", "provider": "openai", "base_url": broken.url, "priority": 10},
            account("good", "openai", good.url),
        ],
        server={"strategy": "fill-first"},
    )
    resp = await client.post(COMPLETIONS.path, json=COMPLETIONS.body)
    assert resp.status == 200
    assert resp.headers["x-localgate-account"] == "good"
    assert broken.requests == []
    error = (
        client.server.app[GATEWAY].accounts["broken"].problem
    )  # the reason the account shows as invalid
    assert "holds a line break" in error and "sk-one" not in error
