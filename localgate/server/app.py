"""The aiohttp application: routes, lifecycle, hot reload of the config."""

from __future__ import annotations

import asyncio
import logging
import os
import time

import aiohttp
from aiohttp import web

from localgate import dashboard, sharing
from localgate.catalog import ModelCatalog
from localgate.config import Config, reload_config
from localgate.dashboard.feed import LiveFeed
from localgate.dashboard.session import PageSessions
from localgate.errors import ConfigError
from localgate.events import Events
from localgate.files import private_file, private_key, version
from localgate.gateway import Gateway
from localgate.httpclient import Client
from localgate.keyreader import Keys
from localgate.ledger import Ledger, LedgerReader, ledger_path
from localgate.proxytoken import ProxyTokenSource
from localgate.response_store import ResponseStore
from localgate.server import handlers, responses
from localgate.server.guard import GuardSettings, is_loopback_host, make_guard, stamp_response
from localgate.server.keys import (
    BEYOND_LOOPBACK,
    CATALOG,
    EDITS,
    FEED,
    GATEWAY,
    LEDGER,
    READER,
    RELOAD,
    RESPONSE_STORE,
    SESSIONS,
    STARTED,
    STATE_DIR,
)
from localgate.statedir import StateDir

__all__ = ["CATALOG", "GATEWAY", "LEDGER", "RESPONSE_STORE", "STARTED", "create_app"]
SEAL_KEY_FILENAME = "seal.key"

log = logging.getLogger("localgate")
RELOAD_INTERVAL = 1.0  # seconds between checks of the config file
KEYRING_RETRY = 5.0  # seconds between reads of a failing keyring


def create_app(
    config: Config,
    *,
    bind_host: str | None = None,
    events: Events | None = None,
    proxy_token: ProxyTokenSource | None = None,
    keys: Keys | None = None,
):
    """The localgate app for `config`; `bind_host` is trusted as a Host when not loopback.

    `proxy_token` defaults to the token in the keyring, re-read while serving;
    `keys`, the accounts' keys read at start, spares the first build a read.
    """
    state = {"config": config, "stamp": version(config.path)}
    token = proxy_token or ProxyTokenSource()
    trusted = (
        frozenset({bind_host}) if bind_host and not is_loopback_host(bind_host) else frozenset()
    )
    token.required = bool(trusted)  # beyond loopback a lost token means refuse, never serve

    built: list = [None, None, None]  # [server config, token, GuardSettings]

    def settings() -> GuardSettings:
        # Asked on every request; rebuilt only after a reload or a token change.
        server, value = state["config"].server, token.value
        if built[0] is not server or built[1] != value:
            built[:] = [server, value, GuardSettings.of(server, trusted, value)]
        return built[2]

    sessions = PageSessions(lambda: token.value)
    app = web.Application(
        middlewares=[make_guard(settings, dashboard.page_access(sessions))],
        client_max_size=int(config.server.max_body_mb * 1024 * 1024),
    )
    app[BEYOND_LOOPBACK] = bool(trusted)
    app.on_response_prepare.append(stamp_response)
    handlers.add_routes(app)
    responses.add_routes(app)
    dashboard.add_routes(app)
    events = events or Events()
    # The dashboard's live feed observes the same events as the request log and the ledger.
    feed = LiveFeed()
    events.subscribe(feed)
    events.subscribe(sharing.LOAD)  # whether the writer threads step aside for the loop
    app[FEED], app[SESSIONS], app[EDITS] = feed, sessions, asyncio.Lock()
    app[READER] = LedgerReader(ledger_path(config.state_dir))
    state_dir = app[STATE_DIR] = StateDir(config.state_dir)

    async def close_page_streams(app: web.Application) -> None:
        feed.close()  # graceful shutdown must not wait for open dashboards

    app.on_shutdown.append(close_page_streams)

    async def lifecycle(app: web.Application):
        # Upstream requests go through localgate's own client (localgate/httpclient),
        # WebSockets through aiohttp's. Proxies are chosen per account and request
        # (providers/proxy.py: HTTPS_PROXY, NO_PROXY, the account's `proxy`, never for
        # loopback), not by aiohttp's trust_env. No cookie jar, in either: a cookie one
        # answer sets (Cloudflare's, on the big APIs) would ride along on every later
        # request to that host, other accounts' included.
        http = Client()
        sockets = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, enable_cleanup_closed=True),
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        gateway = Gateway(config, http, events, sockets)
        await gateway.apply(config, keys)
        app[GATEWAY] = gateway
        app[CATALOG] = ModelCatalog(gateway)
        app[STARTED] = time.time()

        async def reload() -> Config:
            return await _reload(gateway, state)

        app[RELOAD] = reload
        watchers = [
            asyncio.create_task(_watch_config(gateway, state)),
            asyncio.create_task(token.watch()),
        ]
        yield
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        await http.close()
        await sockets.close()

    async def ledger(app: web.Application):
        # After `lifecycle` (the gateway exists), cleaned up before it: graceful
        # shutdown has drained the requests by then, so their rows are written.
        gateway = app[GATEWAY]
        ledger = Ledger(
            ledger_path(config.state_dir),
            retention_days=config.server.ledger_retention_days,
            state=state_dir,
        )
        if await ledger.start():
            await ledger.restore(gateway.pool)
            ledger.watch(gateway.pool)
            events.subscribe(ledger)
            state_dir.keep(ledger.path, app[READER].reopen)  # after the ledger's own copy
        app[LEDGER] = ledger
        yield
        state_dir.forget(app[READER].reopen)
        await app[READER].close()
        await ledger.close()

    async def response_store(app: web.Application):
        gateway = app[GATEWAY]
        seal_key = config.state_dir / SEAL_KEY_FILENAME

        async def write_back() -> None:
            # The key in use, so what was sealed before and after the deletion opens.
            private_file(seal_key).write_bytes(gateway.seal_key)

        try:
            gateway.seal_key = private_key(seal_key)
        except OSError as exc:  # compactions are then sealed for this run only
            log.error("cannot keep the sealing key in %s: %s", config.state_dir, exc)
            gateway.seal_key = os.urandom(32)
        else:
            state_dir.keep(seal_key, write_back)
        store = ResponseStore(
            config.state_dir,
            days=config.server.response_store_days,
            max_mb=config.server.response_store_mb,
            state=state_dir,
        )
        await store.start()
        app[RESPONSE_STORE] = store
        yield
        state_dir.forget(write_back)
        await store.close()

    async def watch_state_dir(app: web.Application):
        # Last in, so first out: no check runs while the parts above close.
        watcher = asyncio.create_task(state_dir.watch())
        yield
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)

    app.cleanup_ctx.append(lifecycle)
    app.cleanup_ctx.append(ledger)
    app.cleanup_ctx.append(response_store)
    app.cleanup_ctx.append(watch_state_dir)
    return app


async def _reload(gateway: Gateway, state: dict) -> Config:
    """Read the config file now and adopt it; ConfigError when it cannot be used."""
    stamp = version(state["config"].path)
    new = reload_config(state["config"])  # refuses a file that would drop every account
    await gateway.apply(new)
    state["config"], state["stamp"] = new, stamp
    log.info("config reloaded: %d account(s)", len(new.accounts))
    return new


async def _watch_config(gateway: Gateway, state: dict) -> None:
    """Poll the config file; adopt a valid change, keep serving on an invalid one.

    A broken, emptied or deleted file is reported once per change and the last
    good config stays; the file is adopted again as soon as it is valid. While
    the keyring fails, the accounts are rebuilt every KEYRING_RETRY seconds.
    """
    retry_at = time.monotonic() + KEYRING_RETRY
    while True:
        await asyncio.sleep(RELOAD_INTERVAL)
        current = version(state["config"].path)
        if current == state["stamp"]:
            if gateway.keyring_failed and time.monotonic() >= retry_at:
                retry_at = time.monotonic() + KEYRING_RETRY
                await gateway.apply(state["config"])
            continue
        state["stamp"] = current  # an invalid file is reported once, not every second
        try:
            await _reload(gateway, state)
        except ConfigError as exc:
            log.error(
                "config not reloaded, still serving the previous one (%d account(s)): %s. "
                "The file is adopted as soon as it is valid, without a restart",
                len(state["config"].accounts),
                exc,
            )
            continue
        retry_at = time.monotonic() + KEYRING_RETRY
