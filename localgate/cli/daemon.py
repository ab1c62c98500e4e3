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


def fetch_json(url: str, timeout: float = DEFAULT_PROBE_TIMEOUT) -> Any | None:
    """GET `url` and decode JSON; None when nothing usable answers in time."""
    # No proxies: an HTTP_PROXY in the environment must not intercept loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None


def account_states(
    server: ServerConfig, timeout: float = DEFAULT_PROBE_TIMEOUT
) -> dict[str, dict[str, Any]] | None:
    """Each account's entry of the daemon's /account-limits, by name; None if unreachable."""
    body = fetch_json(daemon_url(server, "/account-limits"), timeout)
    if not isinstance(body, dict) or not isinstance(body.get("accounts"), list):
        return None
    return {
        entry["name"]: entry
        for entry in body["accounts"]
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    }
