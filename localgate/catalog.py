"""Which model ids the accounts serve, for GET /v1/models.

Account model settings are glob patterns (`claude-*`), which cannot be listed.
The truthful list comes from each account's own models endpoint, filtered by
its patterns and cached for a while; when an account cannot be asked, its
literal (non-glob) patterns stand in. Alias names are listed too.
"""

from __future__ import annotations

import asyncio
import json
import time

from localgate.bounded import read_bounded
from localgate.errors import LocalgateError
from localgate.httpclient import Timeout
from localgate.routing import serves

CACHE_SECONDS = 600.0
FETCH_TIMEOUT = 5.0
GLOB_CHARS = frozenset("*?[")


class ModelCatalog:
    def __init__(self, gateway):
        self.gateway = gateway
        self._cache: dict[str, tuple[float, str, list[str]]] = {}  # name -> (t, revision, ids)

    async def ids(self) -> list[str]:
        accounts = [a for a in self.gateway.accounts.values() if a.config.enabled and a.provider]
        lists = await asyncio.gather(*(self._account_ids(a) for a in accounts))
        ids = {i for found in lists for i in found}
        ids.update(
            a.pattern for a in self.gateway.config.aliases if not GLOB_CHARS & set(a.pattern)
        )
        return sorted(ids)

    async def _account_ids(self, account) -> list[str]:
        revision = account.entry().revision
        cached = self._cache.get(account.name)
        if cached and cached[1] == revision and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[2]
        literal = [p for p in account.config.model_patterns if not GLOB_CHARS & set(p)]
        try:
            listed = await self._fetch(account)
        except (TimeoutError, ValueError, LocalgateError):  # ConnectionFailed is one
            return literal  # not cached: ask again next time
        ids = sorted({i for i in listed if serves(account.config, i)} | set(literal))
        self._cache[account.name] = (time.monotonic(), revision, ids)
        return ids

    async def _fetch(self, account) -> list[str]:
        call = await account.provider.models_call()
        if call is None:
            return list(account.provider.known_models())
        timeout = Timeout(total=FETCH_TIMEOUT, connect=FETCH_TIMEOUT)
        async with await self.gateway.http.request(
            call.method, call.url, headers=call.headers, timeout=timeout,
            proxy=account.provider.proxy,
        ) as resp:  # fmt: skip
            if resp.status != 200:
                raise ValueError(f"status {resp.status}")
            limit = int(self.gateway.config.server.max_response_mb * 1048576)
            return model_ids(json.loads(await read_bounded(resp, limit)))


def model_ids(listing) -> list[str]:
    """Ids from an Anthropic/OpenAI (`data[].id`) or Gemini (`models[].name`) listing."""
    if not isinstance(listing, dict):
        raise ValueError("not a model listing")
    ids = [m.get("id") for m in listing.get("data") or [] if isinstance(m, dict)]
    ids += [
        str(m.get("name", "")).removeprefix("models/")
        for m in listing.get("models") or []
        if isinstance(m, dict)
    ]
    return [i for i in ids if isinstance(i, str) and i]
