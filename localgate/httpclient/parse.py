"""Reading an HTTP/1.1 answer: its head, how its body is framed, chunked bodies.

Pure functions and one small state machine, fed bytes by the connection. Every
bound is checked here: an upstream that sends a head without end, a status line
that is not HTTP, or a chunk size that is not a number breaks the connection
with ConnectionFailed (the gateway then tries another account); nothing it sends
can grow a buffer past MAX_HEAD or MAX_LINE.
"""

from __future__ import annotations

from typing import NamedTuple

from multidict import CIMultiDict, CIMultiDictProxy

from localgate.errors import ConnectionFailed

MAX_HEAD = 64 * 1024  # status line and headers; real answers send 1–4 KB
MAX_LINE = 4 * 1024  # one chunk-size line, one trailer line
NO_BODY = frozenset({204, 304})
HEX_DIGITS = b"0123456789abcdefABCDEF"


class Head(NamedTuple):
    status: int
    reason: str
    headers: CIMultiDictProxy
    keep_alive: bool
    length: int | None  # bytes of body; None: chunked or until the connection closes
    chunked: bool


def parse_head(block: bytes, method: str) -> Head:
    """The head of an answer to `method` (`block` ends before its blank line)."""
    status_line, *lines = block.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise ConnectionFailed(f"answered with something that is not HTTP: {status_line[:60]!r}")
    headers: CIMultiDict = CIMultiDict()
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or " " in name:
            raise ConnectionFailed(f"answered with a malformed header line: {line[:60]!r}")
        headers.add(name, value.strip(" \t"))
    status = int(code)
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
    keep_alive, length, chunked = _framing(headers, status, method, keep_alive)
    return Head(status, reason, CIMultiDictProxy(headers), keep_alive, length, chunked)


def _framing(headers, status: int, method: str, keep_alive: bool) -> tuple[bool, int | None, bool]:
    """(keep_alive, length, chunked): how the body ends, and whether the connection
    outlives it (an answer read to the close does not)."""
    if method == "CONNECT" and 200 <= status < 300:  # the tunnel is open: no body, kept
        return True, 0, False
    if method == "HEAD" or status in NO_BODY or status < 200:
        return keep_alive, 0, False
    coding = headers.get("transfer-encoding", "").lower()
    if coding:
        if coding.rsplit(",", 1)[-1].strip() != "chunked":  # no length: read to the close
            return False, None, False
        return keep_alive, None, True
    lengths = set(headers.getall("content-length", ()))
    if not lengths:
        return False, None, False
    length = lengths.pop().strip()
    if lengths or not length.isdigit():
        raise ConnectionFailed("answered with a Content-Length that is not one number")
    return keep_alive, int(length), False


class Chunked:
    """A chunked body, decoded as it arrives: `feed` returns the data it completes."""

    __slots__ = ("_buffer", "_left", "_state", "done")

    def __init__(self) -> None:
        self._buffer = b""
        self._left = 0  # data bytes of the current chunk still to come
        self._state = "size"  # size → data → crlf → size … → trailer
        self.done = False

    def feed(self, data: bytes) -> tuple[list[bytes], bytes]:
        """The body data in `data`, and whatever came after the body's end."""
        buffer = self._buffer + data if self._buffer else data
        self._buffer = b""
        out = []
        at = 0
        while at < len(buffer) and not self.done:
            if self._state == "data":
                piece = buffer[at : at + self._left]
                out.append(piece)
                at += len(piece)
                self._left -= len(piece)
                if not self._left:
                    self._state = "crlf"
                continue
            end = buffer.find(b"\r\n", at)
            if end < 0:
                if len(buffer) - at > MAX_LINE:
                    raise ConnectionFailed("answered with a chunk line past 4 KB")
                self._buffer = buffer[at:]
                break
            line = buffer[at:end]
            at = end + 2
            if self._state == "crlf":
                if line:
                    raise ConnectionFailed("answered with a chunk longer than its size")
                self._state = "size"
            elif self._state == "size":
                size = line.split(b";", 1)[0].strip(b" \t")
                if not size or len(size) > 15 or size.strip(HEX_DIGITS):
                    raise ConnectionFailed(f"answered with a chunk size {size[:20]!r}")
                self._left = int(size, 16)
                self._state = "data" if self._left else "trailer"
            elif not line:  # the blank line after the trailers: the body's end
                self.done = True
        return out, buffer[at:] if self.done else b""
