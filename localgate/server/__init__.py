"""The HTTP side of localgate: `create_app` builds it, `run` serves it until a signal."""

from __future__ import annotations

from localgate.config import Config

SHUTDOWN_CUT = 0.25  # seconds aiohttp gives handlers still running once the grace is over
FILE_ONLY = {"console": False}  # a log record stdout already showed
GC_THRESHOLD = 20_000  # allocations between young-generation collections (default 700)
SWITCH_INTERVAL = 0.0005  # seconds a thread may hold the GIL while another waits (5 ms)


def run(
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    log_format: str = "text",
    log_to_stderr: bool = True,
) -> None:
    """Serve until SIGINT/SIGTERM, then drain in-flight requests for `shutdown_grace` seconds.

    Refuses a non-loopback bind unless a proxy token is set (anyone on the
    network could otherwise spend the user's accounts), and a second daemon on
    the same state dir. While serving, holds the state dir's lock and publishes
    the runtime file that lets every command find it; logs go to the rotating
    log file in the state dir (and to stderr unless `log_to_stderr` is off).
    """
    import logging
    import os
    import time

    from aiohttp import web

    from localgate import __version__
    from localgate.events import Events
    from localgate.logs import DaemonLog
    from localgate.requestlog import RequestLog
    from localgate.runtime import DaemonClaim, Runtime, base_url, log_path
    from localgate.server.app import create_app
    from localgate.server.keys import GATEWAY, STATE_DIR

    host = host or config.server.host
    port = port if port is not None else config.server.port
    token, plaintext, keys = token_source(host, config)
    check_bind(host, token)
    claim = DaemonClaim(config.state_dir).claim()
    daemon_log = DaemonLog(log_path(config.state_dir), fmt=log_format, stderr=log_to_stderr)
    try:
        daemon_log.start()
        logging.getLogger("aiohttp.server").addFilter(quiet_bad_requests)
        log = logging.getLogger("localgate")
        if token.problem:
            log.warning("no proxy token in use: %s", token.problem)
        events = Events()
        events.subscribe(RequestLog(defer=daemon_log.defer))  # lines made off the loop
        app = create_app(config, bind_host=host, events=events, proxy_token=token, keys=keys)
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
                log.warning(
                    "shutdown grace over: ended %d open stream(s) with an error event", ended
                )

        app.on_shutdown.append(drain)
        sock = listen(host, port)
        port = sock.getsockname()[1]  # the one picked, when asked for port 0

        async def publish(app: web.Application) -> None:
            # Once the app has started: a command that finds the file finds a daemon
            # that answers.
            claim.publish(
                Runtime(
                    os.getpid(),
                    base_url(host, port),
                    time.time(),
                    str(config.path),
                    __version__,
                    str(log_path(config.state_dir)),
                )
            )
            keep_claim(app[STATE_DIR], claim)

        if daemon_log.file is not None:
            keep_log(app[STATE_DIR], daemon_log.file)

        app.on_startup.append(publish)
        app.on_startup.append(settle_memory)
        accounts = len(config.accounts)
        guarded = ", proxy token required" if token.value else ""
        listening = (
            f"localgate {__version__} listening on http://{_url_host(host)}:{port} "
            f"({accounts} account{'s' if accounts != 1 else ''}{guarded}; config {config.path})"
        )
        print(listening, flush=True)  # the announcement scripts read (stdout): first
        log.info("%s", listening, extra=FILE_ONLY)
        warn_plaintext_keyring(log, plaintext)
        if not accounts:
            print(
                "no accounts yet: add one with `localgate accounts add NAME --provider anthropic`",
                flush=True,
            )
        web.run_app(
            app,
            sock=sock,
            # asyncio's own loop, not uvloop: uvloop waits for I/O with the GIL
            # released and takes it back for every callback, so the log and ledger
            # writer threads got it at every callback and cut into the request in
            # flight (at concurrency 1, +70 µs on small chat). asyncio's loop lets go
            # of the GIL only while it waits, idle: the writers run in that time. Its
            # req/s at c=32 measured 1-5% higher too (docs/benchmarks.md, round sixteen).
            print=None,
            handler_cancellation=True,
            access_log=None,
            # The grace is spent in `drain`; what is still running after it (a
            # whole answer still awaited upstream) gets this much more, then is cut.
            # aiohttp waits it twice (before and after cancelling); 0 would mean "no limit".
            shutdown_timeout=SHUTDOWN_CUT,
        )
        log.info("localgate stopped", extra=FILE_ONLY)
    finally:
        claim.release()
        daemon_log.stop()
    print("localgate stopped", flush=True)


def keep_claim(state_dir, claim) -> None:
    """Have the lock and the runtime file taken and written again when they are deleted."""
    from localgate.runtime import LOCK_FILE, runtime_path

    async def renew() -> None:
        claim.renew()

    state_dir.keep(claim.state_dir / LOCK_FILE, renew, held=claim.lock_identity)
    state_dir.keep(runtime_path(claim.state_dir), renew)


def keep_log(state_dir, file) -> None:
    """Have the log file opened anew when it is deleted (else nobody reads what comes)."""

    async def reopen() -> None:
        file.reopen()

    state_dir.keep(file.baseFilename, reopen, held=file.opened)


async def settle_memory(app) -> None:
    """Keep the garbage collector and the writer threads off the request path's back.

    Everything loaded at start lives as long as the daemon: frozen, full
    collections no longer walk it. A request allocates thousands of containers
    (a Claude Code body parses into ~2,000), so with the default first threshold
    (700) several collections ran per request; the higher one collects as surely,
    less often.
    """
    import gc
    import sys

    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    # The log and ledger writer threads run Python too (formatting lines, making
    # rows); when one holds the GIL the loop waits up to the switch interval
    # (5 ms by default) for it: a stall in the p99 of whatever request was running.
    sys.setswitchinterval(SWITCH_INTERVAL)


def token_source(host: str, config: Config):
    """The daemon's proxy token source, the keyring's plaintext file (None: encrypted),
    and the accounts' keys when they were read with the token (else None).

    Beyond loopback a token that disappears must close the door at once, so the
    keyring is asked every few seconds, in this process. On loopback, the usual,
    the keyring stays out of the daemon (localgate.keyreader): the token is read
    apart, at start (with the accounts' keys: one child process, not two) and
    when `localgate token rotate` or `clear` says it changed.
    """
    from localgate.accounts import in_keyring
    from localgate.proxytoken import ProxyTokenSource, TokenApart, token_stamp
    from localgate.server.guard import is_loopback_host

    if is_loopback_host(host):
        reader = TokenApart(also=in_keyring(config.accounts))
        source = ProxyTokenSource(reader, stamp=token_stamp())
        return source, reader.plaintext, reader.keys
    from localgate.secrets import protect_plaintext_keyring

    try:
        plaintext = protect_plaintext_keyring()
    except Exception:  # a broken keyring is reported where a key is needed
        plaintext = None
    return ProxyTokenSource(), plaintext, None


def warn_plaintext_keyring(log, path) -> None:
    """Say at start, in plain words, when account keys sit unencrypted in a file."""
    if path is not None:
        log.warning(
            "account keys are kept unencrypted in %s (keyrings.alt's plaintext backend): "
            "it is 0600, so other users cannot read it, but root, backups and anything "
            "running as you can. `localgate doctor` says how to use an encrypted keyring",
            path,
        )


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
