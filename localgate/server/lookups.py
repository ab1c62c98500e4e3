"""Model lookups: the catalog of what the accounts serve, in each SDK's shape.

`GET /v1/models` and `/v1/models/{id}` answer in OpenAI's shape, or Anthropic's
when the client sends `anthropic-version`. `GET /v1beta/models` and
`/v1beta/models/{name}` answer in Gemini's (`{"models": [...]}` with
`models/`-prefixed names and paging): google-genai's `models.list()` takes its
list from the `models` key only and pages while `nextPageToken` is present.
"""

from __future__ import annotations

from aiohttp import web

from localgate import dialects
from localgate.errors import InvalidRequest, ModelNotFound
from localgate.server.keys import CATALOG, GATEWAY

DEFAULT_PAGE = 50
MAX_PAGE = 1000
GENERATION_METHODS = ["generateContent", "streamGenerateContent", "countTokens"]
EMBEDDING_METHODS = ["embedContent", "batchEmbedContents"]


def _shape(request: web.Request) -> str:
    return "anthropic" if "anthropic-version" in request.headers else "openai"


async def models(request: web.Request) -> web.Response:
    """GET /v1/models: the models the accounts serve, in the caller's shape."""
    ids = await request.app[CATALOG].ids()
    return web.json_response(dialects.get(_shape(request)).models_list(ids))


async def _served(request: web.Request, model: str) -> str:
    """`model` when the accounts serve it (listed, or matched by a pattern), else a 404."""
    model = model.removeprefix("models/")
    listed = await request.app[CATALOG].ids()
    if model in listed or any(t.accounts for t in request.app[GATEWAY].plan(model)):
        return model
    raise ModelNotFound(
        f"no account serves model '{model}'; `localgate models` lists the models served",
        param="model",
    )


async def model(request: web.Request) -> web.Response:
    """GET /v1/models/{id}: one model, OpenAI's or Anthropic's shape."""
    found = await _served(request, request.match_info["model"])
    (entry,) = dialects.get(_shape(request)).models_list([found])["data"]
    return web.json_response(entry)


def gemini_entry(model: str) -> dict:
    """A Gemini `Model` for `model`; what it supports follows from its kind."""
    methods = EMBEDDING_METHODS if "embed" in model else GENERATION_METHODS
    return {
        "name": f"models/{model}",
        "baseModelId": model,
        "displayName": model,
        "description": f"{model}, served by localgate",
        "supportedGenerationMethods": methods,
    }


async def gemini_models(request: web.Request) -> web.Response:
    """GET /v1beta/models?pageSize=&pageToken=: Gemini's shape, paged."""
    ids = await request.app[CATALOG].ids()
    size = _int_query(request, "pageSize", DEFAULT_PAGE, 1, MAX_PAGE)
    start = _int_query(request, "pageToken", 0, 0, len(ids))
    page = {"models": [gemini_entry(i) for i in ids[start : start + size]]}
    if start + size < len(ids):
        page["nextPageToken"] = str(start + size)
    return web.json_response(page)


async def gemini_model(request: web.Request) -> web.Response:
    """GET /v1beta/models/{name}: one bare Gemini `Model`."""
    return web.json_response(gemini_entry(await _served(request, request.match_info["model"])))


def _int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    value = request.query.get(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidRequest(f"{name}: expected an integer, got {value!r:.40}") from None
    return min(max(number, low), high)
