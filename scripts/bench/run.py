"""One command for the whole benchmark: `python -m scripts.bench [options]`.

Starts the fake upstream, the bare relay, localgate and (when importable)
LiteLLM; measures latency, throughput, streams, memory and the command line,
interleaving the systems; profiles localgate; prints a Markdown report and
writes it with the raw figures to bench-results/<timestamp>/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from scripts.bench import clitime, payloads, phases, profiling, report
from scripts.bench.load import have_wrk
from scripts.bench.procs import Children
from scripts.bench.scenarios import fixed_scenarios, stream_scenarios
from scripts.bench.systems import clean_env, litellm_usable, start_systems

REPO = Path(__file__).resolve().parents[2]
PHASES = ("latency", "throughput", "streams", "memory", "cli", "profile")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    two_cores = (os.cpu_count() or 1) >= 2
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench-results")
    parser.add_argument("--phases", default=",".join(PHASES), help="comma-separated subset")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved passes (default 2)")
    parser.add_argument("--latency-seconds", type=int, default=2, help="per c=1 run")
    parser.add_argument("--load-seconds", type=int, default=2, help="per throughput run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--direct-throughput", action="store_true", help="also load nginx alone")
    parser.add_argument("--streams", type=int, default=8, help="streams per system per round")
    parser.add_argument("--stream-concurrency", type=int, default=4)
    parser.add_argument("--events", type=int, default=payloads.STREAM_EVENTS)
    parser.add_argument("--gap", type=float, default=payloads.STREAM_GAP, help="seconds")
    parser.add_argument("--soak", type=int, default=20_000, help="requests in the memory soak")
    parser.add_argument("--soak-chunks", type=int, default=5)
    parser.add_argument("--cli-runs", type=int, default=20)
    parser.add_argument("--profile-seconds", type=int, default=6)
    parser.add_argument("--no-nginx", action="store_true", help="Python fake for fixed bodies too")
    parser.add_argument("--no-wrk", action="store_true", help="use the aiohttp load client")
    parser.add_argument(
        "--litellm-python",
        default=os.environ.get("LITELLM_PYTHON"),
        help="interpreter with litellm[proxy] (env LITELLM_PYTHON; default: this one)",
    )
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--server-cores", default="0" if two_cores else None)
    parser.add_argument("--load-cores", default="1" if two_cores else None)
    args = parser.parse_args(argv)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases {sorted(unknown)}; choose from {', '.join(PHASES)}")
    return args


def _version(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else None


def machine(litellm_python: str | None) -> dict:
    """What the figures were measured on."""
    import aiohttp

    import localgate

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    commit = _version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "localgate": f"{localgate.__version__} ({commit})",
        "nginx": _version(["nginx", "-v"]) if shutil.which("nginx") else None,
        "wrk": _version(["wrk", "--version"]) if have_wrk() else None,
        "hyperfine": _version(["hyperfine", "--version"]) if shutil.which("hyperfine") else None,
        "py-spy": _version(["py-spy", "--version"]) if profiling.have_pyspy() else None,
        "litellm": _version(
            [
                litellm_python,
                "-c",
                "import importlib.metadata as m; print(m.version('litellm'))",
            ]
        )
        if litellm_python
        else None,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    out = args.out / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    litellm_python = None
    if not args.no_litellm:
        litellm_python = litellm_usable(args.litellm_python)
        progress(f"LiteLLM: {litellm_python or 'not importable, left out'}")
    use_wrk = not args.no_wrk and have_wrk()
    results: dict = {
        "machine": machine(litellm_python),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "load_generator": "wrk" if use_wrk else "aiohttp client (scripts/bench/loadclient.py)",
    }
    scenarios = fixed_scenarios(out / "bodies")
    streams = stream_scenarios(out / "bodies")
    load_cores = args.load_cores
    try:
        with Children(out / "logs") as children:
            systems = start_systems(
                children,
                out,
                server_cores=args.server_cores,
                use_nginx=not args.no_nginx,
                litellm_python=litellm_python,
                events=args.events,
                gap=args.gap,
            )
            results["upstream"] = systems.upstream_kind
            progress(f"started: {', '.join(systems.endpoints)} (upstream: {systems.upstream_kind})")
            time.sleep(1.0)
            measured = {n: e for n, e in systems.endpoints.items() if e.child is not None}
            rss = {n: {"idle_mb": round(e.child.rss(), 1)} for n, e in measured.items()}
            results["memory"] = {"rss": rss}
            phases.warm_up(scenarios, systems.endpoints, load_cores, use_wrk)
            progress("warmed up")
            _measure(args, results, scenarios, streams, systems, use_wrk, progress)
            for name, endpoint in measured.items():
                rss[name]["after_load_mb"] = round(endpoint.child.rss(), 1)
            if "memory" in args.phases and args.soak:
                soak = results["memory"]["soak"] = {}
                small = [s for s in scenarios if s.size == "small"]
                for name in ("localgate", "relay"):
                    endpoint = systems.endpoints[name]
                    usable = [s for s in small if not s.translated or endpoint.translates]
                    soak[name] = phases.soak_phase(
                        usable,
                        endpoint,
                        requests=args.soak,
                        chunks=args.soak_chunks,
                        concurrency=32,
                        cores=load_cores,
                        progress=progress,
                    )
            if "cli" in args.phases:
                command = clitime.localgate_command()
                env = {
                    **os.environ,
                    **clean_env(out),
                    "LOCALGATE_CONFIG": str(systems.localgate_config),
                }
                results["cli"] = clitime.time_commands(
                    {
                        "localgate --help": [*command, "--help"],
                        "localgate accounts list": [*command, "accounts", "list"],
                    },
                    env,
                    out,
                    args.cli_runs,
                )
                progress("command line timed")
            if "profile" in args.phases and profiling.have_pyspy():
                results["profiles"] = [
                    profiling.profile_scenario(
                        scenario,
                        systems.endpoints["localgate"],
                        out,
                        seconds=args.profile_seconds,
                        concurrency=32,
                        cores=load_cores,
                        use_wrk=use_wrk,
                    )
                    for scenario in scenarios
                    if scenario.name in ("openai-pass/small", "translated/small")
                ]
                progress("profiled")
    except KeyboardInterrupt:
        progress("interrupted: every process the benchmark started has been stopped")
        raise SystemExit(130) from None
    results["seconds"] = round(time.monotonic() - started, 1)
    text = report.render(results)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "report.md").write_text(text)
    shutil.copyfile(out / "results.json", args.out / "latest.json")
    print(text)
    progress(f"wrote {out / 'results.json'} and {out / 'report.md'}")


def _measure(args, results, scenarios, streams, systems, use_wrk, progress) -> None:
    endpoints, cores = systems.endpoints, args.load_cores
    if "latency" in args.phases:
        results["latency"] = phases.load_phase(
            scenarios,
            endpoints,
            concurrencies=[1],
            rounds=args.rounds,
            seconds=args.latency_seconds,
            cores=cores,
            use_wrk=use_wrk,
            direct=True,
            progress=progress,
        )
    if "throughput" in args.phases:
        results["throughput"] = phases.load_phase(
            scenarios,
            endpoints,
            concurrencies=args.concurrency,
            rounds=args.rounds,
            seconds=args.load_seconds,
            cores=cores,
            use_wrk=use_wrk,
            direct=args.direct_throughput,
            progress=progress,
        )
    if "streams" in args.phases:
        results["streams"] = phases.stream_phase(
            streams,
            endpoints,
            rounds=args.rounds,
            count=args.streams,
            concurrency=args.stream_concurrency,
            events=args.events,
            gap=args.gap,
            cores=cores,
            progress=progress,
        )
