"""The OpenAI Responses front door: /v1/responses and the endpoints around it.

Before the gateway: a `previous_response_id` localgate kept is expanded into
the items it stands for (any account can then serve the follow-up), and the
compaction items localgate sealed are opened into the summary they hold. After
it: the answer is kept for later turns unless the client said `store: false`.
"""

from __future__ import annotations

import logging

from aiohttp import web

from localgate import dialects, jsonwire
from localgate.door import holds
from localgate.errors import InvalidRequest, NotFound
from localgate.providers.base import COMPACT, COUNT_TOKENS, RESPONSES
from localgate.server.handlers import client_request, gateway, read_body
from localgate.server.keys import RESPONSE_STORE

log = logging.getLogger("localgate")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/responses", create)
    app.router.add_post("/v1/responses/input_tokens", input_tokens)
    app.router.add_post("/v1/responses/compact", compact)
    app.router.add_get("/v1/responses/{id}", retrieve)
    app.router.add_delete("/v1/responses/{id}", delete)
    app.router.add_get("/v1/responses/{id}/input_items", input_items)


async def create(request: web.Request):
    """POST /v1/responses: a model answer, streamed or whole."""
    return await _serve(request, RESPONSES)


async def input_tokens(request: web.Request):
    """POST /v1/responses/input_tokens: counted by an account that can count."""
    return await _serve(request, COUNT_TOKENS)


async def compact(request: web.Request):
    """POST /v1/responses/compact: OpenAI's own, or a summary the serving model writes."""
    return await _serve(request, COMPACT)


async def _serve(request: web.Request, op: str):
    body, raw = await read_body(request)
    dialect = dialects.get("responses")
    inspected = dialect.inspect(op, body, request.headers)
    store = request.app[RESPONSE_STORE]
    keep = op == RESPONSES and body.get("store") is not False
    previous = body.get("previous_response_id")
    # This turn's own items, kept with its answer: Codex says store: false, and its
    # history (most of its request) is then relayed unread.
    added = _items(body.get("input")) if keep or previous else []
    kept_previous = None
    if previous:
        history = await store.chain(previous)
        if history is not None:  # expanded here: any account can serve the follow-up
            kept_previous = previous
            body = {k: v for k, v in body.items() if k != "previous_response_id"}
            body["input"] = history + added
    # Compactions localgate sealed are opened; the byte check spares the rest a walk.
    if kept_previous or holds(body, raw, "input", dialect.SEALED_COMPACTION):
        opened = dialect.open_compactions(body, gateway(request).seal_key)
        if opened is not body or kept_previous:
            body = opened
            raw = jsonwire.dumps(body)
    native_only = None
    if previous and kept_previous is None:
        native_only = InvalidRequest(
            f"previous_response_id {previous!r} is not kept by localgate (it keeps responses "
            f"for [server] response_store_days, unless sent with store: false), and no OpenAI "
            f"account that could expand it serves {inspected.model}; send the whole input instead",
            param="previous_response_id",
        )
    req = client_request(request, "responses", op, inspected, body, raw, native_only=native_only)
    response = await gateway(request).serve(req, request)
    # With native_only set, an OpenAI account served a chain it keeps itself.
    if keep and native_only is None and isinstance(req.answer, dict):
        try:
            await store.save(req.answer, kept_previous, added)
        except Exception:  # the answer is out already: a second one must not follow it
            log.exception("could not keep response %s for later turns", req.answer.get("id"))
    return response


def _items(value) -> list:
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    return list(value) if isinstance(value, list) else []


async def retrieve(request: web.Request) -> web.Response:
    """GET /v1/responses/{id}: a response localgate served and kept."""
    answer = await request.app[RESPONSE_STORE].get(_id(request))
    if answer is None:
        raise _unknown(request)
    return web.json_response(answer)


async def delete(request: web.Request) -> web.Response:
    """DELETE /v1/responses/{id}."""
    if not await request.app[RESPONSE_STORE].delete(_id(request)):
        raise _unknown(request)
    return web.json_response({"id": _id(request), "object": "response", "deleted": True})


async def input_items(request: web.Request) -> web.Response:
    """GET /v1/responses/{id}/input_items: the items that went into a kept response."""
    items = await request.app[RESPONSE_STORE].input_items(_id(request))
    if items is None:
        raise _unknown(request)
    if request.query.get("order", "desc") == "desc":
        items = items[::-1]
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError:
        raise InvalidRequest("limit: an integer from 1 to 100", param="limit") from None
    page = items[: max(1, min(limit, 100))]
    ids = [i.get("id") for i in page if isinstance(i, dict)]
    return web.json_response(
        {
            "object": "list",
            "data": page,
            "first_id": ids[0] if ids else None,
            "last_id": ids[-1] if ids else None,
            "has_more": len(items) > len(page),
        }
    )


def _id(request: web.Request) -> str:
    return request.match_info["id"]


def _unknown(request: web.Request) -> NotFound:
    return NotFound(
        f"No response with id '{_id(request)}' is kept by localgate (responses sent with "
        "store: false are not kept, and kept ones go after [server] response_store_days)",
        param="response_id",
    )
