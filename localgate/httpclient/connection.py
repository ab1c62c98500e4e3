"""One HTTP/1.1 connection to an upstream: a request out, its answer in, then the next.

An asyncio protocol: bytes arrive in `data_received` and are read there, as
they come, into the answer's head and then its body (a Content-Length, chunks,
or everything until the connection closes). The connection is reusable once an
answer ended where its framing said and both sides meant to keep it open;
anything else (bytes nobody asked for, a close, a framing error) ends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable

from localgate.errors import ConnectionFailed
from localgate.httpclient.body import Body, Inflated, wait
from localgate.httpclient.parse import MAX_HEAD, Chunked, Head, parse_head

IDLE, HEAD, BODY = "idle", "head", "body"
INFLATED = ("gzip", "deflate", "x-gzip")


class Connection(asyncio.Protocol):
    """A connection that carries one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0  # loop time it last went back to the pool
        self._state = IDLE
        self._method = ""
        self._buffer = b""  # the head, until its blank line
        self._head: asyncio.Future | None = None
        self._body: Body | None = None
        self._left: int | None = None  # body bytes still to come, when counted
        self._chunked: Chunked | None = None
        self._timeouts: tuple[float | None, float | None] = (None, None)
        self._keep_alive = False
        self._reading_paused = False
        self._body_cut = False  # the request's body was not all written: never reused
        self._drained: asyncio.Future | None = None  # set while the transport's buffer is full

    # -- what the client calls --------------------------------------------------------

    @property
    def reusable(self) -> bool:
        """The last answer ended cleanly and both sides keep the connection."""
        return self._state == IDLE and self._keep_alive and not (self.closed or self._body_cut)

    async def send(
        self,
        method: str,
        head: bytes,
        body: bytes | AsyncIterable[bytes],
        read_timeout: float | None,
        deadline: float | None,
    ) -> tuple[Head, Body]:
        """Write one request; the answer's head and its body, once the head arrived."""
        self._state, self._method, self._keep_alive = HEAD, method, False
        self._timeouts = (read_timeout, deadline)
        self._head = self.loop.create_future()
        if isinstance(body, (bytes, bytearray)):
            if len(body) < 16384:  # one segment: a small request costs one send
                self.transport.write(head + body)
            else:
                self.transport.writelines((head, body))
        else:  # an upload streamed from its spool: written as the socket takes it
            self.transport.write(head)
            async for chunk in body:
                if self.closed or self._head.done():  # gone, or answered early (413…)
                    self._body_cut = True  # the upstream may still wait for the rest
                    break
                self.transport.write(chunk)
                if self._drained is not None:
                    await self._drained
        return await wait(self._head, read_timeout, deadline)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.closed = True

    def abort(self) -> None:
        """Drop the connection at once (an answer left unread: nothing more of it is wanted)."""
        if self.transport is not None:
            self.transport.abort()
        self.closed = True

    def pause_reading(self) -> None:
        if not self._reading_paused and not self.closed:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()

    # -- asyncio's side ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        if self._state == HEAD:
            self._fail(ConnectionFailed("the upstream closed the connection before answering"))
        elif self._state == BODY:
            if self._left is None and self._chunked is None:  # framed by the close itself
                self._end()
            else:
                self._fail(ConnectionFailed("the upstream closed the connection mid-answer"))

    def pause_writing(self) -> None:
        self._drained = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    def data_received(self, data: bytes) -> None:
        try:
            if self._state == HEAD:
                data = self._read_head(data)
            if self._state == BODY and data:
                self._read_body(data)
            elif data:  # bytes after the answer, or while idle: nobody asked for them
                self.abort()
        except ConnectionFailed as exc:
            self._fail(exc)

    # -- reading ----------------------------------------------------------------------

    def _read_head(self, data: bytes) -> bytes:
        """Take `data` into the head; what follows the head (body bytes) is returned."""
        buffer = self._buffer + data if self._buffer else data
        while self._state == HEAD:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    raise ConnectionFailed("answered with a head past 64 KB")
                self._buffer = buffer
                return b""
            head = parse_head(buffer[:end], self._method)
            buffer = buffer[end + 4 :]
            if head.status == 101:
                raise ConnectionFailed("answered 101 Switching Protocols to a plain request")
            if 100 <= head.status < 200:  # 100 Continue, 103 Early Hints: the answer follows
                continue
            self._buffer = b""
            self._start_body(head)
        return buffer

    def _start_body(self, head: Head) -> None:
        self._keep_alive = head.keep_alive
        self._left, self._chunked = head.length, Chunked() if head.chunked else None
        encoding = head.headers.get("content-encoding", "").lower()
        if encoding in INFLATED:
            body = Inflated(self, *self._timeouts, "deflate" if encoding == "deflate" else "gzip")
        elif encoding and encoding != "identity":
            raise ConnectionFailed(f"answered in an encoding localgate cannot read: {encoding}")
        else:
            body = Body(self, *self._timeouts)
        self._body = body
        self._state = BODY
        if not self._head.done():
            self._head.set_result((head, body))
        if self._left == 0:
            self._end()

    def _read_body(self, data: bytes) -> None:
        if self._chunked is not None:
            pieces, rest = self._chunked.feed(data)
            for piece in pieces:
                self._body.feed(piece)
            if self._chunked.done:
                self._end()
        elif self._left is not None:
            rest = data[self._left :]
            if rest:
                data = data[: self._left]
            self._left -= len(data)
            self._body.feed(data)
            if not self._left:
                self._end()
        else:
            rest = b""
            self._body.feed(data)
        if rest:  # past the answer's end: the connection cannot be trusted with another
            self._keep_alive = False
            self.abort()

    def _end(self) -> None:
        self._state = IDLE
        self._body.feed_eof()
        if not self._keep_alive:
            self.close()

    def _fail(self, error: ConnectionFailed) -> None:
        state, self._state = self._state, IDLE
        self._keep_alive = False
        if state == HEAD and not self._head.done():
            self._head.set_exception(error)
        elif state == BODY:
            self._body.set_exception(error)
        self.abort()
