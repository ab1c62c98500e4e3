"""One command for the whole benchmark: `python -m scripts.bench [options]`.

Starts the fake upstream, the bare and the reading relay, localgate and the peers found;
measures latency, throughput, streams, memory and the command line,
interleaving the systems inside every scenario and round so drift on a shared
machine hits all of them alike; profiles localgate; prints a Markdown report
and writes it with every raw figure to bench-results/<time>/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from scripts.bench import report, wire
from scripts.bench.drive import percentile, run_load, run_streams
from scripts.bench.procs import REPO, Children, alone, pinned
from scripts.bench.systems import KINDS, clean_env, scenarios, start_systems

PHASES = ("latency", "throughput", "streams", "memory", "cli", "profile")
PEERS = ("litellm", "portkey", "ccr")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    two = (os.cpu_count() or 1) >= 2
    parser = argparse.ArgumentParser(prog="python -m scripts.bench", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add("--out", type=Path, default=REPO / "bench-results")
    add("--phases", default=",".join(PHASES), help="comma-separated subset of %(default)s")
    add(
        "--peers",
        default=",".join(PEERS),
        help='peers to start when found (%(default)s; "" for none)',
    )
    add(
        "--litellm-python",
        default=os.environ.get("LITELLM_PYTHON"),
        help="an interpreter with litellm[proxy] (env LITELLM_PYTHON; default: this one)",
    )
    add("--kinds", default=",".join(KINDS), help="scenario kinds (default: all)")
    # Three: a median of two is their mean, and one round spoiled by the machine's
    # other tenants (a 3-4 ms p99 where the other round had 0.5) then decides it.
    add("--rounds", type=int, default=3, help="interleaved passes (default 3)")
    add("--seconds", type=int, default=2, help="per latency or throughput run (default 2)")
    add("--concurrency", type=int, nargs="+", default=[32], help="throughput runs (default 32)")
    add("--streams", type=int, default=8, help="streams per system per round (default 8)")
    add("--stream-concurrency", type=int, default=4)
    add("--events", type=int, default=wire.STREAM_EVENTS)
    add("--gap", type=float, default=wire.STREAM_GAP, help="seconds between stream events")
    add("--soak", type=int, default=20_000, help="requests in the memory soak (default 20000)")
    add("--cli-runs", type=int, default=20)
    add("--profile-seconds", type=int, default=5)
    add("--no-nginx", action="store_true", help="the Python fake answers fixed bodies too")
    add("--no-wrk", action="store_true", help="the aiohttp load client instead of wrk")
    add("--server-cores", default="0" if two else None, help="taskset cores for the servers")
    add("--load-cores", default="1" if two else None, help="taskset cores for the load")
    args = parser.parse_args(argv)
    args.phases = [p for p in args.phases.split(",") if p]
    args.peers = [p for p in args.peers.split(",") if p]
    args.kinds = [k for k in args.kinds.split(",") if k]
    if (
        unknown := set(args.phases) - set(PHASES)
        | set(args.peers) - set(PEERS)
        | set(args.kinds) - set(KINDS)
    ):
        parser.error(f"unknown phases, peers or kinds: {sorted(unknown)}")
    args.wrk = not args.no_wrk and shutil.which("wrk") is not None
    return args


def _first_line(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0] if lines else None


def machine() -> dict:
    """What the figures were measured on."""
    import aiohttp

    import localgate

    cpu = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in line]
    return {
        "cpu": cpu[0].split(":", 1)[1].strip() if cpu else platform.processor(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "idle": _idle(),
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "localgate": f"{localgate.__version__} "
        f"({_first_line(['git', '-C', str(REPO), 'rev-parse', '--short', 'HEAD'])})",
        **{
            tool: _first_line([tool, flag])
            for tool, flag in (
                ("nginx", "-v"),
                ("wrk", "--version"),
                ("node", "--version"),
                ("hyperfine", "--version"),
                ("py-spy", "--version"),
            )
            if shutil.which(tool)
        },
    }


def _idle() -> str | None:
    """How an idle core sleeps. It moves the figures: on a VM whose idle cores halt at
    once (haltpoll, guest_halt_poll_ns 0), every wake-up of the other core's
    sleeping peer goes through the hypervisor, charged to the system that sent
    it (docs/benchmarks.md, round fourteen)."""
    cpuidle = Path("/sys/devices/system/cpu/cpuidle/current_driver")
    poll = Path("/sys/module/haltpoll/parameters/guest_halt_poll_ns")
    try:
        driver = cpuidle.read_text().strip()
    except OSError:
        return None
    try:
        return f"{driver} (guest_halt_poll_ns {poll.read_text().strip()})"
    except OSError:
        return driver


def interleaved(scenario_list, systems, measure, rounds, progress, direct=True) -> dict:
    """{(scenario, system): [one result per round]}, systems interleaved in every round,
    each measured alone: the other systems' processes stopped meanwhile."""
    runs: dict = {}
    everyone = [c for system in systems.values() for c in system.processes]
    for number in range(rounds):
        for s in scenario_list:
            for system in systems.values():
                if s.kind not in system.kinds or (system.name == "direct" and not direct):
                    continue
                with alone(system.processes, everyone):
                    result = measure(s, system)
                runs.setdefault((s.name, system.name), []).append(result)
                progress(
                    f"round {number + 1}/{rounds} {s.name} {system.name}: "
                    + ", ".join(
                        f"{k} {v:.0f}" for k, v in result.items() if isinstance(v, int | float)
                    )
                )
    return runs


def load_rows(runs: dict, **extra) -> list[dict]:
    """Rounds of each (scenario, system) merged: medians, errors summed."""
    rows = []
    for (scenario, system), results in runs.items():
        row = {"scenario": scenario, "system": system, **extra}
        for key in ("rps", "p50_us", "p99_us", "cpu_us"):
            if all(key in r for r in results):
                row[key] = round(statistics.median(r[key] for r in results), 1)
        row["errors"] = sum(r["errors"] for r in results)
        rows.append(row | {"rounds": results})
    return rows


def stream_rows(runs: dict) -> list[dict]:
    """Rounds of each (scenario, system) pooled: percentiles over every event."""
    rows = []
    for (scenario, system), results in runs.items():
        pooled = {
            k: [v for r in results for v in r[k]] for k in ("ttft_us", "delays_us", "gaps_us")
        }
        row = {"scenario": scenario, "system": system}
        for key in ("streams", "events_expected", "events_delivered"):
            row[key] = sum(r[key] for r in results)
        row["problems"] = [p for r in results for p in r["problems"]][:10]
        row |= {"ttft_p50_us": percentile(pooled["ttft_us"], 50)}
        row |= {f"delay_p{p}_us": percentile(pooled["delays_us"], p) for p in (50, 99)}
        row |= {f"gap_p{p}_us": percentile(pooled["gaps_us"], p) for p in (50, 99)}
        rows.append(row)
    return rows


def soak(scenario_list, system, args, progress) -> dict:
    """`args.soak` requests at c=32 in five chunks, alternating scenarios; RSS after each."""
    samples = [{"requests": 0, "rss_mb": system.child.rss()}]
    done = errors = 0
    for chunk in range(5):
        s = scenario_list[chunk % len(scenario_list)]
        result = run_load(
            system.url(s),
            system.body(s),
            system.headers(s),
            concurrency=32,
            seconds=0,
            cores=args.load_cores,
            wrk=False,
            limit=args.soak // 5,
        )
        done, errors = done + result["requests"], errors + result["errors"]
        samples.append({"requests": done, "rss_mb": system.child.rss()})
        progress(f"soak {system.name}: {done} requests, RSS {samples[-1]['rss_mb']} MB")
    # Growth is measured from the first chunk on: the first requests fill caches and pools.
    growth = round(samples[-1]["rss_mb"] - samples[1]["rss_mb"], 1)
    return {"requests": done, "errors": errors, "samples": samples, "growth_mb": growth}


def time_cli(env: dict, out: Path, runs: int) -> list[dict]:
    """Wall time of two commands: hyperfine when installed, else a timed loop."""
    script = Path(sys.executable).parent / "localgate"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "localgate"]
    rows = []
    for label, argv in (
        ("localgate --help", [*command, "--help"]),
        ("localgate accounts list", [*command, "accounts", "list"]),
    ):
        tried = subprocess.run(argv, env=env, capture_output=True)
        if tried.returncode:
            said = tried.stderr.decode(errors="replace").strip().splitlines() or ["(nothing)"]
            raise RuntimeError(f"`{' '.join(argv)}` failed: {said[-1]}")
        if shutil.which("hyperfine"):
            export = out / f"hyperfine-{len(rows)}.json"
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
            times = json.loads(export.read_text())["results"][0]["times"]
        else:
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                subprocess.run(argv, env=env, capture_output=True)
                times.append(time.perf_counter() - start)
        rows.append(
            {
                "command": label,
                "runs": len(times),
                "median_s": statistics.median(times),
                "min_s": min(times),
                "max_s": max(times),
            }
        )
    return rows


def profile(s, system, out: Path, args) -> dict:
    """py-spy samples of localgate while `s` runs at c=32: top frames by own time, of the
    thread holding the GIL (idle writer threads waiting are not counted)."""
    raw = out / f"profile-{s.name.replace('/', '-')}.txt"
    spy = subprocess.Popen(
        pinned(
            [
                "py-spy",
                "record",
                "--pid",
                str(system.child.process.pid),
                "--duration",
                str(args.profile_seconds),
                "--gil",  # only the thread holding the GIL: what the loop waits for
                "--rate",
                "250",
                "--format",
                "raw",
                "--nolineno",
                "-o",
                str(raw),
            ],
            args.load_cores,
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    load = run_load(
        system.url(s),
        system.body(s),
        {},
        concurrency=32,
        seconds=args.profile_seconds + 1,
        cores=args.load_cores,
        wrk=args.wrk,
    )
    spy.wait(60)
    own: Counter = Counter()
    for line in raw.read_text().splitlines() if raw.exists() else []:
        stack, _, count = line.rpartition(" ")
        own[stack.rsplit(";", 1)[-1]] += int(count)
    total = sum(own.values()) or 1
    top = own.most_common(12)
    return {
        "scenario": s.name,
        "rps": round(load["rps"]),
        "samples": total,
        "collapsed": str(raw),
        "top": [{"frame": f, "pct": round(100 * n / total, 1)} for f, n in top],
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    began = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - began:6.1f}s] {message}", file=sys.stderr, flush=True)

    out = args.out / time.strftime("%Y%m%d-%H%M%S")
    fixed, streams = (
        [s for s in scenarios(out / "bodies", stream=flag) if s.kind in args.kinds]
        for flag in (False, True)
    )
    results: dict = {"machine": machine(), "settings": {k: str(v) for k, v in vars(args).items()}}
    try:
        with Children(out / "logs") as children:
            systems = start_systems(children, out, args, progress)
            results["systems"] = {n: s.version for n, s in systems.items()}
            progress(f"started {results['systems']}; load: {'wrk' if args.wrk else 'aiohttp'}")
            time.sleep(1.0)
            rss = {n: {"idle_mb": s.child.rss()} for n, s in systems.items() if s.child}

            def load(concurrency, seconds=args.seconds):
                def measure(s, system):
                    # CPU per request: steadier than req/s when the machine is shared.
                    before = system.child.cpu() if system.child else None
                    result = run_load(
                        system.url(s),
                        system.body(s),
                        system.headers(s),
                        concurrency=concurrency,
                        seconds=seconds,
                        cores=args.load_cores,
                        wrk=args.wrk,
                    )
                    if before is not None and result["requests"]:
                        used = system.child.cpu() - before
                        result["cpu_us"] = round(used / result["requests"] * 1e6, 1)
                    return result

                return measure

            interleaved(fixed, systems, load(4, 1), 1, progress)  # warm pools, caches, imports
            if "latency" in args.phases:
                runs = interleaved(fixed, systems, load(1), args.rounds, progress)
                results["latency"] = load_rows(runs, concurrency=1)
            if "throughput" in args.phases:
                results["throughput"] = [
                    row
                    for c in args.concurrency
                    for row in load_rows(
                        interleaved(fixed, systems, load(c), args.rounds, progress, direct=False),
                        concurrency=c,
                    )
                ]
            if "streams" in args.phases:

                def streamed(s, system):
                    return run_streams(
                        system.url(s),
                        system.body(s),
                        system.headers(s),
                        client=s.upstream if system.name == "direct" else s.client,
                        upstream=s.upstream,
                        count=args.streams,
                        concurrency=args.stream_concurrency,
                        events=args.events,
                        gap=args.gap,
                        cores=args.load_cores,
                    )

                results["streams"] = stream_rows(
                    interleaved(streams, systems, streamed, args.rounds, progress)
                )
            for name, row in rss.items():
                row["after_load_mb"] = systems[name].child.rss()
            results["memory"] = {"rss": rss}
            if "memory" in args.phases and args.soak:
                small = [s for s in fixed if s.size == "small"]
                results["memory"]["soak"] = {
                    name: soak(
                        [s for s in small if s.kind in systems[name].kinds],
                        systems[name],
                        args,
                        progress,
                    )
                    for name in ("relay", "localgate")
                }
            if "cli" in args.phases:
                env = {
                    **os.environ,
                    **clean_env(out),
                    "LOCALGATE_CONFIG": str(out / "localgate.toml"),
                }
                results["cli"] = time_cli(env, out, args.cli_runs)
            if "profile" in args.phases and shutil.which("py-spy"):
                results["profiles"] = [
                    profile(s, systems["localgate"], out, args)
                    for s in fixed
                    if s.name in ("openai-pass/small", "anthropic-pass/large")
                ]
    except KeyboardInterrupt:
        progress("interrupted: every process the benchmark started has been stopped")
        raise SystemExit(130) from None
    except Exception as exc:  # a phase broke: keep every figure measured before it
        results["error"] = f"{type(exc).__name__}: {exc}"
        progress(f"stopped early: {results['error']}")
    results["seconds"] = round(time.monotonic() - began)
    text = report.render(results)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "report.md").write_text(text)
    print(text)
    progress(f"wrote {out / 'results.json'} and {out / 'report.md'}")
