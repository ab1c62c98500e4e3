"""The one middleware: request id, Host/Origin guard, errors in the caller's dialect.

Every request gets an id; requests from browsers on other origins and
DNS-rebinding attempts (a Host that is not a loopback name) are refused before
any handler runs; every error leaves in the dialect of the route it hit.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from aiohttp import web

from localgate import dialects
from localgate.errors import (
    BodyTooLarge,
    Forbidden,
    GatewayError,
    InvalidRequest,
    NotFound,
)

log = logging.getLogger("localgate")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def dialect_for_path(path: str) -> str:
    """The dialect an error on `path` must be written in."""
    if path.startswith("/v1/messages"):
        return "anthropic"
    if path.startswith("/v1beta/") or (path.startswith("/v1/models/") and ":" in path):
        return "gemini"
    return "openai"


def error_response(dialect: str, err: GatewayError, request_id: str | None) -> web.Response:
    body = dialects.get(dialect).error_body(err, request_id)
    return web.Response(
        body=body, status=err.status, headers=err.headers, content_type="application/json"
    )


def host_name(host: str) -> str:
    """`[::1]:8080` → `::1`, `localhost:8080` → `localhost`."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback_host(host: str) -> bool:
    name = host_name(host).lower().rstrip(".")
    return name in LOOPBACK_HOSTS or name.endswith(".localhost") or name.startswith("127.")


@dataclass(frozen=True)
class GuardSettings:
    allowed_origins: frozenset[str]
    trusted_hosts: frozenset[str]  # a non-loopback bind address, when one is configured


def make_guard(settings):
    """The middleware; `settings()` returns the live GuardSettings (hot reload)."""

    @web.middleware
    async def guard(request: web.Request, handler):
        request_id = "req_" + secrets.token_hex(12)
        request["request_id"] = request_id
        try:
            check_origin(request, settings())
            return await handler(request)
        except GatewayError as err:
            return error_response(dialect_for_path(request.path), err, request_id)
        except web.HTTPException as exc:
            return error_response(
                dialect_for_path(request.path), _from_http(exc, request), request_id
            )
        except Exception:
            log.exception("internal error on %s %s (%s)", request.method, request.path, request_id)
            err = GatewayError(f"internal error in localgate (request {request_id}); see its log")
            return error_response(dialect_for_path(request.path), err, request_id)

    return guard


def check_origin(request: web.Request, server: GuardSettings) -> None:
    host = request.headers.get("Host", "")
    if not is_loopback_host(host) and host_name(host) not in server.trusted_hosts:
        raise Forbidden(
            f"Host '{host}' is not a loopback name; localgate refuses it to stop DNS "
            "rebinding. Use http://127.0.0.1 or http://localhost."
        )
    origin = request.headers.get("Origin")
    if origin is not None and origin not in server.allowed_origins:
        raise Forbidden(
            f"requests from the browser origin '{origin}' are refused; allow it with "
            "[server] allowed_origins in localgate's config"
        )


def _from_http(exc: web.HTTPException, request: web.Request) -> GatewayError:
    if exc.status == 413:
        return BodyTooLarge("the request body is larger than [server] max_body_mb allows")
    if exc.status == 404:
        return NotFound(f"localgate has no route {request.method} {request.path}")
    if exc.status == 405:
        return InvalidRequest(f"{request.method} is not allowed on {request.path}")
    return InvalidRequest(exc.text or exc.reason)


async def add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, streams included, names its request."""
    request_id = request.get("request_id")
    if request_id:
        response.headers["x-request-id"] = request_id
