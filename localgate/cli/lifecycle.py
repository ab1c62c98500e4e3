"""`localgate start | stop | restart | status | logs`: the daemon in the background.

The daemon itself knows nothing of this: it holds the state dir's lock, writes
its runtime file and log, and stops on SIGTERM (localgate.runtime). These
commands start it detached, signal it, read its runtime file and its log.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from localgate.cli.context import CliContext, pass_cli
from localgate.config import Config
from localgate.errors import DaemonError

START_TIMEOUT = 30.0  # seconds for a started daemon to answer
STOP_EXTRA = 10.0  # seconds past shutdown_grace before `stop` gives up
NOT_RUNNING_EXIT = 3  # `status` exit code when no daemon runs (as LSB init scripts do)
START_OUTPUT = "daemon.out"  # the detached daemon's stdout/stderr: errors before its log starts


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), help="Port (0: any free one).")
@click.option("--host", metavar="ADDRESS", help="Address to bind.")
@pass_cli
def start(cli: CliContext, port: int | None, host: str | None) -> None:
    """Start the daemon in the background; returns once it answers.

    Prints its URL. The daemon logs to localgate.log in the state dir
    (`localgate logs`); every command finds it through the runtime file it
    writes there, whatever port it took.

    \b
    Examples:
      localgate start
      localgate start --port 0        # any free port; `localgate status` says which
    """
    config = cli.load_config()
    running = _wait_for_runtime(config, 0)
    if running is not None:
        click.echo(f"localgate already runs: {running.url} (pid {running.pid})")
        return
    runtime = start_daemon(cli, config, port=port, host=host)
    click.echo(f"localgate started: {runtime.url} (pid {runtime.pid})")
    click.echo(f"log: {runtime.log}")


def start_daemon(cli: CliContext, config: Config, *, port=None, host=None):
    """Spawn `localgate serve --detached` in its own session; its Runtime once it answers."""
    import subprocess

    from localgate.cli.daemon import ask_daemon
    from localgate.files import private_dir

    command = [sys.executable, "-m", "localgate", "serve", "--detached"]
    if port is not None:
        command += ["--port", str(port)]
    if host is not None:
        command += ["--host", host]
    output = private_dir(config.state_dir) / START_OUTPUT
    with open(output, "wb") as out:
        os.chmod(output, 0o600)
        child = subprocess.Popen(
            command,
            # The file it reads, in a form that may name a file not written yet.
            env={**os.environ, "LOCALGATE_CONFIG": str(config.path)},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,  # Ctrl-C in this terminal must not reach the daemon
            close_fds=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        code = child.poll()
        if code is not None:
            said = output.read_text(errors="replace").strip() or f"exit status {code}"
            raise DaemonError(f"the daemon did not start: {said}")
        runtime = _read(config)
        if runtime is not None and runtime.pid == child.pid:
            body, _ = ask_daemon(runtime.url + "/health", timeout=1.0)
            if isinstance(body, dict):
                return runtime
        time.sleep(0.1)
    child.terminate()
    raise DaemonError(
        f"the daemon (pid {child.pid}) did not answer within {START_TIMEOUT:.0f}s and was "
        f"stopped; see {output} and `localgate logs`"
    )


@click.command()
@pass_cli
def stop(cli: CliContext) -> None:
    """Stop the background daemon (running streams get [server] shutdown_grace to finish)."""
    config = cli.load_config()
    runtime = stop_daemon(config)
    if runtime is None:
        click.echo(f"localgate is not running (state dir {config.state_dir})")
    else:
        click.echo(f"stopped localgate (pid {runtime.pid}, {runtime.url})")


def stop_daemon(config: Config):
    """SIGTERM the daemon of `config`'s state dir and wait until it let go; its Runtime."""
    import signal

    from localgate.runtime import is_running

    runtime = _wait_for_runtime(config, 5.0)
    if runtime is None:
        return None
    try:
        os.kill(runtime.pid, signal.SIGTERM)
    except ProcessLookupError:
        return runtime  # it ended on its own meanwhile
    except PermissionError as exc:
        raise DaemonError(f"cannot signal pid {runtime.pid}: {exc}") from exc
    patience = config.server.shutdown_grace + STOP_EXTRA
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if not is_running(config.state_dir):
            return runtime
        time.sleep(0.1)
    raise DaemonError(
        f"localgate (pid {runtime.pid}) is still running {patience:.0f}s after SIGTERM; "
        f"see `localgate logs`, or end it with `kill -9 {runtime.pid}`"
    )


@click.command()
@pass_cli
def restart(cli: CliContext) -> None:
    """Stop the background daemon if it runs, then start it again (same port, if fixed)."""
    config = cli.load_config()
    stopped = stop_daemon(config)
    # A daemon started on port 0 keeps a port of its own choosing; others go by the config.
    port = stopped.port if stopped is not None else None
    runtime = start_daemon(cli, config, port=port)
    click.echo(f"localgate restarted: {runtime.url} (pid {runtime.pid})")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
@pass_cli
def status(cli: CliContext, as_json: bool) -> None:
    """Say whether the daemon runs: URL, pid, uptime, accounts by state.

    Exits 0 when it answers, 3 when it does not (as init scripts do).
    """
    from localgate.cli.daemon import ask_daemon

    config = cli.load_config()
    where = cli.daemon(config)
    health, problem = ask_daemon(where.endpoint("/health"), timeout=2.0)
    running = isinstance(health, dict)
    runtime = where.runtime
    report = {
        "running": running,
        "url": where.url,
        "found_by": where.source,
        "pid": runtime.pid if runtime else None,
        "uptime": health.get("uptime") if running else None,
        "version": health.get("version") if running else None,
        "states": health.get("states") if running else None,
        "accounts": health.get("accounts") if running else None,
        "config": runtime.config if runtime else str(config.path),
        "log": runtime.log if runtime else None,
        "problem": None if running else problem,
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print_status(report)
    if not running:
        click.get_current_context().exit(NOT_RUNNING_EXIT)


def _print_status(report: dict) -> None:
    from localgate.runtime import format_uptime

    if not report["running"]:
        problem = report["problem"] or "not answering"
        if problem.startswith("not running"):
            click.echo(f"localgate is {problem} at {report['url']}")
        else:
            click.echo(f"localgate at {report['url']} {problem}")
        click.echo("start it with: localgate start")
        return
    states = report["states"] or {}
    counts = ", ".join(f"{n} {state}" for state, n in states.items() if n) or "none"
    lines = [
        ("url", f"{report['url']}  (from the {report['found_by']})"),
        ("pid", str(report["pid"] or "unknown (not started from this state dir)")),
        ("uptime", format_uptime(report["uptime"] or 0)),
        ("version", str(report["version"])),
        ("accounts", f"{report['accounts']}: {counts}"),
        ("config", report["config"]),
    ]
    if report["log"]:
        lines.append(("log", report["log"]))
    click.echo("localgate is running")
    for label, value in lines:
        click.echo(f"  {label + ':':<10}{value}")


@click.command()
@click.option("-n", "lines", type=click.IntRange(0), default=50, show_default=True,
              help="How many of the last lines to show.")  # fmt: skip
@click.option("-f", "--follow", is_flag=True, help="Keep printing lines as they are written.")
@pass_cli
def logs(cli: CliContext, lines: int, follow: bool) -> None:
    """Show the daemon's log (localgate.log in the state dir).

    \b
    Examples:
      localgate logs -n 100
      localgate logs -f | grep -v ' 200 '
    """
    from localgate.runtime import log_path

    config = cli.load_config()
    path = log_path(config.state_dir)
    if not path.exists() and not follow:
        raise click.ClickException(
            f"no log yet at {path}: the daemon writes it once started (`localgate start`)"
        )
    for line in _tail(path, lines):
        click.echo(line)
    if follow:
        try:
            _follow(path)
        except KeyboardInterrupt:
            pass


def _tail(path: Path, count: int) -> list[str]:
    from collections import deque

    if count == 0 or not path.exists():
        return []
    with open(path, encoding="utf-8", errors="replace") as handle:
        return [line.rstrip("\n") for line in deque(handle, maxlen=count)]


def _follow(path: Path, interval: float = 0.2) -> None:
    """Print what is appended to `path`, across rotations, until interrupted."""
    handle, inode = None, None
    skip_existing = path.exists()  # _tail showed it; a file created later is read whole
    try:
        while True:
            if handle is None and path.exists():
                handle = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
                inode = os.fstat(handle.fileno()).st_ino
                if skip_existing:
                    handle.seek(0, os.SEEK_END)
                skip_existing = False
            if handle is not None:
                for line in handle:
                    click.echo(line.rstrip("\n"))
                if _inode(path) != inode:  # rotated: the rest is in the new file
                    handle.close()
                    handle = None
                    continue
            time.sleep(interval)
    finally:
        if handle is not None:
            handle.close()


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def _read(config: Config):
    from localgate.runtime import read_runtime

    return read_runtime(config.state_dir)


def _wait_for_runtime(config: Config, patience: float):
    """The Runtime of the daemon on this state dir; one still starting gets `patience` s."""
    from localgate.runtime import is_running

    deadline = time.monotonic() + patience
    while True:
        runtime = _read(config)
        if runtime is not None or not is_running(config.state_dir):
            return runtime
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)
