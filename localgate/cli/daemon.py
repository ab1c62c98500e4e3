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
from dataclasses import dataclass
from typing import Any

from localgate.config import Config
from localgate.runtime import Runtime, base_url, read_runtime

DEFAULT_PROBE_TIMEOUT = 0.5
# Bytes of one answer, at most: the daemon's largest (a model list, account limits) is a
# few hundred KB; more is something else on the port, never held whole.
MAX_ANSWER = 16 * 1024 * 1024
URL_ENV = "LOCALGATE_URL"


@dataclass(frozen=True)
class DaemonLocation:
    """Where the CLI looks for the daemon, and what told it so."""

    url: str  # base URL without a trailing slash
    source: str  # "--url", "LOCALGATE_URL", "runtime file", "config"
    runtime: Runtime | None = None  # the runtime file's word, when there is one

    def endpoint(self, path: str) -> str:
        """The URL of `path` (which starts with '/') on this daemon."""
        return self.url + path


def locate_daemon(config: Config, url_option: str | None = None) -> DaemonLocation:
    """The daemon's base URL: --url, then $LOCALGATE_URL, then the runtime file the
    running daemon wrote in the state dir, then the config's [server] host and port."""
    import os

    if url_option:
        return DaemonLocation(normalize_base_url(url_option), "--url")
    if os.environ.get(URL_ENV):
        return DaemonLocation(normalize_base_url(os.environ[URL_ENV]), URL_ENV)
    runtime = read_runtime(config.state_dir)
    if runtime is not None:
        return DaemonLocation(runtime.url, "runtime file", runtime)
    return DaemonLocation(base_url(config.server.host, config.server.port), "config")


def normalize_base_url(url: str) -> str:
    """`127.0.0.1:9090`, `http://127.0.0.1:9090/` → `http://127.0.0.1:9090`.

    A trailing `/v1` (what SDKs are given) is dropped too: the daemon's own
    routes (/health, /account-limits) live at its root.
    """
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    url = url.rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    return url


def ask_daemon(
    url: str, *, method: str = "GET", timeout: float = DEFAULT_PROBE_TIMEOUT
) -> tuple[Any | None, str | None]:
    """Send `method url` to the daemon: (decoded JSON, None), or (None, why not).

    Sends the proxy token when one is set, so a guarded daemon answers too.
    Gives up after `timeout` seconds in all: a socket timeout bounds each read,
    not the exchange, and whatever listens on the port may answer a byte at a
    time. The exchange runs on a daemon thread, which the CLI does not wait for
    when it exits.
    """
    import threading

    from localgate.errors import LocalgateError
    from localgate.proxytoken import auth_headers, load_proxy_token

    try:  # before the clock starts: a keyring may take its time to answer
        token = load_proxy_token()
    except LocalgateError:  # no keyring: a guarded daemon will say 401
        token = None
    request = urllib.request.Request(url, method=method, headers=auth_headers(token))
    outcome: list = []

    def exchange() -> None:
        try:
            outcome.append(_exchange(request, timeout))
        except BaseException as exc:  # handed to the caller's thread, raised there
            outcome.append(exc)

    worker = threading.Thread(target=exchange, name="localgate-ask", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        return None, "not answering (timed out)"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _exchange(request: urllib.request.Request, timeout: float) -> tuple[Any | None, str | None]:
    from localgate.bounded import read_capped
    from localgate.errors import InputTooLarge

    # No proxies: an HTTP_PROXY in the environment must not intercept loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return json.loads(read_capped(response, MAX_ANSWER)), None
    except InputTooLarge as exc:
        return None, f"{exc}: is it localgate?"
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
    daemon: DaemonLocation, timeout: float = DEFAULT_PROBE_TIMEOUT
) -> tuple[dict[str, dict[str, Any]] | None, str | None]:
    """(each account's entry of the daemon's /account-limits by name, None) or (None, why not)."""
    body, problem = ask_daemon(daemon.endpoint("/account-limits"), timeout=timeout)
    if not isinstance(body, dict) or not isinstance(body.get("accounts"), list):
        return None, problem or "answered something that is not a limits view"
    states = {
        entry["name"]: entry
        for entry in body["accounts"]
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    }
    return states, None


RELOAD_WAIT = 5.0  # seconds the CLI waits for a running daemon to adopt a config change


def await_account(
    daemon: DaemonLocation, name: str, ready, timeout: float = RELOAD_WAIT
) -> tuple[dict[str, Any] | None, str | None]:
    """Poll the daemon until its entry for account `name` satisfies `ready(entry)`.

    The daemon re-reads the config about once a second; a command that changed
    it waits here so what it reports is what the daemon does. Returns (entry,
    None), or (None, why not): not running, or the change not adopted in time.
    An entry of None stands for "the daemon does not know this account".
    """
    import time

    deadline = time.monotonic() + timeout
    while True:
        states, problem = account_states(daemon)
        if states is None:
            return None, problem
        entry = states.get(name)
        if ready(entry):
            return entry, None
        if time.monotonic() >= deadline:
            return None, f"did not pick the change up within {timeout:.0f}s"
        time.sleep(0.1)
