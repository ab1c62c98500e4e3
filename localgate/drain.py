"""What a shutdown waits for: requests in flight, and the streams it may have to end.

On SIGTERM the daemon stops accepting, waits up to `[server] shutdown_grace`
seconds for the requests in flight, then ends every stream still open with its
dialect's error event (the relay reads a ShuttingDown error from the upstream
stream), so a client learns the answer is incomplete instead of seeing its
connection cut mid-event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from localgate.errors import ShuttingDown

STREAM_END_WAIT = 1.0  # seconds the ended streams get to write their error event


class Drain:
    """Counts requests in flight and holds the upstream responses of open streams."""

    def __init__(self) -> None:
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._streams: set = set()  # upstream Responses of streams being relayed

    @contextmanager
    def request(self) -> Iterator[None]:
        """Around one request: the drain waits for it."""
        self._active += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()

    @contextmanager
    def stream(self, upstream) -> Iterator[None]:
        """Around relaying one upstream stream: `end_streams` can end it."""
        self._streams.add(upstream)
        try:
            yield
        finally:
            self._streams.discard(upstream)

    @property
    def active(self) -> int:
        """Requests in flight now."""
        return self._active

    async def wait(self, seconds: float) -> bool:
        """True once no request is in flight; False when `seconds` passed first."""
        try:
            async with asyncio.timeout(max(seconds, 0)):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def end_streams(self) -> int:
        """Make every open stream end with its dialect's error event; how many there were."""
        streams = list(self._streams)
        for upstream in streams:
            upstream.content.set_exception(
                ShuttingDown("localgate is shutting down; the answer is incomplete: retry it")
            )
        return len(streams)

    async def shut_down(self, grace: float) -> int:
        """Wait up to `grace` seconds, then end the open streams: how many were ended."""
        if await self.wait(grace):
            return 0
        ended = self.end_streams()
        await self.wait(STREAM_END_WAIT if ended else 0)
        return ended
