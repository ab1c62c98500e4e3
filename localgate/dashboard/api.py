"""The dashboard's page, login and read-only JSON (documented in docs/dashboard.md)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from aiohttp import web

from localgate import __version__
from localgate.dashboard import PREFIX, STATIC
from localgate.dashboard.feed import HISTORY, STATUS_FILTERS
from localgate.dashboard.session import CODE_LIFETIME, COOKIE, SESSION_LIFETIME
from localgate.dashboard.usage import UsageQuery, buckets, shape, to_csv
from localgate.errors import InvalidRequest, Unauthorized
from localgate.ledger import LedgerStore
from localgate.limits import cell_info, iso, limits_json, matrix_models
from localgate.proxytoken import token_accepted
from localgate.server.keys import FEED, GATEWAY, READER, SESSIONS, STARTED

HEARTBEAT = 15.0  # seconds between SSE comments, so a vanished page is noticed
_COMMAND = re.compile(r"`(localgate [^`]+)`")


async def page(request: web.Request) -> web.FileResponse:
    """GET /ui: the page itself (it holds no data; the API does)."""
    return web.FileResponse(STATIC / "index.html")


async def login(request: web.Request) -> web.Response:
    """GET /ui/login?code=…: a one-time link from `localgate dashboard` becomes a session cookie."""
    sessions = request.app[SESSIONS]
    if not sessions.required:
        return web.Response(status=303, headers={"Location": PREFIX})
    session = sessions.redeem(request.query.get("code"))
    if session is None:
        return web.Response(
            status=403,
            text="This login link was already used or has expired.\n"
            "Run `localgate dashboard` for a new one.\n",
        )
    response = web.Response(status=303, headers={"Location": PREFIX})
    response.set_cookie(
        COOKIE,
        session,
        path=PREFIX,
        max_age=int(SESSION_LIFETIME),
        httponly=True,
        samesite="Strict",
    )
    return response


async def login_link(request: web.Request) -> web.Response:
    """POST /ui/api/login-link (with the proxy token): a one-time `/ui/login?code=…` path."""
    sessions = request.app[SESSIONS]
    if not sessions.required:
        return web.json_response({"url": PREFIX, "expires_in": None})
    token = sessions.token()
    if token is None or not token_accepted(token, request.headers, request.query):
        raise Unauthorized("a login link is given for the proxy token itself, not for a session")
    code = sessions.login_code()
    return web.json_response(
        {"url": f"{PREFIX}/login?code={code}", "expires_in": int(CODE_LIFETIME)}
    )


async def session(request: web.Request) -> web.Response:
    """GET /ui/api/session: the CSRF token for actions, and what the page needs to start."""
    sessions = request.app[SESSIONS]
    cookie = request.cookies.get(COOKIE)
    current = cookie if sessions.valid(cookie) else None
    return web.json_response(
        {
            "version": __version__,
            "csrf": sessions.csrf(current),
            "login_required": sessions.required,
            "now": time.time(),
            "started": iso(request.app[STARTED]),
        }
    )


def fix(entry: dict[str, Any]) -> str | None:
    """The command that brings a not-ok account back (None when waiting is the fix)."""
    name, provider = entry["name"], entry["provider"]
    if entry["state"] == "disabled":
        return f"localgate accounts enable {name}"
    if entry["state"] == "invalid":
        found = _COMMAND.search(entry["reason"] or "")
        if found:
            return found.group(1)
        return f"localgate accounts add {name} --provider {provider}"
    return None


async def accounts(request: web.Request) -> web.Response:
    """GET /ui/api/accounts: every account's state, figures, local use and what fixes it."""
    from localgate.server.admin import refreshable

    gateway = request.app[GATEWAY]
    view = limits_json(gateway)
    for entry in view["accounts"]:
        account = gateway.accounts.get(entry["name"])
        entry["fix"] = fix(entry)
        entry["refreshable"] = account is not None and refreshable(account)
    return web.json_response({"now": time.time(), **view})


async def matrix(request: web.Request) -> web.Response:
    """GET /ui/api/matrix: which account can take which model now, and when the others can."""
    now = time.time()
    view = limits_json(request.app[GATEWAY])
    seen = [m for item in request.app[FEED].recent for m in (item["model_used"], item["model"])]
    models = matrix_models(view, seen)
    return web.json_response(
        {
            "now": now,
            "accounts": [a["name"] for a in view["accounts"]],
            "models": [
                {"model": model, "cells": [cell_info(a, model, now) for a in view["accounts"]]}
                for model in models
            ],
        }
    )


def _traffic_filters(request: web.Request) -> dict[str, str]:
    filters = {k: request.query[k] for k in ("account", "model", "status") if request.query.get(k)}
    status = filters.get("status")
    if status is not None and status not in STATUS_FILTERS and not status.isdigit():
        raise InvalidRequest(
            "status must be ok, error or an HTTP status such as 429", param="status"
        )
    return filters


async def traffic(request: web.Request) -> web.Response:
    """GET /ui/api/traffic: the latest finished requests (with filters), oldest first."""
    filters = _traffic_filters(request)
    try:
        limit = int(request.query.get("limit", "200"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= HISTORY:
        raise InvalidRequest(f"limit must be a number from 1 to {HISTORY}", param="limit")
    feed = request.app[FEED]
    return web.json_response({"items": feed.history(filters, limit), "viewers": len(feed.viewers)})


async def traffic_stream(request: web.Request) -> web.StreamResponse:
    """GET /ui/api/traffic/stream: server-sent events, one `request` event per finished request.

    The handler drains its viewer's queue at the browser's pace; the gateway
    only ever appends to that queue (see feed.Viewer), so a slow page loses
    its oldest items (a `dropped` event says how many) instead of slowing anyone.
    """
    filters = _traffic_filters(request)
    feed = request.app[FEED]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    viewer = feed.watch(filters)
    try:
        await response.write(b"retry: 3000\n: connected\n\n")
        while not viewer.closed:
            try:
                async with asyncio.timeout(HEARTBEAT):
                    await viewer.ready.wait()
            except TimeoutError:
                await response.write(b": ping\n\n")
                continue
            items, dropped = viewer.drain()
            chunk = f"event: dropped\ndata: {json.dumps({'count': dropped})}\n\n" if dropped else ""
            chunk += "".join(f"event: request\ndata: {json.dumps(i)}\n\n" for i in items)
            if chunk:
                await response.write(chunk.encode())
    except (ConnectionResetError, ConnectionError):
        pass  # the page went away
    finally:
        feed.forget(viewer)
    return response


async def _usage(request: web.Request) -> dict[str, Any]:
    query = UsageQuery.parse(request.query)
    spans = buckets(query.range, query.step, time.time())
    only = {"account": query.account, "model": query.model}
    cells = await request.app[READER].run(LedgerStore.series, spans, query.by, **only)
    return shape(query, spans, cells)


async def usage(request: web.Request) -> web.Response:
    """GET /ui/api/usage?range=&step=&by=&account=&model=: sums per bucket and key."""
    return web.json_response(await _usage(request))


async def usage_csv(request: web.Request) -> web.Response:
    """GET /ui/api/usage.csv: the same rows as CSV, for a spreadsheet."""
    answer = await _usage(request)
    name = f"localgate-usage-{answer['range']}-by-{answer['by']}-per-{answer['step']}.csv"
    return web.Response(
        text=to_csv(answer),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
