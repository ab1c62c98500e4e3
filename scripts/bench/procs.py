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
from contextlib import contextmanager
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


def family(pid: int) -> list[int]:
    """`pid` and its descendants (a server's workers), parents first."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:  # the thread (or the process) is gone
            continue
        for child in children:
            pids += family(int(child))
    return pids


def _read_family(pid: int, name: str):
    """The text of /proc/<member>/<name> for `pid` and each living descendant."""
    for member in family(pid):
        try:
            yield Path(f"/proc/{member}/{name}").read_text()
        except FileNotFoundError:  # a descendant that exited meanwhile
            if member == pid:
                raise


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its descendants in MiB."""
    kib = 0
    for status in _read_family(pid, "status"):
        kib += next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
        )
    return kib / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) `pid` and its descendants have used, in seconds."""
    ticks = 0
    for stat in _read_family(pid, "stat"):
        fields = stat.rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


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

    def signal(self, signum: int) -> None:
        """`signum` to the child and every descendant."""
        try:
            members = family(self.process.pid)
        except OSError:  # exited: stop() reports it
            return
        for member in members:
            try:
                os.kill(member, signum)
            except ProcessLookupError:
                pass


@contextmanager
def alone(mine: list[Child], everyone: list[Child]):
    """Only `mine` of `everyone` run inside (none, when empty): the others are
    stopped (SIGSTOP) and continued after, whatever happens inside.

    An idle peer is not idle: Node's garbage collector finishes a run's work
    seconds later (claude-code-router's took 60 ms of core 0 in the middle of
    localgate's next run), LiteLLM's and localgate's timers fire. Stopped,
    their leftovers land in their own next run, not in another system's.
    """
    others = [c for c in everyone if c not in mine]
    for other in others:
        other.signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for other in others:
            other.signal(signal.SIGCONT)


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
