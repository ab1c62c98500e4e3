"""A google-auth transport over the standard library (no `requests` needed).

google-auth's own http.client adapter speaks plain http only and logs request
bodies at debug level (a refresh token is a request body); this one speaks
both schemes and logs nothing.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from google.auth import exceptions, transport

DEFAULT_TIMEOUT = 30.0  # seconds for one token-endpoint exchange


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
    """Blocking HTTP(S) request; raises google.auth TransportError on network trouble."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT):
        self.timeout = timeout

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        parts = urlsplit(url)
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        timeout = timeout or self.timeout
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.netloc, timeout=timeout, context=ssl.create_default_context()
            )
        elif parts.scheme == "http":
            connection = http.client.HTTPConnection(parts.netloc, timeout=timeout)
        else:
            raise exceptions.TransportError(f"unsupported URL scheme in {parts.scheme}://…")
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            answer = connection.getresponse()
            data = answer.read()
            headers_read = {k.lower(): v for k, v in answer.getheaders()}
            return Response(answer.status, headers_read, data)
        except (http.client.HTTPException, OSError) as exc:  # OSError covers timeouts
            raise exceptions.TransportError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            connection.close()
