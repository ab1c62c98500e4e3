"""The upstream client: requests out over pooled HTTP/1.1 connections, answers back.

`Client.request` takes a connection to the URL's origin from the pool (or opens
one: happy eyeballs, TLS, through the account's HTTP proxy when it has one,
tunnelled with CONNECT for https), writes the request and returns the
`Response` once its head arrived. The caller reads the body (`content`) and
then `release()`s it, which puts the connection back when the answer ended
cleanly, or `close()`s it, which drops the connection (the upstream stops
generating).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import aiohappyeyeballs

from localgate import __version__
from localgate.errors import CannotConnect
from localgate.httpclient.body import Body
from localgate.httpclient.connection import Connection
from localgate.httpclient.parse import Head

DNS_TTL = 300.0  # seconds a host's addresses are kept
KEEPALIVE = 15.0  # seconds an idle connection is kept: well under servers' own (60 s and up)
# Headers the client writes itself: the connection's, never a caller's.
OWN_HEADERS = frozenset(
    {"host", "connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}
)
DEFAULTS = {
    "accept": "*/*",
    "accept-encoding": "gzip, deflate",
    "user-agent": f"localgate/{__version__}",
}


@dataclass(frozen=True, slots=True)
class Timeout:
    """Seconds allowed; None for no limit."""

    total: float | None = None  # the whole exchange: head and body
    connect: float | None = None  # opening a connection: TLS and a proxy's tunnel included
    read: float | None = None  # between two pieces of the answer


class Target(NamedTuple):
    """Where a URL's requests go, worked out once per URL and proxy."""

    origin: tuple  # the pool's key: scheme, host, port and proxy
    host: str
    port: int
    tls: bool
    authority: str  # the Host header (and a CONNECT's target)
    path: str  # the request target: path and query, or the whole URL through a plain proxy
    proxy: tuple[str, int] | None
    proxy_auth: str | None  # a Proxy-Authorization value, from the proxy URL's user info


@functools.lru_cache(maxsize=1024)
def target(url: str, proxy: str | None) -> Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CannotConnect(f"cannot request {url!r}: only http:// and https:// URLs")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    authority = shown if port == (443 if tls else 80) else f"{shown}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    through, auth = None, None
    if proxy:
        via = urlsplit(proxy)
        if via.scheme != "http" or not via.hostname:
            raise CannotConnect(f"cannot use the proxy {via.scheme}://{via.hostname}: only http://")
        through = (via.hostname, via.port or 80)
        if via.username is not None:
            user = f"{unquote(via.username)}:{unquote(via.password or '')}"
            auth = "Basic " + base64.b64encode(user.encode()).decode()
        if not tls:  # a plain proxy is asked for the whole URL
            path = f"http://{authority}{path}"
    origin = (parts.scheme, host, port, through, auth)
    return Target(origin, host, port, tls, authority, path, through, auth)


class Response:
    """An upstream's answer: status and headers, the body still to read (`content`)."""

    __slots__ = ("status", "reason", "headers", "content", "_client", "_origin", "_conn")

    def __init__(self, client: Client, origin: tuple, conn: Connection, head: Head, body: Body):
        self.status, self.reason, self.headers = head.status, head.reason, head.headers
        self.content = body
        self._client, self._origin, self._conn = client, origin, conn

    @property
    def content_type(self) -> str:
        """The media type, lowercased, without parameters ("" when none was sent)."""
        return self.headers.get("content-type", "").partition(";")[0].strip().lower()

    @property
    def content_length(self) -> int | None:
        length = self.headers.get("content-length", "")
        return int(length) if length.isdigit() else None

    def release(self) -> None:
        """Done with the answer: its connection goes back to the pool when it ended cleanly."""
        self._done(self.content.at_eof)

    def close(self) -> None:
        """Drop the connection, whatever is left of the answer."""
        self._done(False)

    def _done(self, whole: bool) -> None:
        conn, self._conn = self._conn, None  # once: a second release or close does nothing
        if conn is not None:
            self._client._give_back(self._origin, conn, whole)

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(self, *exc) -> None:
        self.release()


class Client:
    """Pooled connections per origin; one request at a time on each."""

    def __init__(self, *, tls: ssl.SSLContext | None = None, keepalive: float = KEEPALIVE):
        self._tls = tls  # made when first needed: loading the CA store costs time and memory
        self._keepalive = keepalive
        self._idle: dict[tuple, list[Connection]] = {}
        self._busy: set[Connection] = set()
        self._dns: dict[tuple[str, int], tuple[float, list]] = {}

    @property
    def in_use(self) -> int:
        """Connections carrying a request or an answer not yet released."""
        return len(self._busy)

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | AsyncIterable[bytes] = b"",
        timeout: Timeout = Timeout(),
        proxy: str | None = None,
    ) -> Response:
        """Send a request; the Response once its head arrived.

        Raises CannotConnect, ConnectionFailed (the connection broke or the answer is
        not HTTP) or TimeoutError. An iterable `body` needs its content-length in `headers`.
        """
        where = target(url, proxy)
        loop = asyncio.get_running_loop()
        deadline = None if timeout.total is None else loop.time() + timeout.total
        conn = self._take(where.origin, loop) or await self._open(where, timeout, loop)
        self._busy.add(conn)
        try:
            head = request_head(method, where, headers, body)
            answer, content = await conn.send(method, head, body, timeout.read, deadline)
        except BaseException:
            self._busy.discard(conn)
            conn.abort()
            raise
        return Response(self, where.origin, conn, answer, content)

    async def close(self) -> None:
        for conn in [*self._busy, *(c for idle in self._idle.values() for c in idle)]:
            conn.abort()
        self._busy.clear()
        self._idle.clear()

    def _take(self, origin: tuple, loop) -> Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()  # the most recent: the least likely to have been closed
            if not conn.closed and loop.time() - conn.idle_since < self._keepalive:
                return conn
            conn.close()
        return None

    def _give_back(self, origin: tuple, conn: Connection, whole: bool) -> None:
        self._busy.discard(conn)
        if not (whole and conn.reusable):
            conn.abort()
            return
        idle = self._idle.setdefault(origin, [])
        now = conn.idle_since = conn.loop.time()
        while idle and (idle[0].closed or now - idle[0].idle_since >= self._keepalive):
            idle.pop(0).close()  # the oldest first: gone, or kept long enough
        idle.append(conn)

    async def _open(self, where: Target, timeout: Timeout, loop) -> Connection:
        host, port = where.proxy or (where.host, where.port)
        conn = Connection(loop)
        try:
            async with asyncio.timeout(timeout.connect):
                infos = await self._addresses(host, port, loop)
                sock = await aiohappyeyeballs.start_connection(
                    infos, happy_eyeballs_delay=0.25, interleave=1
                )
                direct_tls = where.tls and where.proxy is None
                await loop.create_connection(
                    lambda: conn,
                    sock=sock,
                    ssl=self._context() if direct_tls else None,
                    server_hostname=where.host if direct_tls else None,
                )
                if where.tls and where.proxy is not None:
                    await self._tunnel(conn, where, loop)
        except OSError as exc:  # refused, unknown host, a certificate refused…
            conn.abort()
            raise CannotConnect(f"{host}:{port}: {exc.strerror or exc}") from exc
        except BaseException:
            conn.abort()
            raise
        return conn

    async def _addresses(self, host: str, port: int, loop) -> list:
        """What `host` resolves to, looked up at most every DNS_TTL seconds (an address
        is never looked up: no trip through the executor for a local model server)."""
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))]
        cached = self._dns.get((host, port))
        if cached is not None and cached[0] > loop.time():
            return cached[1]
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        self._dns[(host, port)] = (loop.time() + DNS_TTL, infos)
        return infos

    async def _tunnel(self, conn: Connection, where: Target, loop) -> None:
        """Ask the proxy for a tunnel to the origin, then speak TLS through it."""
        auth = f"Proxy-Authorization: {where.proxy_auth}\r\n" if where.proxy_auth else ""
        ask = f"CONNECT {where.host}:{where.port} HTTP/1.1\r\nHost: {where.authority}\r\n{auth}\r\n"
        head, _ = await conn.send("CONNECT", ask.encode(), b"", None, None)
        if not 200 <= head.status < 300:
            raise CannotConnect(f"the proxy refused the tunnel: {head.status} {head.reason}")
        conn.transport = await loop.start_tls(
            conn.transport, conn, self._context(), server_hostname=where.host
        )

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls


def request_head(method: str, where: Target, headers: Mapping[str, str], body) -> bytes:
    """The request line and headers, ending in the blank line."""
    lines = [f"{method} {where.path} HTTP/1.1\r\nHost: {where.authority}\r\n"]
    given = set()
    counted = isinstance(body, (bytes, bytearray))
    for name, value in headers.items():
        lower = name.lower()
        if lower in OWN_HEADERS or (counted and lower == "content-length"):
            continue
        value = str(value)
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
            raise ValueError(f"the header {name!r} holds a line break")
        given.add(lower)
        lines.append(f"{name}: {value}\r\n")
    for name, value in DEFAULTS.items():
        if name not in given:
            lines.append(f"{name}: {value}\r\n")
    if counted:
        lines.append(f"content-length: {len(body)}\r\n")
    elif "content-length" not in given:
        raise ValueError("a streamed body needs its content-length")
    if where.proxy_auth and not where.tls:
        lines.append(f"proxy-authorization: {where.proxy_auth}\r\n")
    lines.append("\r\n")
    # A client's header went through aiohttp's server as UTF-8 with its undecodable
    # bytes escaped: they go on as the bytes that came.
    return "".join(lines).encode("utf-8", "surrogateescape")
