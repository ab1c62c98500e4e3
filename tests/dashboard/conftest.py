"""Fixtures for dashboard tests: `await dashboard(accounts, rows=…, token=…)` → a test client."""

from __future__ import annotations

import pytest

from tests.dashboard.helpers import seed_ledger
from tests.limits.live import free_port
from tests.support import write_config


@pytest.fixture
async def dashboard(aiohttp_client, config_path):
    """Serve the app on a free 127.0.0.1 port (its config's port), optionally with a seeded
    ledger and a proxy token."""
    from localgate.config import load_config
    from localgate.proxytoken import ProxyTokenSource
    from localgate.server.app import create_app

    async def start(accounts, *, rows=(), token=None, server=None, **tables):
        port = free_port()
        write_config(config_path, accounts, server={**(server or {}), "port": port}, **tables)
        config = load_config(config_path)
        if rows:
            seed_ledger(config.state_dir, rows)
        source = ProxyTokenSource(read=lambda: token)
        app = create_app(config, proxy_token=source)
        return await aiohttp_client(app, server_kwargs={"port": port, "handler_cancellation": True})

    return start
