"""Thin HTTP handlers: a route names its dialect and operation; the gateway does the rest.

Every model route goes through `serve`: read the body as its operation says
(JSON, or a spooled multipart form), inspect it (model, stream flag, session,
and a 400 for what no upstream could take), hand it to the gateway.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from localgate import __version__, dialects, inspect
from localgate import operations as ops
from localgate.door import parse_object, read_object
from localgate.errors import InvalidRequest, NotFound
from localgate.gateway import ClientRequest
from localgate.providers.base import CHAT, COUNT_TOKENS, GENERATE, MESSAGES
from localgate.server import admin, lookups
from localgate.server.keys import BEYOND_LOOPBACK, GATEWAY, STARTED
from localgate.spool import read_form

# path → (client dialect, operation) of every POST route to a model
ROUTES: dict[str, tuple[str, str]] = {
    "/v1/messages": ("anthropic", MESSAGES),
    "/v1/messages/count_tokens": ("anthropic", COUNT_TOKENS),
    "/v1/chat/completions": ("openai", CHAT),
    "/v1/embeddings": ("openai", ops.EMBED),
    "/v1/completions": ("openai", ops.COMPLETE),
    "/v1/images/generations": ("openai", ops.IMAGE),
    "/v1/images/edits": ("openai", ops.IMAGE_EDIT),
    "/v1/images/variations": ("openai", ops.IMAGE_VARIATION),
    "/v1/audio/speech": ("openai", ops.SPEECH),
    "/v1/audio/transcriptions": ("openai", ops.TRANSCRIBE),
    "/v1/audio/translations": ("openai", ops.TRANSLATE_AUDIO),
    "/v1/rerank": ("openai", ops.RERANK),
    "/v1/moderations": ("openai", ops.MODERATE),
}
# Gemini's methods on /v1beta/models/{model}:METHOD → (operation, stream).
GEMINI_METHODS = {
    "generateContent": (GENERATE, False),
    "streamGenerateContent": (GENERATE, True),
    "countTokens": (COUNT_TOKENS, False),
    "embedContent": (ops.EMBED_CONTENT, False),
    "batchEmbedContents": (ops.BATCH_EMBED, False),
}
# What localgate does not serve, with why: a clear 404 instead of a puzzle.
NOT_SERVED = {
    "files": "the Files API is not served: uploaded files live in one account's storage, "
    "and localgate spreads requests over several accounts",
    "batches": "batches are not served: a batch runs for hours on one account, outside "
    "localgate's rotation and failover",
    "video": "video generation is not served by localgate",
    "music": "music generation is not served by localgate",
}
NOT_SERVED_PATHS = {
    "/v1/files": "files",
    "/v1/uploads": "files",
    "/v1beta/files": "files",
    "/upload/v1beta/files": "files",
    "/v1/batches": "batches",
    "/v1/messages/batches": "batches",
    "/v1beta/batches": "batches",
    "/v1/videos": "video",
    "/v1/music": "music",
}
NOT_SERVED_METHODS = {
    "batchGenerateContent": "batches",
    "asyncBatchEmbedContent": "batches",
    "predictLongRunning": "video",
}


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", "/", root)
    app.router.add_route("HEAD", "/api/hello", root)
    app.router.add_get("/health", health)
    app.router.add_get("/v1/models", lookups.models)
    app.router.add_get("/v1/models/{model:.+}", lookups.model)  # ids may hold slashes
    for path, (dialect, op) in ROUTES.items():
        app.router.add_post(path, _handler(dialect, op))
    app.router.add_get("/v1/realtime", realtime)
    app.router.add_get("/account-limits", account_limits)
    app.router.add_post("/refresh-token", admin.refresh_token)
    app.router.add_post("/reset-account", admin.reset_account)
    app.router.add_get("/v1beta/models", lookups.models)
    # google-genai calls /v1beta/… by default and /v1/… with some base_url settings.
    for version in ("v1beta", "v1"):
        app.router.add_post(f"/{version}/models/{{target}}", gemini_method)
    app.router.add_get("/v1beta/models/{model}", lookups.model)
    for path in NOT_SERVED_PATHS:
        app.router.add_route("*", path, not_served)
        app.router.add_route("*", path + "/{tail:.*}", not_served)


def gateway(request: web.Request):
    return request.app[GATEWAY]


async def root(request: web.Request) -> web.Response:
    """Clients (Claude Code) probe `HEAD /` before their first request."""
    return web.Response(text=f"localgate {__version__}\n")


async def health(request: web.Request) -> web.Response:
    gw = gateway(request)
    states = [s.state for s in gw.pool.status()]
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "accounts": len(gw.accounts),
            "activeAccounts": states.count("ok"),
            "states": {s: states.count(s) for s in ("ok", "cooling", "invalid", "disabled")},
            "uptime": round(time.time() - request.app[STARTED], 1),
            "beyondLoopback": request.app[BEYOND_LOOPBACK],
        }
    )


def _handler(dialect: str, op: str):
    inspector = inspect.inspector(dialect, op)

    async def handler(request: web.Request):
        return await serve(request, dialect, op, inspector)

    handler.__name__ = op
    return handler


async def serve(request: web.Request, dialect, op, inspector, url_model=None):
    """Read, inspect and serve one request of `op` in `dialect`."""
    if ops.get(op).multipart:
        request["received"] = time.monotonic()
        raw = request.get("spool")  # the guard spooled it (bounded by max_body_mb)
        if raw is None:
            raise InvalidRequest("this route takes a multipart/form-data body")
        body = read_form(raw, request.headers.get("content-type", ""))
    else:
        body, raw = await read_body(request, whole=ops.get(op).read_whole)
    inspected = inspector(body, request.headers, url_model)
    req = client_request(request, dialect, op, inspected, body, raw)
    return await gateway(request).serve(req, request)


async def read_body(
    request: web.Request, *, whole: bool = False
) -> tuple[Mapping[str, Any], bytes]:
    """The request's body as a JSON object (read `whole`, or its members when first
    asked for) and as received; a 400 when it is not one."""
    request["received"] = time.monotonic()
    raw = await request.read()
    return (parse_object(raw) if whole else read_object(raw)), raw


def client_request(
    request: web.Request, dialect: str, op: str, inspected, body, raw, **extra
) -> ClientRequest:
    """The gateway's view of a request whose body was read and inspected."""
    return ClientRequest(
        id=request["request_id"],
        dialect=dialect,
        op=op,
        model=inspected.model,
        stream=inspected.stream,
        session=inspected.session,
        body=body,
        raw=raw,
        headers=request.headers,
        received=request["received"],
        **extra,
    )


async def gemini_method(request: web.Request):
    """`/v1beta/models/{model}:METHOD`: generate (`:streamGenerateContent?alt=sse`),
    countTokens, embedContent, batchEmbedContents."""
    model, _, method = request.match_info["target"].rpartition(":")
    if method in NOT_SERVED_METHODS:
        raise NotFound(NOT_SERVED[NOT_SERVED_METHODS[method]])
    if method not in GEMINI_METHODS or not model:
        raise NotFound(f"unsupported Gemini method '{method or request.match_info['target']}'")
    op, stream = GEMINI_METHODS[method]
    if op == GENERATE:
        if stream and request.query.get("alt") != "sse":
            raise InvalidRequest(
                "streamGenerateContent is served as server-sent events: add ?alt=sse"
            )
        gemini = dialects.get("gemini")

        def inspector(body, headers, url_model):
            return gemini.inspect(url_model, stream, body)

    else:
        inspector = inspect.inspector("gemini", op)
    return await serve(request, "gemini", op, inspector, model)


async def realtime(request: web.Request):
    """`GET /v1/realtime?model=…`: a WebSocket relayed to an OpenAI account."""
    request["received"] = time.monotonic()
    inspected = inspect.realtime({}, request.headers, request.query.get("model"))
    req = client_request(request, "openai", ops.REALTIME, inspected, {}, b"")
    return await gateway(request).serve(req, request)


async def not_served(request: web.Request):
    path = request.path
    kind = next(v for p, v in NOT_SERVED_PATHS.items() if path == p or path.startswith(p + "/"))
    raise NotFound(NOT_SERVED[kind])


async def account_limits(request: web.Request) -> web.Response:
    """Per-account state; `?format=table` for a terminal."""
    from localgate.limits import limits_json, limits_table

    view = limits_json(gateway(request))
    if request.query.get("format") == "table":
        return web.Response(text=limits_table(view))
    return web.json_response(view)
