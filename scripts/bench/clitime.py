"""Wall time of `localgate --help` and `localgate accounts list`.

hyperfine when installed (warm-up runs, then many), else a loop of
subprocess runs timed with perf_counter. The console script next to this
interpreter is timed, not a version manager's shim in front of it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from scripts.bench.stats import median


def localgate_command() -> list[str]:
    """The installed `localgate` console script (this interpreter's), or `python -m localgate`."""
    script = Path(sys.executable).parent / "localgate"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "localgate"]


def time_commands(commands: dict[str, list[str]], env: dict, out: Path, runs: int) -> list[dict]:
    """Seconds per command: mean, median, min, max over `runs` runs."""
    results = []
    for label, argv in commands.items():
        check = subprocess.run(argv, env=env, capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"`{' '.join(argv)}` failed: {check.stderr[-1000:]}")
        if shutil.which("hyperfine"):
            results.append(_hyperfine(label, argv, env, out, runs))
        else:
            results.append(_loop(label, argv, env, runs))
    return results


def _hyperfine(label: str, argv: list[str], env: dict, out: Path, runs: int) -> dict:
    export = out / f"hyperfine-{label.replace(' ', '-')}.json"
    subprocess.run(
        [
            "hyperfine",
            "--shell=none",
            "--warmup",
            "3",
            "--runs",
            str(runs),
            "--style",
            "none",
            "--export-json",
            str(export),
            " ".join(argv),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    data = json.loads(export.read_text())["results"][0]
    return {
        "command": label,
        "tool": "hyperfine",
        "runs": len(data["times"]),
        "mean_s": round(data["mean"], 4),
        "median_s": round(data["median"], 4),
        "min_s": round(data["min"], 4),
        "max_s": round(data["max"], 4),
    }


def _loop(label: str, argv: list[str], env: dict, runs: int) -> dict:
    for _ in range(3):
        subprocess.run(argv, env=env, capture_output=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True)
        times.append(time.perf_counter() - start)
    return {
        "command": label,
        "tool": "subprocess loop",
        "runs": runs,
        "mean_s": round(sum(times) / len(times), 4),
        "median_s": round(median(times), 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
    }
