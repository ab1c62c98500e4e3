"""The one middleware: request id, Host/Origin guard, proxy token, body limits, dialect errors.

Every request gets an id. Before any handler runs, the guard refuses what a
hostile web page or a hostile network peer could send: a Host that is not a
loopback name (DNS rebinding), a browser Origin the config does not allow
(CSRF; preflights from allowed origins are answered here), a missing or wrong
proxy token (when one is set), and request bodies that are too large or that
arrive too slowly. Every error leaves in the dialect of the route it hit.

The dashboard (/ui) adapts two rules: its own page's same-origin requests are
allowed there (and only there), and `page_access` lets its files and its
session cookie stand in for the proxy token (see localgate.dashboard).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from localgate import dialects
from localgate.dashboard import is_page_path
from localgate.errors import (
    BodyTooLarge,
    Forbidden,
    GatewayError,
    InvalidRequest,
    NotFound,
    ProxyTokenMissing,
    RequestTimeout,
    Unauthorized,
)
from localgate.ids import new_id
from localgate.proxytoken import TOKEN_GONE, token_accepted
from localgate.spool import CHUNK, Spool

log = logging.getLogger("localgate")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Paths a client may reach without the proxy token: the liveness probe Claude Code sends.
OPEN_PATHS = frozenset({"/"})
# Response headers a browser page allowed by CORS may read.
EXPOSED_HEADERS = (
    "x-request-id, x-localgate-account, x-model-used, x-fallback-from, x-fallback-depth, "
    "retry-after"
)
CORS_METHODS = "GET, POST, HEAD, OPTIONS"
CORS_MAX_AGE = "600"


def dialect_for_path(path: str, headers=None) -> str:
    """The dialect an error on `path` must be written in, and a model lookup's shape
    (`headers` tell the SDKs apart on `/v1/models`, which all three call)."""
    if path.startswith("/v1/messages"):
        return "anthropic"
    if path.startswith(("/v1beta/", "/upload/v1beta/")) or (
        path.startswith("/v1/models/") and ":" in path
    ):
        return "gemini"
    if path.startswith("/v1/models") and headers is not None:
        # google-genai looks models up under /v1 (its default api_version) with its key header.
        if "x-goog-api-key" in headers or "x-goog-api-client" in headers:
            return "gemini"
        if "anthropic-version" in headers:
            return "anthropic"
    return "openai"


def error_response(dialect: str, err: GatewayError, request_id: str | None) -> web.Response:
    """`err` as a JSON response in `dialect`, with its status and headers."""
    body = dialects.get(dialect).error_body(err, request_id)
    return web.Response(
        body=body, status=err.status, headers=err.headers, content_type="application/json"
    )


def host_name(host: str) -> str:
    """`[::1]:8080` → `::1`, `localhost:8080` → `localhost`.

    Anything after `]` but a port keeps the brackets, so `[::1]evil.com` is no loopback.
    """
    if host.startswith("["):
        end = host.find("]")
        rest = host[end + 1 :] if end > 0 else ""
        if end > 0 and (not rest or (rest[0] == ":" and rest[1:].isdigit())):
            return host[1:end]
        return host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback_host(host: str) -> bool:
    """True for loopback names and addresses, with or without a port.

    Addresses are parsed, not prefix-matched: `127.0.0.1.evil.example` is a
    name an attacker's DNS can point anywhere.
    """
    name = host_name(host).lower().rstrip(".")
    if name in LOOPBACK_HOSTS or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def normalize_origin(origin: str) -> str:
    """Origins compare case-insensitively and without a trailing slash."""
    return origin.strip().rstrip("/").lower()


@dataclass(frozen=True)
class GuardSettings:
    """What the guard enforces; `make_guard` asks for it on every request (hot reload)."""

    allowed_origins: frozenset[str]  # normalized (see normalize_origin)
    trusted_hosts: frozenset[str]  # a non-loopback bind address, when one is configured
    proxy_token: str | None = None
    token_required: bool = False  # bound beyond loopback: no token means refuse, never serve
    max_body: int | None = None  # bytes
    body_timeout: float | None = None  # seconds to receive the whole body

    @classmethod
    def of(cls, server, trusted_hosts: frozenset[str], proxy_token: str | None) -> GuardSettings:
        """The settings a `[server]` table (ServerConfig) and the current token amount to.

        A daemon trusting a non-loopback Host is bound beyond loopback: it needs a token.
        """
        return cls(
            frozenset(normalize_origin(o) for o in server.allowed_origins),
            trusted_hosts,
            proxy_token,
            bool(trusted_hosts),
            int(server.max_body_mb * 1024 * 1024),
            server.body_timeout,
        )


def make_guard(
    settings: Callable[[], GuardSettings],
    page_access: Callable[[web.Request], bool] | None = None,
):
    """The middleware; `settings()` returns the live GuardSettings (hot reload).

    `page_access(request)` says whether a dashboard request may go without the
    proxy token (the page's own files, a valid session cookie).
    """

    @web.middleware
    async def guard(request: web.Request, handler):
        request_id = new_id("req_")
        request["request_id"] = request_id
        # Set up front, so that reading them raises nothing: aiohttp's Request finds
        # an absent key by a KeyError it raises and catches, twice a request.
        request["cors_origin"] = request["spool"] = None
        try:
            current = settings()
            check_origin(request, current)
            if is_preflight(request):
                return preflight_response(request)
            if not (page_access and page_access(request)):
                check_token(request, current)
            await read_body(request, current)
            return await handler(request)
        except GatewayError as err:
            return error_response(dialect_for_path(request.path, request.headers), err, request_id)
        except web.HTTPException as exc:
            return error_response(
                dialect_for_path(request.path, request.headers),
                _from_http(exc, request),
                request_id,
            )
        except Exception:
            log.exception("internal error on %s %s (%s)", request.method, request.path, request_id)
            err = GatewayError(f"internal error in localgate (request {request_id}); see its log")
            return error_response(dialect_for_path(request.path, request.headers), err, request_id)
        finally:
            spool = request["spool"]
            if spool is not None:
                spool.close()

    return guard


def check_origin(request: web.Request, server: GuardSettings) -> None:
    """Refuse DNS rebinding (odd Host) and browser pages from origins not allowed."""
    host = request.headers.get("Host", "")
    if not is_loopback_host(host) and host_name(host) not in server.trusted_hosts:
        raise Forbidden(
            f"Host '{_printable(host)}' is not a loopback name; localgate refuses it to stop "
            "DNS rebinding. Use http://127.0.0.1 or http://localhost."
        )
    origin = request.headers.get("Origin")
    if origin is not None:
        if is_page_path(request.path) and normalize_origin(origin) == own_origin(host):
            # The dashboard's own page (the Host is a loopback name, checked above).
            request["same_origin"] = True
            return
        if normalize_origin(origin) not in server.allowed_origins:
            raise Forbidden(
                f"requests from the browser origin '{_printable(origin)}' are refused; allow it "
                "with [server] allowed_origins in localgate's config"
            )
        request["cors_origin"] = origin
    elif request.headers.get("Sec-Fetch-Site", "").lower() in ("cross-site", "same-site"):
        # A browser request from another page that carries no Origin (a "no-cors"
        # GET, an <img>): nothing a page may do with localgate.
        raise Forbidden("requests from other browser pages are refused")


def own_origin(host: str) -> str:
    """The origin of a page served by this daemon under the Host header `host`."""
    return normalize_origin(f"http://{host}")


def is_preflight(request: web.Request) -> bool:
    return (
        request.method == "OPTIONS"
        and request["cors_origin"] is not None
        and "Access-Control-Request-Method" in request.headers
    )


def preflight_response(request: web.Request) -> web.Response:
    """The answer to a CORS preflight from an allowed origin (checked by check_origin)."""
    headers = {
        "Access-Control-Allow-Methods": CORS_METHODS,
        "Access-Control-Max-Age": CORS_MAX_AGE,
    }
    asked = request.headers.get("Access-Control-Request-Headers")
    if asked:  # the origin is trusted by the user: it may send the headers its SDK needs
        headers["Access-Control-Allow-Headers"] = asked
    return web.Response(status=204, headers=headers)


def check_token(request: web.Request, server: GuardSettings) -> None:
    """With a proxy token set, every request but the `/` probe must present it."""
    if request.path in OPEN_PATHS:
        return
    if server.proxy_token is None:
        if server.token_required:
            raise ProxyTokenMissing(TOKEN_GONE)
        return
    # `?key=` only where a dialect sends it (Google clients); elsewhere a token in
    # the URL would only end up in someone's history or proxy log.
    query = request.query if dialect_for_path(request.path) == "gemini" else {}
    if not token_accepted(server.proxy_token, request.headers, query):
        raise Unauthorized(
            "this localgate requires its proxy token: send it as the API key "
            "(Authorization: Bearer, x-api-key or x-goog-api-key); "
            "`localgate token rotate` makes a new one"
        )


async def read_body(request: web.Request, server: GuardSettings) -> None:
    """Read the body now, bounded in size and time, so handlers get it from memory.

    aiohttp caches what `read()` returned, so the handler's own `read()` is free.
    A multipart form (an upload) is spooled instead — to disk when large — as
    `request["spool"]`, under the same limits.
    """
    if request.method not in BODY_METHODS or not request.body_exists:
        return
    limit = server.max_body
    if limit is not None and request.content_length and request.content_length > limit:
        raise _too_large(limit)
    multipart = request.content_type.startswith("multipart/")
    try:
        if multipart:
            async with asyncio.timeout(server.body_timeout):
                request["spool"] = await _spool(request, limit)
        elif request.content.is_eof() and request.content_length is not None:
            await request.read()  # it came with the headers: no timer to arm
        else:
            async with asyncio.timeout(server.body_timeout):
                await request.read()
    except TimeoutError:
        raise RequestTimeout(
            f"the request body did not arrive within {server.body_timeout:g}s "
            "([server] body_timeout)"
        ) from None
    except web.HTTPRequestEntityTooLarge:
        raise _too_large(limit) from None


async def _spool(request: web.Request, limit: int | None) -> Spool:
    spool = Spool()
    try:
        async for chunk in request.content.iter_chunked(CHUNK):
            spool.write(chunk)
            if limit is not None and spool.size > limit:
                raise _too_large(limit)
    except BaseException:
        spool.close()
        raise
    return spool


def _too_large(limit: int | None) -> BodyTooLarge:
    size = f" ({limit / 1024 / 1024:g} MB)" if limit else ""
    return BodyTooLarge(
        f"the request body is larger than [server] max_body_mb{size} allows; "
        "raise max_body_mb in localgate's config if this request is legitimate"
    )


def _from_http(exc: web.HTTPException, request: web.Request) -> GatewayError:
    if exc.status == 413:
        return _too_large(None)
    if exc.status == 404:
        return NotFound(f"localgate has no route {request.method} {_printable(request.path)}")
    if exc.status == 405:
        return InvalidRequest(f"{request.method} is not allowed on {_printable(request.path)}")
    return InvalidRequest(exc.text or exc.reason)


def _printable(text: str, limit: int = 200) -> str:
    """Client-supplied text, shortened and stripped of control characters, for messages."""
    text = text[:limit]
    return "".join(ch if ch.isprintable() else "?" for ch in text)


async def stamp_response(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response names its request; allowed origins get CORS headers."""
    request_id = request.get("request_id")
    if request_id:
        response.headers["x-request-id"] = request_id
    origin = request.get("cors_origin")
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        response.headers["Vary"] = "Origin"
