"""What the app holds for its handlers: one module both `app` and `handlers` import
(at import time, not per request), so neither needs the other to find them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from localgate.catalog import ModelCatalog
from localgate.config import Config
from localgate.dashboard.feed import LiveFeed
from localgate.dashboard.session import PageSessions
from localgate.gateway import Gateway
from localgate.ledger import Ledger, LedgerReader
from localgate.response_store import ResponseStore
from localgate.statedir import StateDir

GATEWAY = web.AppKey("gateway", Gateway)
CATALOG = web.AppKey("catalog", ModelCatalog)
STARTED = web.AppKey("started", float)
LEDGER = web.AppKey("ledger", Ledger)
# The daemon listens beyond loopback (so it needs its proxy token): /health says so.
BEYOND_LOOPBACK = web.AppKey("beyond_loopback", bool)
RESPONSE_STORE = web.AppKey("response_store", ResponseStore)
# The files kept in the state dir, recreated when it is deleted under the daemon.
STATE_DIR = web.AppKey("state_dir", StateDir)
# Re-read the config file and adopt it now (after the daemon itself edited it).
RELOAD = web.AppKey("reload", Callable[[], Awaitable[Config]])
# The dashboard's: the live traffic feed, page sessions, the ledger's reader.
FEED = web.AppKey("feed", LiveFeed)
SESSIONS = web.AppKey("sessions", PageSessions)
READER = web.AppKey("reader", LedgerReader)
EDITS = web.AppKey("edits", asyncio.Lock)  # one dashboard action edits the config at a time
