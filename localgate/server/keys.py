"""What the app holds for its handlers: one module both `app` and `handlers` import
(at import time, not per request), so neither needs the other to find them."""

from __future__ import annotations

from aiohttp import web

from localgate.catalog import ModelCatalog
from localgate.gateway import Gateway
from localgate.ledger import Ledger

GATEWAY = web.AppKey("gateway", Gateway)
CATALOG = web.AppKey("catalog", ModelCatalog)
STARTED = web.AppKey("started", float)
LEDGER = web.AppKey("ledger", Ledger)
# The daemon listens beyond loopback (so it needs its proxy token): /health says so.
BEYOND_LOOPBACK = web.AppKey("beyond_loopback", bool)
