"""Asking a running daemon about itself, with the standard library only.

The CLI must answer quickly whether or not the daemon runs, so the timeout is
short and no failure raises; the reason says what happened, in words a
person can act on: "not running (…)" only when nothing listens on the port,
"not answering (timed out)", "answered 401 (…)", "answered something that
is not HTTP"…
"""

from __future__ import annotations

import http.client
import json
import socket
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
        return None, answered(exc.code)
    except (OSError, urllib.error.URLError) as exc:
        return None, _unreachable(getattr(exc, "reason", exc))
    except http.client.HTTPException:  # something else listens on the port
        return None, "answered something that is not HTTP"
    except ValueError:
        return None, "answered something that is not JSON"


def answered(status: int) -> str:
    """Words for an HTTP error status from the daemon."""
    if status == 401:
        return "answered 401 (is a proxy token set? `localgate token status`)"
    return f"answered {status}"


def _unreachable(reason: object) -> str:
    if isinstance(reason, TimeoutError | socket.timeout):
        return "not answering (timed out)"
    if isinstance(reason, http.client.RemoteDisconnected):
        return "not answering (it closed the connection)"
    if isinstance(reason, ConnectionRefusedError):
        return "not running (connection refused)"
    if isinstance(reason, http.client.HTTPException):
        return "answered something that is not HTTP"
    if isinstance(reason, ConnectionError):  # reset, aborted: it hung up on us
        return f"not answering ({reason})"
    return f"not running ({reason})"


def account_states(
    server: ServerConfig, timeout: float = DEFAULT_PROBE_TIMEOUT
) -> tuple[dict[str, dict[str, Any]] | None, str | None]:
    """(each account's entry of the daemon's /account-limits by name, None) or (None, why not)."""
    body, problem = ask_daemon(daemon_url(server, "/account-limits"), timeout=timeout)
    if not isinstance(body, dict) or not isinstance(body.get("accounts"), list):
        return None, problem or "answered something that is not a limits view"
    states = {
        entry["name"]: entry
        for entry in body["accounts"]
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    }
    return states, None
