"""The local dashboard: a page at /ui and the JSON it reads under /ui/api/….

The page is static files in this package (plain JS, CSS and SVG drawn by its
own code: no build step, no CDN, works offline). Its data comes from what
the daemon already has: the pool's state (`limits.limits_json`), the ledger
(`ledger.rollup`) and a live feed that observes the gateway's events
(`feed.LiveFeed`). Access: `session.PageSessions`; security headers:
`stamp_page`. The API is documented in docs/dashboard.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

PREFIX = "/ui"
STATIC = Path(__file__).parent / "static"
# Paths that hold no data (the page's own files, the login link): open without
# the proxy token, so a browser can load the page that explains how to log in.
OPEN_PAGE_PATHS = frozenset({PREFIX, PREFIX + "/", PREFIX + "/login"})
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def is_page_path(path: str) -> bool:
    """True for /ui and everything under it."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def page_access(sessions) -> Callable[[web.Request], bool]:
    """For the guard: may this request skip the proxy token? (page files, a session cookie)."""
    from localgate.dashboard.session import COOKIE

    def admits(request: web.Request) -> bool:
        path = request.path
        if path in OPEN_PAGE_PATHS or path.startswith(PREFIX + "/static/"):
            return True
        return path.startswith(PREFIX + "/api/") and sessions.valid(request.cookies.get(COOKIE))

    return admits


async def stamp_page(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the page and its API get a strict CSP and no framing."""
    if not is_page_path(request.path):
        return
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # Data is never cached; the page's files are revalidated, so an upgrade shows at once.
    api = request.path.startswith(PREFIX + "/api/")
    response.headers.setdefault("Cache-Control", "no-store" if api else "no-cache")


def add_routes(app: web.Application) -> None:
    """The page, its files and its API (handlers in `api`, actions in `actions`)."""
    from localgate.dashboard import actions, api

    router = app.router
    router.add_get(PREFIX, api.page)
    router.add_get(PREFIX + "/", api.page)
    router.add_get(PREFIX + "/login", api.login)
    router.add_static(PREFIX + "/static", STATIC, append_version=False)
    router.add_get(PREFIX + "/api/session", api.session)
    router.add_post(PREFIX + "/api/login-link", api.login_link)
    router.add_get(PREFIX + "/api/accounts", api.accounts)
    router.add_get(PREFIX + "/api/matrix", api.matrix)
    router.add_get(PREFIX + "/api/traffic", api.traffic)
    router.add_get(PREFIX + "/api/traffic/stream", api.traffic_stream)
    router.add_get(PREFIX + "/api/usage", api.usage)
    router.add_get(PREFIX + "/api/usage.csv", api.usage_csv)
    router.add_post(PREFIX + "/api/accounts/{name}/{action}", actions.act)
    app.on_response_prepare.append(stamp_page)
