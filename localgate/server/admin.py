"""Operator routes: POST /refresh-token and POST /reset-account.

/refresh-token refreshes OAuth access tokens now. Answers say per account
whether the refresh worked and until when the new token lives, never the token
itself. A refresh the provider refuses for good marks the account invalid, as a
refused refresh during a request would.

/reset-account forgets an account's invalid mark and cooldowns (what
`localgate accounts enable NAME` asks of a running daemon).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiohttp import web

from localgate.errors import InvalidRequest, LocalgateError, LoginExpired, NotFound
from localgate.pool.failures import Failure, FailureKind


def refreshable(account) -> bool:
    """True for accounts whose credential refreshes (OAuth), working or not."""
    from localgate import providers

    if account.provider is not None:
        return callable(getattr(account.provider.credential, "refresh", None))
    return not providers.info(account.config.provider).uses_api_key


async def refresh_token(request: web.Request) -> web.Response:
    """`POST /refresh-token[?account=NAME]` → `{"ok", "accounts": [{name, ok, …}]}`."""
    from localgate.server.handlers import gateway

    gw = gateway(request)
    name = request.query.get("account")
    if name is not None:
        account = gw.accounts.get(name)
        if account is None:
            raise NotFound(f"no account named {name!r}")
        if not refreshable(account):
            raise InvalidRequest(
                f"account {name!r} uses an API key: it has no token to refresh", param="account"
            )
        chosen = [account]
    else:
        chosen = [a for a in gw.accounts.values() if refreshable(a)]
    results = await asyncio.gather(*(refresh_account(gw, account) for account in chosen))
    return web.json_response({"ok": all(r["ok"] for r in results), "accounts": results})


async def refresh_account(gw, account) -> dict:
    """Refresh one account's OAuth token now: `{name, ok, expires_at | error}`."""
    if account.provider is None:
        return {"name": account.name, "ok": False, "error": account.problem}
    try:
        expires_at = await account.provider.credential.refresh()
    except LoginExpired as exc:
        gw.pool.record_failure(
            account.name, "*", Failure(FailureKind.AUTH, str(exc), model_scoped=False)
        )
        return {"name": account.name, "ok": False, "error": str(exc)}
    except LocalgateError as exc:
        return {"name": account.name, "ok": False, "error": str(exc)}
    if account.problem is None:  # the login works: an earlier refusal no longer holds
        gw.pool.clear_invalid(account.name)
    return {"name": account.name, "ok": True, "expires_at": _iso(expires_at)}


async def reset_account(request: web.Request) -> web.Response:
    """`POST /reset-account?account=NAME` → `{"name", "state"}` after the reset."""
    from localgate.server.handlers import gateway

    gw = gateway(request)
    name = request.query.get("account")
    if not name:
        raise InvalidRequest("say which account: POST /reset-account?account=NAME", param="account")
    if name not in gw.accounts:
        raise NotFound(f"no account named {name!r}")
    gw.reset(name)
    state = next(s.state for s in gw.pool.status() if s.name == name)
    return web.json_response({"name": name, "state": state})


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
