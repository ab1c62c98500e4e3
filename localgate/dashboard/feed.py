"""The live traffic feed: an observer of the gateway's events, fanned out to browsers.

The same `RequestDone` and `AttemptFailed` events the request log prints and
the ledger stores become one JSON-able item per finished request (with the
failover chain its failed attempts made). The observer only appends: each
viewer (one server-sent-events stream) has a bounded queue that drops its
oldest items when the browser reads too slowly, so a slow or vanished page
never holds up a request. A short history lets a page that just opened show
what happened before it did.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any

from localgate.events import AttemptFailed, RequestDone
from localgate.limits import iso

HISTORY = 500  # finished requests kept for pages that open later
VIEWER_QUEUE = 256  # items a viewer may fall behind before the oldest are dropped
PENDING_CHAINS = 1024  # requests whose failed attempts wait for their RequestDone
STATUS_FILTERS = ("ok", "error")


def item(event: RequestDone, failovers: list[dict[str, Any]]) -> dict[str, Any]:
    """A finished request as the page shows it: never a secret, never a body."""
    return {
        "id": event.request_id,
        "time": iso(event.started_wall),
        "ts": event.started_wall,
        **event.fields(),
        "failovers": failovers,
    }


def matches(entry: Mapping[str, Any], filters: Mapping[str, str]) -> bool:
    """True when `entry` passes the page's filters (account, model, status)."""
    account, model, status = (filters.get(k) for k in ("account", "model", "status"))
    if account and entry["account"] != account:
        return False
    if model and model not in (entry["model"], entry["model_used"]):
        return False
    if status:
        failed = entry["status"] >= 400 or entry["client_gone"]
        if (status == "ok" and failed) or (status == "error" and not failed):
            return False
        if status.isdigit() and str(entry["status"]) != status:
            return False
    return True


class Viewer:
    """One open page: a bounded queue the feed fills and the stream handler drains."""

    def __init__(self, filters: Mapping[str, str], size: int = VIEWER_QUEUE) -> None:
        self.filters = dict(filters)
        self.queue: deque[dict[str, Any]] = deque(maxlen=size)
        self.dropped = 0  # items pushed out unread since the last drain
        self.ready = asyncio.Event()
        self.closed = False  # the daemon is stopping: end the stream

    def offer(self, entry: dict[str, Any]) -> None:
        if not matches(entry, self.filters):
            return
        if len(self.queue) == self.queue.maxlen:
            self.dropped += 1  # deque(maxlen) drops the oldest itself
        self.queue.append(entry)
        self.ready.set()

    def drain(self) -> tuple[list[dict[str, Any]], int]:
        """(items waiting, how many were dropped before them); empties the queue."""
        items, dropped = list(self.queue), self.dropped
        self.queue.clear()
        self.dropped = 0
        self.ready.clear()
        return items, dropped


class LiveFeed:
    """Subscribe an instance to `Events`; `watch()` a viewer per open page."""

    def __init__(self, history: int = HISTORY) -> None:
        self._recent: deque[tuple[RequestDone, list]] = deque(maxlen=history)
        self.viewers: set[Viewer] = set()
        self._chains: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self.started = time.time()

    def __call__(self, event: object) -> None:
        if isinstance(event, AttemptFailed):
            chain = self._chains.setdefault(event.request_id, [])
            chain.append(
                {
                    "account": event.account,
                    "model": event.model,
                    "kind": event.kind,
                    "reason": event.reason,
                    "cooldown": event.cooldown,
                }
            )
            if len(self._chains) > PENDING_CHAINS:  # a request that never finished
                self._chains.popitem(last=False)
        elif isinstance(event, RequestDone):
            # Kept as it came: the item is made when a page reads it (most never are).
            finished = (event, self._chains.pop(event.request_id, []))
            self._recent.append(finished)
            if self.viewers:
                entry = item(*finished)
                for viewer in self.viewers:
                    viewer.offer(entry)

    @property
    def recent(self) -> list[dict[str, Any]]:
        """The latest finished requests as items, oldest first."""
        return [item(*finished) for finished in self._recent]

    def history(self, filters: Mapping[str, str], limit: int = HISTORY) -> list[dict[str, Any]]:
        """The latest finished requests that pass `filters`, oldest first."""
        chosen = [entry for entry in reversed(self.recent) if matches(entry, filters)]
        return chosen[:limit][::-1]

    def watch(self, filters: Mapping[str, str]) -> Viewer:
        viewer = Viewer(filters)
        self.viewers.add(viewer)
        return viewer

    def forget(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)

    def close(self) -> None:
        """End every open stream (graceful shutdown must not wait for open pages)."""
        for viewer in self.viewers:
            viewer.closed = True
            viewer.ready.set()
