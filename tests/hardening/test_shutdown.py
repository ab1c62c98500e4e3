"""A real `localgate serve`: graceful shutdown on SIGTERM/SIGINT, and the bind guard."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time

import aiohttp
import pytest
from click.testing import CliRunner

from localgate.proxytoken import rotate_proxy_token
from tests.fakes import Hang, Reply
from tests.hardening.helpers import COMPLETIONS, MESSAGES
from tests.support import account, write_config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def serve(config_path, port: int):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "localgate", "--config", str(config_path), "serve",
        "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    deadline = time.monotonic() + 15
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"http://127.0.0.1:{port}/health") as resp:
                    if resp.status == 200:
                        return proc
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    proc.kill()
    raise AssertionError((await proc.stdout.read()).decode())


async def refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    return False


async def refused_soon(port: int, within: float = 20.0) -> bool:
    """Whether `port` refuses connections within `within` s: a signal is handled later."""
    deadline = time.monotonic() + within
    while not await refused(port):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_in_flight_stream_finishes_then_exit_0(config_path, make_fake, sig):
    fake = await make_fake("anthropic", "work")
    # ~4 s: still streaming when the listener is seen closed, however slow that is.
    fake.default = Reply(text="abcdefghijklmnopqrst", chunks=20, gap=0.2)
    write_config(config_path, [account("work", "anthropic", fake.url)])
    port = free_port()
    proc = await serve(config_path, port)
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"http://127.0.0.1:{port}/v1/messages", json=MESSAGES.stream_body
        ) as resp:
            first = await resp.content.readany()
            proc.send_signal(sig)
            reading = asyncio.ensure_future(resp.read())
            assert await refused_soon(port)  # no new connections …
            assert not reading.done()  # … while draining
            rest = await reading
    text = first + rest
    assert text.rstrip().endswith(b'data: {"type":"message_stop"}'), text[-200:]
    assert await asyncio.wait_for(proc.wait(), 10) == 0
    output = (await proc.stdout.read()).decode()
    assert "Traceback" not in output, output
    assert "stopping" in output and "localgate stopped" in output


async def test_grace_period_bounds_the_wait(config_path, make_fake):
    fake = await make_fake("anthropic", "work")
    fake.default = Hang()
    write_config(
        config_path, [account("work", "anthropic", fake.url)], server={"shutdown_grace": 0.5}
    )
    port = free_port()
    proc = await serve(config_path, port)
    async with aiohttp.ClientSession() as http:
        request = asyncio.ensure_future(
            http.post(f"http://127.0.0.1:{port}/v1/messages", json=MESSAGES.stream_body)
        )
        deadline = time.monotonic() + 30
        while not fake.requests:  # in flight: the upstream has it and hangs
            assert time.monotonic() < deadline, "the request never reached the upstream"
            await asyncio.sleep(0.02)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        assert time.monotonic() - started < 8  # the 0.5 s grace, not the default 10 s
        await asyncio.gather(request, return_exceptions=True)
    assert await fake.wait_disconnects(1) == 1  # the upstream request was dropped too


def test_non_loopback_bind_without_token_refuses(config_path):
    from localgate.cli import main

    config_path.write_text("")  # --config must name a file that exists
    result = CliRunner().invoke(
        main, ["--config", str(config_path), "serve", "--host", "0.0.0.0", "--port", "1"]
    )
    assert result.exit_code != 0
    assert "refusing to listen on 0.0.0.0" in result.output
    assert "localgate token rotate" in result.output


def test_non_loopback_bind_with_token_is_allowed():
    from localgate.proxytoken import ProxyTokenSource
    from localgate.server import check_bind

    rotate_proxy_token()
    check_bind("0.0.0.0", ProxyTokenSource())  # no error
    check_bind("127.0.0.1", ProxyTokenSource(lambda: None))


def test_bind_refusal_names_a_broken_keyring():
    from localgate.errors import ConfigError, KeyringUnavailable
    from localgate.proxytoken import ProxyTokenSource
    from localgate.server import check_bind

    def broken():
        raise KeyringUnavailable("no usable keyring backend; pip install keyrings.alt")

    with pytest.raises(ConfigError, match="keyrings.alt"):
        check_bind("192.0.2.1", ProxyTokenSource(broken))


@pytest.mark.parametrize("route", [MESSAGES, COMPLETIONS], ids=lambda r: r.dialect)
async def test_grace_is_honoured_then_streams_end_with_the_dialect_error(
    config_path, make_fake, route
):
    ant = await make_fake("anthropic", "ant")
    oai = await make_fake("openai", "oai")
    for fake in (ant, oai):
        fake.default = Reply(text="x" * 200, chunks=200, gap=0.1)  # 20 s
    write_config(
        config_path,
        [account("ant", "anthropic", ant.url), account("oai", "openai", oai.url)],
        server={"shutdown_grace": 1.5},
    )
    port = free_port()
    proc = await serve(config_path, port)
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{port}{route.path}"
        async with http.post(url, json=route.stream_body) as resp:
            first = await resp.content.readany()
            proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            rest = await resp.read()
            ended = time.monotonic() - started
    text = first + rest
    assert 1.3 < ended < 8, ended  # the grace, not the default 10 s nor the 20 s stream
    last = [e for e in text.split(b"\n\n") if e.strip()][-1]
    assert b"shutting down" in last, text[-300:]
    if route.dialect == "anthropic":
        assert last.startswith(b"event: error")
    assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert time.monotonic() - started < 9  # nor waits out the default 10 s after them
    output = (await proc.stdout.read()).decode()
    assert "Traceback" not in output, output
    assert "ended 1 open stream" in output and "localgate stopped" in output
