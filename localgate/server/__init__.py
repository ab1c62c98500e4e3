"""The HTTP side of localgate: `create_app` builds it, `run` serves it until a signal."""

from __future__ import annotations

from localgate.config import Config

SHUTDOWN_CUT = 0.25  # seconds aiohttp gives handlers still running once the grace is over


def run(config: Config, *, host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGINT/SIGTERM, then drain in-flight requests for `shutdown_grace` seconds.

    Refuses a non-loopback bind unless a proxy token is set (anyone on the
    network could otherwise spend the user's accounts).
    """
    import logging

    from aiohttp import web

    from localgate import __version__
    from localgate.events import Events
    from localgate.proxytoken import ProxyTokenSource
    from localgate.requestlog import RequestLog
    from localgate.server.app import create_app
    from localgate.server.keys import GATEWAY

    host = host or config.server.host
    port = port if port is not None else config.server.port
    token = ProxyTokenSource()
    check_bind(host, token)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.server").addFilter(quiet_bad_requests)
    log = logging.getLogger("localgate")
    if token.problem:
        log.warning("no proxy token in use: %s", token.problem)
    events = Events()
    events.subscribe(RequestLog())
    app = create_app(config, bind_host=host, events=events, proxy_token=token)
    grace = config.server.shutdown_grace

    async def drain(app: web.Application) -> None:
        # aiohttp calls this once it stopped accepting, before it cancels handlers.
        gateway = app[GATEWAY]
        log.info(
            "stopping: no new connections; %d request(s) in flight get up to %gs",
            gateway.drain.active,
            grace,
        )
        ended = await gateway.drain.shut_down(grace)
        if ended:
            log.warning("shutdown grace over: ended %d open stream(s) with an error event", ended)

    app.on_shutdown.append(drain)
    sock = listen(host, port)
    port = sock.getsockname()[1]  # the one picked, when asked for port 0
    accounts = len(config.accounts)
    guarded = ", proxy token required" if token.value else ""
    print(
        f"localgate {__version__} listening on http://{_url_host(host)}:{port} "
        f"({accounts} account{'s' if accounts != 1 else ''}{guarded}; config {config.path})",
        flush=True,
    )
    if not accounts:
        print(
            "no accounts yet: add one with `localgate accounts add NAME --provider anthropic`",
            flush=True,
        )
    web.run_app(
        app,
        sock=sock,
        print=None,
        handler_cancellation=True,
        access_log=None,
        # The grace is spent in `drain`; what is still running after it (a
        # whole answer still awaited upstream) gets this much more, then is cut.
        # aiohttp waits it twice (before and after cancelling); 0 would mean "no limit".
        shutdown_timeout=SHUTDOWN_CUT,
    )
    print("localgate stopped", flush=True)


def check_bind(host: str, token) -> None:
    """Raise ConfigError for a non-loopback `host` when no proxy token is set."""
    from localgate.errors import ConfigError
    from localgate.server.guard import is_loopback_host

    if is_loopback_host(host) or token.value:
        return
    why = f" (the keyring could not be read: {token.problem})" if token.problem else ""
    raise ConfigError(
        f"refusing to listen on {host}: anyone who can reach that address could spend your "
        f"accounts. Set a proxy token first{why}: `localgate token rotate` prints one for your "
        "clients to send as their API key; or bind 127.0.0.1"
    )


def listen(host: str, port: int):
    """A listening socket on (host, port), or CannotListen saying what to do."""
    import os
    import socket

    from localgate.errors import CannotListen

    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return socket.create_server((host, port), family=family, backlog=1024)
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise CannotListen(
            f"cannot listen on {_url_host(host)}:{port}: {why}. "
            "Is another localgate (or another server) using that port? "
            "Stop it, or pick another port with `localgate serve --port N` "
            "(or [server] port in the config)"
        ) from exc


def quiet_bad_requests(record) -> bool:
    """A logging filter: malformed HTTP from a client is one line, not a traceback.

    aiohttp logs the offending bytes with the traceback; they may hold a header
    value (a key), and a port scanner would fill the log with them.
    """
    from aiohttp.http_exceptions import HttpProcessingError

    exc = record.exc_info[1] if record.exc_info else None
    if isinstance(exc, HttpProcessingError):
        record.msg, record.args = "refused a malformed HTTP request (%s)", (type(exc).__name__,)
        record.exc_info = record.exc_text = None
    return True


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
