"""A google-auth transport over the standard library (no `requests` needed).

google-auth's own http.client adapter speaks plain http only and logs request
bodies at debug level (a refresh token is a request body); this one speaks
both schemes and logs nothing, and reads at most MAX_ANSWER bytes of an answer.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from google.auth import exceptions, transport

from localgate.bounded import read_capped

DEFAULT_TIMEOUT = 10.0  # seconds for connecting, and for each read of the answer
TOTAL_TIMEOUT = 20.0  # seconds for one whole token-endpoint exchange, however it trickles
# Bytes of one answer, at most: a token answer (access token, id_token) is a few KB, so
# more is a hostile or broken endpoint, or a proxy's page, and is not held in memory.
MAX_ANSWER = 64 * 1024


class Response(transport.Response):
    """A whole answer: status, lower-cased headers, body bytes."""

    def __init__(self, status: int, headers: Mapping[str, str], data: bytes):
        self._status, self._headers, self._data = status, dict(headers), data

    @property
    def status(self) -> int:
        return self._status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    @property
    def data(self) -> bytes:
        return self._data


class Request(transport.Request):
    """Blocking HTTP(S) request; raises google.auth TransportError on network trouble.

    `timeout` bounds connecting and each read; `total` bounds the whole
    exchange, so an endpoint (or proxy) that drips its answer a byte at a time
    cannot hold a refresh for longer. An answer past `limit` bytes raises
    InputTooLarge (not a TransportError: the endpoint was reached, and answered
    what no token endpoint would).
    """

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        total: float = TOTAL_TIMEOUT,
        proxy: str | None = None,
        limit: int = MAX_ANSWER,
    ):
        self.timeout = timeout
        self.total = total
        self.limit = limit
        self.proxy = proxy  # the account's `proxy` setting (providers/proxy.py decides)

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        from localgate.providers.proxy import upstream_proxy

        parts = urlsplit(url)
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        total = min(timeout, self.total) if timeout else self.total
        step = min(self.timeout, total)
        via = upstream_proxy(self.proxy, url)
        # Through a proxy: a CONNECT tunnel for https, the absolute URL for http.
        netloc = urlsplit(via).netloc if via else parts.netloc
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                netloc, timeout=step, context=ssl.create_default_context()
            )
            if via:
                connection.set_tunnel(parts.hostname, parts.port or 443)
        elif parts.scheme == "http":
            connection = http.client.HTTPConnection(netloc, timeout=step)
            if via:
                path = url
        else:
            raise exceptions.TransportError(f"unsupported URL scheme in {parts.scheme}://…")
        watchdog = _Watchdog(connection, total)
        try:
            connection.connect()
            watchdog.check()  # it may have fired while the socket was still being made
            connection.request(method, path, body=body, headers=dict(headers or {}))
            answer = connection.getresponse()
            data = read_capped(answer, self.limit)
            watchdog.check()
            headers_read = {k.lower(): v for k, v in answer.getheaders()}
            return Response(answer.status, headers_read, data)
        except (http.client.HTTPException, OSError) as exc:  # OSError covers timeouts
            if watchdog.fired:
                raise exceptions.TransportError(f"no whole answer within {total:g}s") from exc
            raise exceptions.TransportError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            watchdog.cancel()
            connection.close()


class Recorder(transport.Request):
    """Another transport, remembering the last answer (google-auth's errors drop the status)."""

    def __init__(self, inner: transport.Request):
        self.inner = inner
        self.last: transport.Response | None = None

    def __call__(self, *args, **kwargs):
        self.last = self.inner(*args, **kwargs)
        return self.last


class _Watchdog:
    """Shuts the connection's socket down once `total` seconds pass: that wakes a
    blocked read at once, which closing it from another thread does not."""

    def __init__(self, connection: http.client.HTTPConnection, total: float):
        self.fired = False
        self._connection = connection
        self._timer = threading.Timer(total, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        sock = self._connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed
                pass

    def check(self) -> None:
        if self.fired:
            raise TimeoutError("the exchange ran out of time")

    def cancel(self) -> None:
        self._timer.cancel()
