"""The HTTP side of localgate: `create_app` builds it, `run` serves it until a signal."""

from __future__ import annotations

from localgate.config import Config


def run(config: Config, *, host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGINT/SIGTERM. Refuses a non-loopback bind (no proxy token yet)."""
    import logging

    from aiohttp import web

    from localgate import __version__
    from localgate.errors import ConfigError
    from localgate.events import Events
    from localgate.requestlog import RequestLog
    from localgate.server.app import create_app
    from localgate.server.guard import is_loopback_host

    host = host or config.server.host
    port = port or config.server.port
    if not is_loopback_host(host):
        raise ConfigError(
            f"refusing to listen on {host}: only loopback addresses are allowed until a proxy "
            "token is configured (anyone on the network could spend your accounts)"
        )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    events = Events()
    events.subscribe(RequestLog())
    app = create_app(config, bind_host=host, events=events)
    accounts = len(config.accounts)
    print(
        f"localgate {__version__} listening on http://{host}:{port} "
        f"({accounts} account{'s' if accounts != 1 else ''}; config {config.path})",
        flush=True,
    )
    if not accounts:
        print(
            "no accounts yet: add one with `localgate accounts add NAME --provider anthropic`",
            flush=True,
        )
    web.run_app(
        app,
        host=host,
        port=port,
        print=None,
        handler_cancellation=True,
        access_log=None,
        shutdown_timeout=10,
    )
