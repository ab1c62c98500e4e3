"""Asking a running daemon about itself, with the standard library only.

The CLI must answer quickly whether or not the daemon runs, so the timeout is
short and any failure reads as "not running" rather than as an error.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from localgate.config import ServerConfig

DEFAULT_PROBE_TIMEOUT = 0.5

# A daemon bound to every interface still answers on loopback.
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def daemon_url(server: ServerConfig, path: str) -> str:
    """http://host:port/path for the daemon described by `server`."""
    host = _WILDCARD_HOSTS.get(server.host, server.host)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{server.port}{path}"


def ask_daemon(
    url: str, *, method: str = "GET", timeout: float = DEFAULT_PROBE_TIMEOUT
) -> tuple[Any | None, str | None]:
    """Send `method url` to the daemon: (decoded JSON, None), or (None, why not).

    Sends the proxy token when one is set, so a guarded daemon answers too.
    """
    from localgate.errors import LocalgateError
    from localgate.proxytoken import auth_headers, load_proxy_token

    try:
        token = load_proxy_token()
    except LocalgateError:  # no keyring: a guarded daemon will say 401
        token = None
    request = urllib.request.Request(url, method=method, headers=auth_headers(token))
    # No proxies: an HTTP_PROXY in the environment must not intercept loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return json.loads(response.read()), None
    except urllib.error.HTTPError as exc:
        return None, f"it answered {exc.code}"
    except (OSError, urllib.error.URLError) as exc:
        return None, f"not running ({getattr(exc, 'reason', exc)})"
    except ValueError:
        return None, "it answered something that is not JSON"


def account_states(
    server: ServerConfig, timeout: float = DEFAULT_PROBE_TIMEOUT
) -> dict[str, dict[str, Any]] | None:
    """Each account's entry of the daemon's /account-limits, by name; None if unreachable."""
    body, _ = ask_daemon(daemon_url(server, "/account-limits"), timeout=timeout)
    if not isinstance(body, dict) or not isinstance(body.get("accounts"), list):
        return None
    return {
        entry["name"]: entry
        for entry in body["accounts"]
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    }
