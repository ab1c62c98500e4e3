"""Helpers for tests that run localgate: write a config, start the app against fakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sdks import close_all as close_sdks


def write_config(path: Path, accounts: list[dict], **tables) -> Path:
    """Write a localgate config: accounts plus any top-level tables (server=, aliases=…)."""
    import tomli_w

    data = {key: value for key, value in tables.items() if value is not None}
    data["accounts"] = accounts
    path.write_text(tomli_w.dumps(data))
    return path


def account(name: str, provider: str, base_url: str, *, key: str | None = None, **keys) -> dict:
    """An account table whose secret is stored in the (test) keyring."""
    from localgate.secrets import store_secret

    store_secret(name, key or f"sk-test-{name}-secret")
    return {"name": name, "provider": provider, "base_url": base_url, **keys}


async def preferred_pair(localgate, make_fake, kind: str, *, server: dict | None = None, **tables):
    """Two accounts of `kind` on fakes named "first" and "second", the first preferred
    (fill-first, priority 10): (client, first, second). `server` adds to [server]."""
    first = await make_fake(kind, "first")
    second = await make_fake(kind, "second")
    client = await localgate(
        [
            account("first", kind, first.url, priority=10),
            account("second", kind, second.url),
        ],
        server={"strategy": "fill-first", **(server or {})},
        **tables,
    )
    return client, first, second


@pytest.fixture
def config_path(tmp_path) -> Path:
    return tmp_path / "config.toml"


@pytest.fixture
async def localgate(aiohttp_client, config_path):
    """`await localgate(accounts, server={...}, aliases={...})` → a test client of the app."""
    from localgate.config import load_config
    from localgate.server.app import create_app

    async def start(accounts: list[dict], **tables):
        write_config(config_path, accounts, **tables)
        app = create_app(load_config(config_path))
        return await aiohttp_client(app, server_kwargs={"handler_cancellation": True})

    yield start
    await close_sdks()  # before the server they talk to goes


def logger_to(stream):
    """A logger writing what it gets to `stream` as the daemon's text log does
    (for `RequestLog(logger_to(out))` in tests)."""
    import logging

    from localgate.logs import TextFormatter

    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter(dated=True))
    logger = logging.getLogger(f"tests.log.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger
