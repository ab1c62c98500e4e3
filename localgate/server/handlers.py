"""Thin HTTP handlers: read the body, inspect it in its dialect, hand it to the gateway."""

from __future__ import annotations

import time

from aiohttp import web

from localgate import __version__, dialects
from localgate.dialects.common import parse_object
from localgate.errors import InvalidRequest, NotFound
from localgate.gateway import ClientRequest
from localgate.providers.base import CHAT, COUNT_TOKENS, GENERATE, MESSAGES
from localgate.server import admin
from localgate.server.keys import BEYOND_LOOPBACK, CATALOG, GATEWAY, STARTED


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", "/", root)
    app.router.add_route("HEAD", "/api/hello", root)
    app.router.add_get("/health", health)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/messages/count_tokens", count_tokens)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/account-limits", account_limits)
    app.router.add_post("/refresh-token", admin.refresh_token)
    app.router.add_post("/reset-account", admin.reset_account)
    app.router.add_get("/v1beta/models", models)
    # google-genai calls /v1beta/… by default and /v1/… with some base_url settings.
    for version in ("v1beta", "v1"):
        app.router.add_post(f"/{version}/models/{{target}}", generate)


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


async def _serve(request: web.Request, dialect: str, op: str, inspected, body, raw):
    req = client_request(request, dialect, op, inspected, body, raw)
    return await gateway(request).serve(req, request)


async def read_body(request: web.Request) -> tuple[dict, bytes]:
    """The request's body as a JSON object and as received (400 when it is not one)."""
    request["received"] = time.monotonic()
    raw = await request.read()
    return parse_object(raw), raw


async def messages(request: web.Request):
    body, raw = await read_body(request)
    inspected = dialects.get("anthropic").inspect(MESSAGES, body, request.headers)
    return await _serve(request, "anthropic", MESSAGES, inspected, body, raw)


async def count_tokens(request: web.Request):
    body, raw = await read_body(request)
    inspected = dialects.get("anthropic").inspect(COUNT_TOKENS, body, request.headers)
    return await _serve(request, "anthropic", COUNT_TOKENS, inspected, body, raw)


async def chat(request: web.Request):
    body, raw = await read_body(request)
    inspected = dialects.get("openai").inspect(CHAT, body, request.headers)
    return await _serve(request, "openai", CHAT, inspected, body, raw)


GEMINI_METHODS = {"generateContent": False, "streamGenerateContent": True}


async def generate(request: web.Request):
    """`/v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`."""
    model, _, method = request.match_info["target"].rpartition(":")
    if method not in GEMINI_METHODS or not model:
        raise NotFound(f"unsupported Gemini method '{method or request.match_info['target']}'")
    stream = GEMINI_METHODS[method]
    if stream and request.query.get("alt") != "sse":
        raise InvalidRequest("streamGenerateContent is served as server-sent events: add ?alt=sse")
    body, raw = await read_body(request)
    inspected = dialects.get("gemini").inspect(model, stream, body)
    return await _serve(request, "gemini", GENERATE, inspected, body, raw)


async def models(request: web.Request) -> web.Response:
    """The models the accounts serve, in the caller's shape."""
    ids = await request.app[CATALOG].ids()
    if request.path.startswith("/v1beta/"):
        shape = "gemini"
    elif "anthropic-version" in request.headers:
        shape = "anthropic"
    else:
        shape = "openai"
    return web.json_response(dialects.get(shape).models_list(ids))


async def account_limits(request: web.Request) -> web.Response:
    """Per-account state; `?format=table` for a terminal."""
    from localgate.limits import limits_json, limits_table

    view = limits_json(gateway(request))
    if request.query.get("format") == "table":
        return web.Response(text=limits_table(view))
    return web.json_response(view)
