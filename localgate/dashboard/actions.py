"""The dashboard's actions: enable, disable, reset, refresh-token — same-origin POSTs with CSRF.

`enable` and `disable` do what `localgate accounts enable|disable` do: they
change the account's `enabled` in the config file (so the choice survives a
restart) and the daemon adopts the file at once; `enable` also forgets the
account's invalid mark and cooldowns, as the command does. `reset` only
forgets those marks; `refresh-token` refreshes an OAuth token now.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from localgate.dashboard.session import COOKIE
from localgate.errors import ConfigError, Forbidden, GatewayError, InvalidRequest, NotFound
from localgate.server.keys import EDITS, GATEWAY, RELOAD, SESSIONS

ACTIONS = ("enable", "disable", "reset", "refresh-token")
CSRF_HEADER = "X-CSRF-Token"


def check_page_request(request: web.Request) -> None:
    """Refuse an action that is not a same-origin request carrying the page's CSRF token."""
    if not request.get("same_origin"):
        raise Forbidden("dashboard actions are accepted from the dashboard's own page only")
    sessions = request.app[SESSIONS]
    cookie = request.cookies.get(COOKIE)
    session = cookie if sessions.valid(cookie) else None
    if not sessions.csrf_ok(session, request.headers.get(CSRF_HEADER)):
        raise Forbidden(f"missing or wrong {CSRF_HEADER}: reload the dashboard")


async def act(request: web.Request) -> web.Response:
    """POST /ui/api/accounts/{name}/{action} → `{name, action, state, ok, detail}`."""
    check_page_request(request)
    name, action = request.match_info["name"], request.match_info["action"]
    if action not in ACTIONS:
        raise NotFound(f"no dashboard action {action!r}; there are {', '.join(ACTIONS)}")
    gateway = request.app[GATEWAY]
    if name not in gateway.accounts:
        raise NotFound(f"no account named {name!r}")
    detail = None
    async with request.app[EDITS]:
        if action in ("enable", "disable"):
            await _set_enabled(request.app, name, action == "enable")
            gateway = request.app[GATEWAY]
        if action in ("enable", "reset") and name in gateway.accounts:
            gateway.reset(name)
        if action == "refresh-token":
            detail = await _refresh(gateway, name)
    state = next((s.state for s in gateway.pool.status() if s.name == name), None)
    ok = detail is None or detail["ok"]
    return web.json_response(
        {"name": name, "action": action, "state": state, "ok": ok, "detail": detail}
    )


async def _set_enabled(app: web.Application, name: str, enabled: bool) -> None:
    from localgate.cli.config_file import ConfigFile

    path = app[GATEWAY].config.path

    def edit() -> None:
        config_file = ConfigFile.load(path)
        # `enabled = true` is the default, so enabling just drops the key (as the CLI does).
        config_file.update_account(name, enabled=None if enabled else False)
        config_file.save()

    try:
        await asyncio.to_thread(edit)
        await app[RELOAD]()
    except ConfigError as exc:
        raise GatewayError(f"cannot change account {name!r} in the config file: {exc}") from exc


async def _refresh(gateway, name: str) -> dict:
    from localgate.server.admin import refresh_account, refreshable

    account = gateway.accounts[name]
    if not refreshable(account):
        raise InvalidRequest(f"account {name!r} uses an API key: it has no token to refresh")
    return await refresh_account(gateway, account)
