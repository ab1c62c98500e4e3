"""What the app holds for its handlers: one module both `app` and `handlers` import
(at import time, not per request), so neither needs the other to find them."""

from __future__ import annotations

from aiohttp import web

from localgate.catalog import ModelCatalog
from localgate.gateway import Gateway
from localgate.ledger import Ledger
from localgate.response_store import ResponseStore

GATEWAY = web.AppKey("gateway", Gateway)
CATALOG = web.AppKey("catalog", ModelCatalog)
STARTED = web.AppKey("started", float)
LEDGER = web.AppKey("ledger", Ledger)
RESPONSE_STORE = web.AppKey("response_store", ResponseStore)
