"""Child processes of the benchmark: started pinned, waited for, measured, always stopped.

Every child runs in its own session so a Ctrl-C in the terminal reaches only
the benchmark, which then stops its children one by one, by pid (on
KeyboardInterrupt and on SIGTERM alike).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def pinned(argv: list[str], cores: str | None) -> list[str]:
    """`argv` run on `cores` (taskset syntax) when taskset exists."""
    return ["taskset", "-c", cores, *argv] if cores and shutil.which("taskset") else argv


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its descendants in MiB (nginx's worker, node's children)."""
    status = Path(f"/proc/{pid}/status").read_text()
    total = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total / 1024 + sum(rss_mb(int(child)) for child in children)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) `pid` and its descendants have used, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return ticks / os.sysconf("SC_CLK_TCK") + sum(cpu_seconds(int(c)) for c in children)


@dataclass
class Child:
    """One started process and its log."""

    name: str
    process: subprocess.Popen
    log: Path

    def rss(self) -> float:
        return round(rss_mb(self.process.pid), 1)

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])


@dataclass
class Children:
    """Starts processes and stops all of them on exit, whatever the exit."""

    logs: Path
    started: list[Child] = field(default_factory=list)

    def __enter__(self) -> Children:
        # SIGTERM to the benchmark unwinds like Ctrl-C so the children are stopped.
        self._previous = signal.signal(signal.SIGTERM, _interrupt)
        return self

    def __exit__(self, *exc) -> None:
        for child in reversed(self.started):
            stop(child)
        signal.signal(signal.SIGTERM, self._previous)

    def start(self, name, argv, *, port, cores, env=None, cwd=REPO, ready_timeout=60.0) -> Child:
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
        child = Child(name, process, log)
        self.started.append(child)
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited ({process.returncode}):\n{child.tail()}")
            try:
                with socket.create_connection((HOST, port), timeout=0.5):
                    return child
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not listen in time:\n{child.tail()}") from None
                time.sleep(0.05)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def stop(child: Child, grace: float = 5.0) -> None:
    """SIGTERM the child (by pid), then SIGKILL its session if it lingers."""
    process = child.process
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: only its descendants
        except ProcessLookupError:
            pass
        process.wait(grace)
