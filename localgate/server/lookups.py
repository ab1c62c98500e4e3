"""Model lookups: the catalog of what the accounts serve, in each SDK's shape.

`GET /v1/models` and `/v1/models/{id}` answer in OpenAI's shape, Anthropic's
when the client sends `anthropic-version`, Gemini's when it sends Google's key
or client header (google-genai's default api_version is `v1`). `/v1beta/models`
and `/v1beta/models/{name}` are Gemini's. Gemini's shape is `{"models": [...]}`
with `models/`-prefixed names, paged: google-genai's `models.list()` takes its
list from the `models` key only and pages while `nextPageToken` is present.
"""

from __future__ import annotations

from aiohttp import web

from localgate import dialects
from localgate.errors import InvalidRequest, ModelNotFound
from localgate.server.guard import dialect_for_path
from localgate.server.keys import CATALOG, GATEWAY

DEFAULT_PAGE = 50
MAX_PAGE = 1000


def _shape(request: web.Request) -> str:
    return dialect_for_path(request.path, request.headers)


async def models(request: web.Request) -> web.Response:
    """GET /v1/models, /v1beta/models: the models the accounts serve, in the caller's shape."""
    shape = _shape(request)
    if shape == "gemini":
        return await gemini_models(request)
    ids = await request.app[CATALOG].ids()
    return web.json_response(dialects.get(shape).models_list(ids))


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
    """GET /v1/models/{id}, /v1beta/models/{name}: one model in the caller's shape."""
    found = await _served(request, request.match_info["model"])
    shape = _shape(request)
    if shape == "gemini":
        return web.json_response(dialects.get("gemini").model_entry(found))
    (entry,) = dialects.get(shape).models_list([found])["data"]
    return web.json_response(entry)


async def gemini_models(request: web.Request) -> web.Response:
    """GET /v1beta/models?pageSize=&pageToken=: Gemini's shape, paged."""
    ids = await request.app[CATALOG].ids()
    size = _int_query(request, "pageSize", DEFAULT_PAGE, 1, MAX_PAGE)
    start = _int_query(request, "pageToken", 0, 0, len(ids))
    page = dialects.get("gemini").models_list(ids[start : start + size])
    if start + size < len(ids):
        page["nextPageToken"] = str(start + size)
    return web.json_response(page)


def _int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    value = request.query.get(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidRequest(f"{name}: expected an integer, got {value!r:.40}") from None
    return min(max(number, low), high)
