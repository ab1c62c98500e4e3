"""Where localgate spends its time under load: py-spy samples, summarised.

py-spy attaches to the running daemon (no code change, no restart) while wrk
drives one scenario; the raw collapsed stacks are kept next to the JSON (feed
them to flamegraph.pl or speedscope) and summarised here as the top frames by
own time and the top localgate functions by inclusive time.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

from scripts.bench.load import run_load
from scripts.bench.procs import pinned
from scripts.bench.scenarios import Scenario
from scripts.bench.systems import Endpoints


def have_pyspy() -> bool:
    return shutil.which("py-spy") is not None


# A thread-pool worker waiting for a job: py-spy counts its blocking queue.get as
# running, but it costs no CPU (one running a job has deeper frames).
IDLE_WORKER = "concurrent/futures/thread.py:_worker"


def parse_collapsed(text: str) -> tuple[int, Counter, Counter]:
    """(total samples, own samples per frame, inclusive samples per frame) of raw py-spy output."""
    total = 0
    own: Counter = Counter()
    inclusive: Counter = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [_short(f) for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames or frames[-1] == IDLE_WORKER:
            continue
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    return total, own, inclusive


def _short(frame: str) -> str:
    """`relay_stream (/x/site-packages/localgate/relay.py)` → `localgate/relay.py:relay_stream`."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/lib/python3", "/work/main/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            if marker == "/lib/python3":
                where = "stdlib/" + where.split("/", 1)[-1]
            break
    return f"{where}:{name}"


def summarise(text: str, top: int = 15) -> dict:
    """Top frames by own time, and top localgate functions by inclusive time, in %."""
    total, own, inclusive = parse_collapsed(text)
    if not total:
        return {"samples": 0, "own": [], "localgate_inclusive": []}

    def share(counter: Counter, keep=lambda frame: True) -> list[dict]:
        rows = [(f, n) for f, n in counter.most_common() if keep(f)][:top]
        return [{"frame": f, "pct": round(100 * n / total, 1)} for f, n in rows]

    return {
        "samples": total,
        "own": share(own),
        "localgate_inclusive": share(inclusive, lambda f: f.startswith("localgate/")),
    }


def profile_scenario(
    scenario: Scenario,
    endpoint: Endpoints,
    out: Path,
    *,
    seconds: int,
    concurrency: int,
    cores: str | None,
    use_wrk: bool,
) -> dict:
    """Sample localgate with py-spy while `scenario` runs at `concurrency`."""
    raw = out / f"profile-{scenario.name.replace('/', '-')}.collapsed.txt"
    spy = subprocess.Popen(
        pinned(
            [
                "py-spy",
                "record",
                "--pid",
                str(endpoint.child.pid),
                "--duration",
                str(seconds),
                "--rate",
                "250",
                "--format",
                "raw",
                "--nolineno",
                "-o",
                str(raw),
            ],
            cores,
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        load = run_load(
            scenario.url(endpoint.name, endpoint.fixed),
            scenario.body_for(endpoint.name),
            concurrency=concurrency,
            duration=seconds + 1,
            cores=cores,
            use_wrk=use_wrk,
        )
        _, err = spy.communicate(timeout=seconds + 60)
    finally:
        if spy.poll() is None:
            spy.terminate()
            spy.wait(10)
    if spy.returncode != 0 or not raw.exists():
        raise RuntimeError(f"py-spy failed ({spy.returncode}): {err.decode()[-1000:]}")
    return {
        "scenario": scenario.name,
        "concurrency": concurrency,
        "rps_while_sampled": round(load.rps, 1),
        "collapsed": str(raw),
        **summarise(raw.read_text()),
    }
