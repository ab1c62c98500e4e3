"""Child processes of the benchmark: started pinned, waited for, measured, always stopped.

Every child runs in its own session so a Ctrl-C in the terminal reaches only
the benchmark, which then stops its children one by one, by pid
(`Children.__exit__` runs on KeyboardInterrupt and on SIGTERM alike).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def pinned(argv: list[str], cores: str | None) -> list[str]:
    """`argv` run on `cores` (taskset syntax) when taskset exists."""
    if cores and _which("taskset"):
        return ["taskset", "-c", cores, *argv]
    return argv


def _which(name: str) -> str | None:
    from shutil import which

    return which(name)


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def tree_rss_mb(pid: int) -> float:
    """RSS of `pid` and its descendants (nginx master + worker, a wrapper + its child)."""
    total = rss_mb(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        try:
            total += tree_rss_mb(int(child))
        except (OSError, RuntimeError):
            pass
    return total


@dataclass
class Child:
    """One started process and where it listens."""

    name: str
    process: subprocess.Popen
    port: int | None
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss(self) -> float:
        return tree_rss_mb(self.pid)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Children:
    """Starts processes and stops all of them on exit, whatever the exit."""

    logs: Path
    started: list[Child] = field(default_factory=list)

    def __enter__(self) -> Children:
        # SIGTERM to the benchmark unwinds like Ctrl-C so the finally-blocks run.
        self._previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        return self

    def __exit__(self, *exc) -> None:
        for child in reversed(self.started):
            stop(child)
        self.started.clear()
        signal.signal(signal.SIGTERM, self._previous)

    def start(
        self,
        name: str,
        argv: list[str],
        *,
        port: int | None,
        cores: str | None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        ready_timeout: float = 60.0,
    ) -> Child:
        """Start `argv` pinned to `cores`; wait until `port` accepts connections."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                pinned(argv, cores),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        child = Child(name, process, port, log)
        self.started.append(child)
        if port is not None:
            wait_listening(child, ready_timeout)
        return child


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def wait_listening(child: Child, timeout: float) -> None:
    """Block until the child's port accepts a connection; fail with its log if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited ({child.process.returncode}):\n{child.tail()}")
        try:
            with socket.create_connection((HOST, child.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(
        f"{child.name} did not listen on {child.port} in {timeout}s:\n{child.tail()}"
    )


def stop(child: Child, grace: float = 5.0) -> None:
    """SIGTERM the child (by pid), then SIGKILL its group if it lingers."""
    process = child.process
    if process.poll() is not None:
        return
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: only its descendants
        except ProcessLookupError:
            pass
        process.wait(grace)
    except ProcessLookupError:
        pass


def python(module: str, *args: str) -> list[str]:
    """argv running `module` with this interpreter."""
    return [sys.executable, "-m", module, *args]
