"""Instructions per request, counted by valgrind's callgrind: a figure noise does not move.

    python -m scripts.bench.instructions [--requests 200] [--kinds openai-pass,translated]

On a shared machine, CPU time per request moves by 10% between two runs of
the same commit; the instructions a request costs do not. Each system (the
bare relay, the reading relay, localgate) runs under callgrind with counting
off. For each scenario, `--requests` keep-alive requests warm it up, then the
count runs for as many more, every thread of the process included. The upstream
is the Python fake, not counted.

Instructions are not time: a cache miss costs more than an add, and the
kernel's work is not counted. Work on a timer (the ledger's flush every
250 ms) weighs more here than at full speed, since valgrind runs the daemon
~50 times slower, and what is paid once per batch (a connection, the ledger's
commit) is spread over `--requests`: compare runs made with the same count.
Use it to see what a change does, and the bench for how fast.
Needs `valgrind` (Debian: `apt-get install valgrind`).
"""

from __future__ import annotations

import argparse
import functools
import http.client
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from scripts.bench.drive import CLIENT_HEADERS
from scripts.bench.procs import HOST, Children, free_port
from scripts.bench.systems import (
    KINDS,
    PASSTHROUGH,
    PATHS,
    clean_env,
    localgate_config,
    scenarios,
)

SYSTEMS = ("relay", "reader", "localgate")


def served(name: str, port: int, upstream: str, work: Path) -> list[str]:
    """The module and arguments that start system `name` on `port` before `upstream`
    (for localgate, after writing its config into `work`)."""
    if name == "localgate":
        config = localgate_config(work / "localgate.toml", port, upstream, upstream, work / "state")
        return ["localgate", "--config", str(config), "serve"]
    read = ["--read"] if name == "reader" else []
    return ["scripts.bench.servers", "relay", "--port", str(port), "--upstream", upstream, *read]


def post(port: int, path: str, body: bytes, count: int) -> None:
    """`count` requests on one keep-alive connection; each must answer 200."""
    connection = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        for _ in range(count):
            connection.request("POST", path, body, CLIENT_HEADERS)
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                raise RuntimeError(f"POST {path} answered {answer.status}")
    finally:
        connection.close()


def control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True)


def counted(pid: int, out: Path, send: Callable[[], None]) -> int:
    """The instructions process `pid` spends while `send()` runs."""
    control("--zero", str(pid))
    control("--instr=on", str(pid))
    send()
    time.sleep(0.5)  # what the answers set off (the ledger's row, the log line) is counted
    control("--instr=off", str(pid))
    before = set(out.parent.glob(f"{out.name}.*"))
    control("--dump", str(pid))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the dump's last line, "totals:", ends its writing
        for dump in set(out.parent.glob(f"{out.name}.*")) - before:
            for line in dump.read_text().splitlines():
                if line.startswith("totals:"):
                    return int(line.split()[1])
        time.sleep(0.1)
    raise RuntimeError(f"callgrind wrote no dump for process {pid}")


def count(children: Children, name: str, found: list, upstream: str, work: Path, requests: int):
    """Start system `name` under callgrind; yield (scenario, instructions per request)."""
    port, out = free_port(), work / f"{name}.callgrind"
    argv = [sys.executable, "-m", *served(name, port, upstream, work)]
    child = children.start(
        name,
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p"]
        + argv,
        port=port,
        cores=None,
        env=clean_env(work),
        ready_timeout=180,  # valgrind takes ~20 s to start Python
    )
    pid = child.process.pid
    for s in found:
        if name == "localgate" or s.kind in PASSTHROUGH:
            send = functools.partial(post, port, PATHS[s.client], s.body.read_bytes(), requests)
            send()  # warm: caches, pooled connections, first-use imports
            yield s, counted(pid, work / f"{out.name}.{pid}", send) // requests


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench.instructions", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--requests", type=int, default=200, help="counted per scenario")
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help=f"comma-separated, of: {', '.join(KINDS)}"
    )
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    if unknown := set(kinds) - set(KINDS):
        parser.error(f"unknown kinds {', '.join(sorted(unknown))}; choose from {', '.join(KINDS)}")
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        sys.exit("needs valgrind (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="localgate-instructions-") as folder:
        figures = measure(Path(folder), kinds, args.requests)
    print("| scenario | relay | reader | localgate | relay ÷ localgate |")
    print("|---|---|---|---|---|")
    for scenario, row in figures.items():
        cells = [row.get(name) for name in SYSTEMS]
        ratio = f"{cells[0] / cells[2]:.2f}×" if cells[0] and cells[2] else "–"
        shown = [f"{c / 1000:,.0f} k" if c else "–" for c in cells]
        print(f"| {scenario} | {' | '.join(shown)} | {ratio} |")


def measure(work: Path, kinds: list[str], requests: int) -> dict[str, dict[str, int]]:
    """Instructions per request, by scenario and system."""
    found = [s for s in scenarios(work / "bodies", stream=False) if s.kind in kinds]
    figures: dict[str, dict[str, int]] = {s.name: {} for s in found}
    with Children(work / "logs") as children:
        up = free_port()
        upstream_argv = ["scripts.bench.servers", "upstream", "--port", str(up)]
        children.start("upstream", [sys.executable, "-m", *upstream_argv], port=up, cores=None)
        for name in SYSTEMS:
            for s, figure in count(children, name, found, f"http://{HOST}:{up}", work, requests):
                figures[s.name][name] = figure
                print(f"{s.name} {name}: {figure:,} instructions a request", file=sys.stderr)
    return figures


if __name__ == "__main__":
    main()
