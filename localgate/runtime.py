"""The runtime file: how every command finds the daemon, whatever port it took.

The serving process holds an exclusive lock on `daemon.lock` in the state dir
for as long as it runs, and publishes `daemon.json` (pid, URL, start time,
config, log file) next to it. The lock, not the pid, says whether a daemon
runs: the OS drops it when the process dies, however it dies, so a runtime
file left by a crash is recognised as stale and a reused pid fools nobody.

A second daemon on the same state dir would share the ledger and the log, so
`claim` refuses it with a message naming the one that runs.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from localgate.errors import AlreadyRunning
from localgate.files import identity, private_dir

RUNTIME_FILE = "daemon.json"
LOCK_FILE = "daemon.lock"
LOG_FILE = "localgate.log"


@dataclass(frozen=True)
class Runtime:
    """What a running daemon says about itself."""

    pid: int
    url: str  # base URL, no trailing slash: http://127.0.0.1:8080
    started: float  # epoch seconds
    config: str  # the config file it serves
    version: str
    log: str  # its log file

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def describe(self) -> str:
        """'pid 1234, http://127.0.0.1:8080, up 3m' for messages."""
        return f"pid {self.pid}, {self.url}, up {format_uptime(time.time() - self.started)}"


# A daemon bound to every interface still answers on loopback.
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def base_url(host: str, port: int) -> str:
    """http://host:port for a client on this machine of a daemon bound to (host, port)."""
    host = _WILDCARD_HOSTS.get(host, host)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{port}"


def runtime_path(state_dir: Path) -> Path:
    return Path(state_dir) / RUNTIME_FILE


def log_path(state_dir: Path) -> Path:
    """The daemon's log file (rotated next to itself as .1, .2, …)."""
    return Path(state_dir) / LOG_FILE


def read_runtime(state_dir: Path) -> Runtime | None:
    """The daemon serving `state_dir`, or None when none runs (a stale file is ignored)."""
    if not _locked(Path(state_dir)):
        return None
    try:
        data = json.loads(runtime_path(state_dir).read_text(encoding="utf-8"))
        return Runtime(**{key: data[key] for key in Runtime.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        # Locked but no (whole) file yet: the daemon is between claim and publish.
        return None


def is_running(state_dir: Path) -> bool:
    """True while some process holds the state dir's lock (a daemon, maybe still starting)."""
    return _locked(Path(state_dir))


class DaemonClaim:
    """The serving process's hold on its state dir: the lock, then the runtime file."""

    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir)
        self._fd: int | None = None
        self._runtime: Runtime | None = None  # what `publish` wrote last

    def claim(self) -> DaemonClaim:
        """Take the lock, or raise AlreadyRunning naming the daemon that has it."""
        self._fd = self._lock()
        return self

    def renew(self) -> None:
        """Lock and publish again after the state dir was deleted under the daemon:
        the lock held is on a deleted file, which keeps no other daemon out, and
        without the runtime file no command finds this one. AlreadyRunning when
        another daemon claimed the recreated dir first."""
        lock = self.state_dir / LOCK_FILE
        if self._fd is None or identity(lock) != identity(self._fd):
            fd = self._lock()
            if self._fd is not None:
                os.close(self._fd)
            self._fd = fd
        if self._runtime is not None:
            self.publish(self._runtime)

    def lock_identity(self) -> tuple[int, int] | None:
        """Which lock file this daemon holds (statedir: deleted or not)."""
        return identity(self._fd) if self._fd is not None else None

    def _lock(self) -> int:
        private_dir(self.state_dir)
        fd = os.open(self.state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            running = read_runtime(self.state_dir)
            who = running.describe() if running else "still starting"
            raise AlreadyRunning(
                f"another localgate ({who}) already runs on the state dir {self.state_dir}. "
                "Stop it with `localgate stop`, or give this one its own `state_dir` in its config"
            )
        return fd

    def publish(self, runtime: Runtime) -> None:
        """Write the runtime file atomically (0600), so readers never see half of it."""
        path = runtime_path(self.state_dir)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(runtime), handle)
        os.replace(tmp, path)
        self._runtime = runtime

    def release(self) -> None:
        """Remove the runtime file, then let go of the lock."""
        if self._fd is None:
            return
        runtime_path(self.state_dir).unlink(missing_ok=True)
        os.close(self._fd)  # closing drops the lock
        self._fd = None


def format_uptime(seconds: float) -> str:
    """3s, 4m, 2h05m, 3d04h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours < 1:
        return f"{minutes}m"
    if days < 1:
        return f"{hours}h{minutes % 60:02d}m"
    return f"{days}d{hours % 24:02d}h"


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one daemon per state dir is trusted
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _locked(state_dir: Path) -> bool:
    """Whether another process holds the lock (probing takes and drops it at once)."""
    try:
        fd = os.open(state_dir / LOCK_FILE, os.O_RDWR)
    except OSError:
        return False
    try:
        if _try_lock(fd):
            return False
        return True
    finally:
        os.close(fd)  # drops the probe's lock, if it took one
