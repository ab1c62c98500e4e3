"""Helpers for tests that run the app on a real 127.0.0.1 port and the CLI against it."""

from __future__ import annotations

import asyncio
import socket

from click.testing import CliRunner, Result

from localgate.cli import main
from tests.support import write_config

HI = {"model": "claude-opus-4-8", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def serve(aiohttp_client, config_path, accounts, *, server=None, **tables):
    """Write the config (its [server] port a free one) and serve the app on that port."""
    from localgate.config import load_config
    from localgate.server.app import create_app

    port = free_port()
    write_config(config_path, accounts, server={**(server or {}), "port": port}, **tables)
    app = create_app(load_config(config_path))
    return await aiohttp_client(app, server_kwargs={"port": port, "handler_cancellation": True})


async def run_cli(config_path, *args: str) -> Result:
    """`localgate --config PATH ARGS…` in a thread, so the app on this loop can answer it."""
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    return await asyncio.to_thread(
        runner.invoke, main, ["--config", str(config_path), *args], catch_exceptions=False
    )


async def post_messages(client, body=HI) -> dict:
    async with client.post("/v1/messages", json=body) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


def ledger_of(client):
    from localgate.server.app import LEDGER

    return client.app[LEDGER]


async def written(client) -> None:
    """Every request so far in the ledger file. A relayed answer's last bytes reach the
    client before its handler ends and reports the request: wait for that first."""
    from localgate.server.app import GATEWAY

    assert await client.app[GATEWAY].drain.wait(5)
    await ledger_of(client).flush()


def pool_of(client):
    from localgate.server.app import GATEWAY

    return client.app[GATEWAY].pool
