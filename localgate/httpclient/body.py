"""An answer's body as it arrives, read by the gateway and the relays.

`readany()` gives what has come since the last read (b"" at the end); `async
for` does the same until the end; `set_exception` makes the next read raise
(a shutdown ends open streams that way). Reads wait no longer than the read
timeout between chunks and never past the request's deadline. More than HIGH
bytes unread pauses the connection, so a client that reads slowly cannot make
the daemon hold a fast upstream's whole answer.
"""

from __future__ import annotations

import asyncio
import zlib

from localgate.errors import ConnectionFailed

HIGH, LOW = 1 << 20, 256 << 10  # unread bytes that pause the connection / resume it
PIECE = 256 << 10  # most bytes one compressed chunk inflates to at a time
CANNOT_INFLATE = "answered with a body it cannot inflate"


async def wait(future: asyncio.Future, read_timeout: float | None, deadline: float | None):
    """`await future`, or TimeoutError after `read_timeout` seconds or at `deadline`."""
    loop = future.get_loop()
    when = deadline
    if read_timeout is not None:
        idle_end = loop.time() + read_timeout
        when = idle_end if when is None else min(when, idle_end)
    if when is None:
        return await future
    timer = loop.call_at(when, _expire, future)
    try:
        return await future
    finally:
        timer.cancel()


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class Body:
    """The body of one answer; the connection feeds it, the gateway reads it."""

    __slots__ = ("_conn", "_chunks", "_size", "_eof", "_error", "_waiter", "_timeout", "_deadline")

    def __init__(self, conn, read_timeout: float | None, deadline: float | None) -> None:
        self._conn = conn  # paused and resumed by how much is unread
        self._chunks: list[bytes] = []
        self._size = 0
        self._eof = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future | None = None
        self._timeout, self._deadline = read_timeout, deadline

    @property
    def at_eof(self) -> bool:
        """Everything came and was read."""
        return self._eof and not self._chunks

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        if self._size > HIGH:
            self._conn.pause_reading()
        self._wake()

    def feed_eof(self) -> None:
        self._eof = True
        self._wake()

    def set_exception(self, error: BaseException) -> None:
        """The next read raises `error` (what is unread is dropped)."""
        self._error = error
        self._chunks.clear()
        self._wake()

    async def readany(self) -> bytes:
        while not self._chunks and not self._eof and self._error is None:
            self._waiter = self._conn.loop.create_future()
            try:
                await wait(self._waiter, self._timeout, self._deadline)
            finally:
                self._waiter = None
        if self._error is not None:
            raise self._error
        if not self._chunks:
            return b""
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        if self._size > LOW:
            self._conn.resume_reading()
        self._size = 0
        return data

    def iter_any(self) -> Body:
        return self

    def __aiter__(self) -> Body:
        return self

    async def __anext__(self) -> bytes:
        data = await self.readany()
        if not data:
            raise StopAsyncIteration
        return data

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Inflated(Body):
    """A body sent gzip- or deflate-encoded, handed out decoded. It inflates no more
    than HIGH bytes ahead of the reader (a small compressed chunk may inflate a
    thousandfold); the rest waits, compressed, for the next read."""

    __slots__ = ("_decoder", "_raw_fallback", "_ended")

    def __init__(self, conn, read_timeout, deadline, encoding: str) -> None:
        super().__init__(conn, read_timeout, deadline)
        # zlib's header detection reads gzip and zlib-wrapped deflate alike; some
        # servers send "deflate" raw, without the wrapper: tried when the first bytes fail.
        self._decoder = zlib.decompressobj(31 if encoding == "gzip" else 47)
        self._raw_fallback = encoding != "gzip"
        self._ended = False

    def feed(self, data: bytes) -> None:
        self._inflate(data)

    def feed_eof(self) -> None:
        self._ended = True
        self._inflate(b"")

    async def readany(self) -> bytes:
        if not self._chunks and self._decoder.unconsumed_tail:
            self._inflate(b"")
        return await super().readany()

    def _inflate(self, data: bytes) -> None:
        if self._error is not None:
            return
        data = self._decoder.unconsumed_tail + data
        try:
            while data and self._size <= HIGH:
                out = self._decoder.decompress(data, PIECE)
                self._raw_fallback = False
                data = self._decoder.unconsumed_tail
                if out:
                    super().feed(out)
            if self._ended and not data:
                if tail := self._decoder.flush():
                    super().feed(tail)
                super().feed_eof()
        except zlib.error:
            if not self._raw_fallback:
                return self.set_exception(ConnectionFailed(CANNOT_INFLATE))
            self._decoder, self._raw_fallback = zlib.decompressobj(-15), False
            self._inflate(data)
