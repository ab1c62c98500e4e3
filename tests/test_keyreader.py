"""The daemon's keyring reads, made by a child process: what comes back, and that
the daemon itself never loads keyring."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import keyring
import keyring.core

from localgate.config import load_config
from localgate.errors import KeyringFailed, KeyringUnavailable
from localgate.keyreader import read_keys
from localgate.proxytoken import (
    PROXY_TOKEN_USER,
    ProxyTokenSource,
    TokenApart,
    rotate_proxy_token,
    token_stamp,
)
from localgate.secrets import delete_secret, get_secret, store_secret
from localgate.server import token_source
from localgate.server.app import create_app
from localgate.server.keys import GATEWAY
from tests.keyrings import DYING, FailingKeyring, use_backend
from tests.support import account, write_config


def test_the_child_reads_what_the_keyring_holds():
    store_secret("work", "sk-work-0123456789")
    keys = read_keys(["work", "absent", "work"])
    assert keys.get("work") == "sk-work-0123456789"
    assert keys.get("absent") is None
    # The test keyring is keyrings.alt's plaintext file: said, and kept private.
    assert str(keys.plaintext) == keyring.get_keyring().file_path
    assert os.stat(keys.plaintext).st_mode & 0o777 == 0o600


def test_a_failing_backend_comes_back_as_keyring_failed_without_its_text(monkeypatch):
    use_backend(monkeypatch, FailingKeyring)
    keys = read_keys(["work"])
    try:
        keys.get("work")
    except KeyringFailed as exc:
        message = str(exc)
    else:
        raise AssertionError("no error")
    assert "ValueError" in message and "unlocked" in message
    assert "c2stYW50" not in message and "padding" not in message


def test_no_backend_comes_back_as_keyring_unavailable(monkeypatch):
    use_backend(monkeypatch, "keyring.backends.fail.Keyring")
    keys = read_keys(["work"])
    try:
        keys.get("work")
    except KeyringUnavailable as exc:
        assert "key_env" in str(exc)  # the fixes, as the CLI says them
    else:
        raise AssertionError("no error")


def test_a_child_that_fails_fails_every_name(monkeypatch):
    use_backend(monkeypatch, DYING)  # the child dies making it
    keys = read_keys(["a", "b"])
    for name in ("a", "b"):
        try:
            keys.get(name)
        except KeyringFailed as exc:
            assert "exit status 3" in str(exc)
        else:
            raise AssertionError("no error")


def test_a_backend_that_cannot_be_loaded_is_named_with_the_fix(monkeypatch):
    use_backend(monkeypatch, "no.such.Backend")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # chosen afresh here too
    for keys in (read_keys(["a"]), None):  # the daemon's child, and the CLI in-process
        try:
            keys.get("a") if keys else get_secret("a")
        except KeyringUnavailable as exc:
            assert "'no.such.Backend'" in str(exc) and "unset it" in str(exc)
        else:
            raise AssertionError("no error")


# The daemon's start, as `localgate serve` makes it (token source, app, accounts
# built), in a process of its own: one request served with the keyring's key, and
# keyring's modules never loaded.
DAEMON = """
import asyncio, json, sys
import aiohttp
from aiohttp import web
from localgate.config import load_config
from localgate.secrets import delete_secret, get_secret, store_secret
from localgate.server import token_source
from localgate.server.app import create_app

async def main():
    config = load_config(sys.argv[1])
    token, plaintext, keys = token_source("127.0.0.1", config)
    app = create_app(config, bind_host="127.0.0.1", proxy_token=token, keys=keys)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    body = {"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}]}
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        async with http.post(url, json=body) as resp:
            status = resp.status
    await runner.cleanup()
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("keyring", "keyrings"))
    print(json.dumps({"status": status, "loaded": loaded, "plaintext": str(plaintext)}))

asyncio.run(main())
"""


async def test_the_daemon_serves_with_keyring_keys_and_never_loads_keyring(make_fake, tmp_path):
    fake = await make_fake("openai", "gpt")
    config = tmp_path / "config.toml"
    key = "sk-gpt-from-the-keyring-0123"
    write_config(config, [account("gpt", "openai", fake.url, key=key, models=["gpt-x"])])
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-c", DAEMON, str(config), stdout=subprocess.PIPE
    )
    out, _ = await done.communicate()
    result = json.loads(out)
    assert result["status"] == 200
    assert fake.requests[-1].headers["authorization"] == f"Bearer {key}"
    assert result["loaded"] == []
    assert result["plaintext"] == keyring.get_keyring().file_path


async def test_a_start_on_loopback_reads_the_keyring_once(
    aiohttp_client, make_fake, tmp_path, monkeypatch
):
    fake = await make_fake("openai", "gpt")
    config_file = tmp_path / "config.toml"
    write_config(config_file, [account("gpt", "openai", fake.url, models=["gpt-x"])])
    rotate_proxy_token()
    children = []
    run = subprocess.run

    def counted(*args, **kwargs):
        children.append(args)
        return run(*args, **kwargs)

    monkeypatch.setattr(subprocess, "run", counted)
    config = load_config(config_file)
    token, _, keys = token_source("127.0.0.1", config)
    client = await aiohttp_client(create_app(config, proxy_token=token, keys=keys))
    assert token.value and client.server.app[GATEWAY].accounts["gpt"].provider is not None
    assert len(children) == 1  # the token and the account's key, together


async def test_on_loopback_the_token_is_read_when_rotate_says_so_and_only_then():
    reads = []
    apart = TokenApart()

    def read():
        reads.append(time.monotonic())
        return apart()

    source = ProxyTokenSource(read, stamp=token_stamp())
    assert source.value is None and len(reads) == 1
    watcher = asyncio.create_task(source.watch(interval=0.01))
    try:
        await asyncio.sleep(0.2)
        assert len(reads) == 1  # nothing changed: the keyring is not asked
        token = rotate_proxy_token()
        deadline = time.monotonic() + 20
        while source.value != token:
            assert time.monotonic() < deadline, "the rotated token was not read"
            await asyncio.sleep(0.01)
        assert len(reads) == 2
    finally:
        watcher.cancel()


async def test_beyond_loopback_the_token_is_read_in_process_every_few_seconds(tmp_path):
    config_file = tmp_path / "config.toml"
    write_config(config_file, [account("gpt", "openai", "http://127.0.0.1:9/v1")])
    token = rotate_proxy_token()
    source, plaintext, keys = token_source("192.0.2.1", load_config(config_file))
    assert source.value == token and keys is None
    assert str(plaintext) == keyring.get_keyring().file_path
    # Gone without `token clear` (no stamp touched): a daemon there must still see it.
    delete_secret(PROXY_TOKEN_USER)
    watcher = asyncio.create_task(source.watch(interval=0.01))
    try:
        deadline = time.monotonic() + 20
        while source.value is not None:
            assert time.monotonic() < deadline, "the vanished token was not noticed"
            await asyncio.sleep(0.01)
    finally:
        watcher.cancel()
