"""The measurement phases; each returns plain dicts for the report and the JSON.

Systems are interleaved inside every scenario and every round, so slow drift
of the machine (thermal, noisy neighbours) spreads over all of them alike.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from scripts.bench.load import MARK, LoadResult, run_load
from scripts.bench.procs import pinned, python
from scripts.bench.scenarios import Scenario, StreamScenario
from scripts.bench.stats import median, percentile
from scripts.bench.systems import Endpoints

REPO = Path(__file__).resolve().parents[2]


def systems_for(
    scenario: Scenario | StreamScenario, endpoints: dict[str, Endpoints], *, direct=True
):
    """The systems that can serve `scenario`, in a fixed order."""
    for name, endpoint in endpoints.items():
        if name == "direct" and not direct:
            continue
        if scenario.translated and not endpoint.translates:
            continue
        yield name, endpoint


def warm_up(scenarios, endpoints, cores, use_wrk: bool) -> None:
    """A short burst per (scenario, system): connection pools, caches, lazy imports."""
    for scenario in scenarios:
        for name, endpoint in systems_for(scenario, endpoints):
            run_load(
                scenario.url(name, endpoint.fixed),
                scenario.body_for(name),
                concurrency=4,
                duration=1,
                cores=cores,
                use_wrk=use_wrk,
            )


def _merge(runs: list[LoadResult]) -> dict:
    """Rounds of one (scenario, system, concurrency): medians of the figures, summed errors."""
    errors: dict[str, int] = {}
    for run in runs:
        for kind, count in run.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    return {
        "rps": round(median([r.rps for r in runs]), 1),
        "requests": sum(r.requests for r in runs),
        "errors": errors,
        "error_count": sum(errors.values()),
        "p50_us": median([r.latency_us["p50"] for r in runs]),
        "p90_us": median([r.latency_us["p90"] for r in runs]),
        "p99_us": median([r.latency_us["p99"] for r in runs]),
        "rounds": [r.as_dict() for r in runs],
    }


def load_phase(
    scenarios: list[Scenario],
    endpoints: dict[str, Endpoints],
    *,
    concurrencies: list[int],
    rounds: int,
    seconds: float,
    cores: str | None,
    use_wrk: bool,
    direct: bool,
    progress,
) -> list[dict]:
    """wrk (or the aiohttp client) per scenario × concurrency × system, interleaved."""
    runs: dict[tuple[str, int, str], list[LoadResult]] = {}
    for round_no in range(rounds):
        for scenario in scenarios:
            for concurrency in concurrencies:
                for name, endpoint in systems_for(scenario, endpoints, direct=direct):
                    result = run_load(
                        scenario.url(name, endpoint.fixed),
                        scenario.body_for(name),
                        concurrency=concurrency,
                        duration=seconds,
                        cores=cores,
                        use_wrk=use_wrk,
                    )
                    runs.setdefault((scenario.name, concurrency, name), []).append(result)
                    progress(
                        f"round {round_no + 1}/{rounds} {scenario.name} c={concurrency} "
                        f"{name}: {result.rps:.0f} req/s p50 {result.latency_us['p50']}µs "
                        f"errors {result.error_count}"
                    )
    return [
        {"scenario": s, "concurrency": c, "system": n, **_merge(r)} for (s, c, n), r in runs.items()
    ]


def run_streams(
    scenario: StreamScenario,
    system: str,
    base: str,
    *,
    count: int,
    concurrency: int,
    events: int,
    gap: float,
    cores: str | None,
) -> dict:
    """The stream client against one system, in its own process on the load core."""
    client = scenario.upstream if system == "direct" else scenario.client
    argv = python(
        "scripts.bench.streamclient",
        "--url",
        scenario.url(system, base),
        "--body",
        str(scenario.body_for(system)),
        "--client",
        client,
        "--upstream",
        scenario.upstream,
        "--count",
        str(count),
        "--concurrency",
        str(concurrency),
        "--events",
        str(events),
        "--gap",
        str(gap),
    )
    done = subprocess.run(
        pinned(argv, cores), capture_output=True, text=True, cwd=REPO, timeout=600
    )
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise RuntimeError(f"stream client failed ({done.returncode}): {done.stderr[-2000:]}")


def _summarise_stream(raw: dict) -> dict:
    def pct(values, p):
        return round(percentile(sorted(values), p), 1)

    return {
        "streams": raw["streams"],
        "ok_streams": raw["ok_streams"],
        "events_expected": raw["events_expected"],
        "events_delivered": raw["events_delivered"],
        "problems": raw["problems"],
        "ttfb_p50_us": pct(raw["ttfb_us"], 50),
        "delay_p50_us": pct(raw["delays_us"], 50),
        "delay_p99_us": pct(raw["delays_us"], 99),
        "gap_p50_us": pct(raw["gaps_us"], 50),
        "gap_p99_us": pct(raw["gaps_us"], 99),
        "gap_change_p99_us": pct([abs(g) for g in raw["gap_changes_us"]], 99),
    }


def stream_phase(
    scenarios: list[StreamScenario],
    endpoints: dict[str, Endpoints],
    *,
    rounds: int,
    count: int,
    concurrency: int,
    events: int,
    gap: float,
    cores: str | None,
    progress,
) -> list[dict]:
    """Every stream scenario on every system that can serve it, rounds interleaved."""
    raw: dict[tuple[str, str], dict] = {}
    for _ in range(rounds):
        for scenario in scenarios:
            for name, endpoint in systems_for(scenario, endpoints):
                result = run_streams(
                    scenario,
                    name,
                    endpoint.stream,
                    count=count,
                    concurrency=concurrency,
                    events=events,
                    gap=gap,
                    cores=cores,
                )
                merged = raw.setdefault((scenario.name, name), {})
                for key, value in result.items():
                    if isinstance(value, list):
                        merged[key] = merged.get(key, []) + value
                    elif isinstance(value, int):
                        merged[key] = merged.get(key, 0) + value
                summary = _summarise_stream(result)
                progress(
                    f"stream {scenario.name} {name}: ttfb {summary['ttfb_p50_us']:.0f}µs "
                    f"delay p50 {summary['delay_p50_us']:.0f}µs "
                    f"p99 {summary['delay_p99_us']:.0f}µs "
                    f"{summary['events_delivered']}/{summary['events_expected']} events "
                    f"{'; '.join(summary['problems']) or 'ok'}"
                )
    return [{"scenario": s, "system": n, **_summarise_stream(r)} for (s, n), r in raw.items()]


def soak_phase(
    scenarios: list[Scenario],
    endpoint: Endpoints,
    *,
    requests: int,
    chunks: int,
    concurrency: int,
    cores: str | None,
    progress,
) -> dict:
    """`requests` requests in `chunks`, alternating the scenarios; RSS after each chunk."""
    per_chunk = max(1, requests // chunks)
    samples = [{"requests": 0, "rss_mb": round(endpoint.child.rss(), 1)}]
    done = errors = 0
    started = time.monotonic()
    for chunk in range(chunks):
        scenario = scenarios[chunk % len(scenarios)]
        result = run_load(
            scenario.url(endpoint.name, endpoint.fixed),
            scenario.body_for(endpoint.name),
            concurrency=concurrency,
            duration=3600,
            limit=per_chunk,
            cores=cores,
            # wrk's `wrk.thread:stop()` leaves wrk idle but alive on this machine (wrk
            # 4.1), so counted chunks use the aiohttp client, which stops at the limit.
            use_wrk=False,
        )
        done += result.requests
        errors += result.error_count
        samples.append({"requests": done, "rss_mb": round(endpoint.child.rss(), 1)})
        progress(f"soak {endpoint.name}: {done} requests, RSS {samples[-1]['rss_mb']} MB")
    # Growth is measured from the first chunk on: the first requests fill caches and pools.
    base = samples[1]["rss_mb"] if len(samples) > 2 else samples[0]["rss_mb"]
    return {
        "system": endpoint.name,
        "requests": done,
        "errors": errors,
        "seconds": round(time.monotonic() - started, 1),
        "samples": samples,
        "growth_mb": round(samples[-1]["rss_mb"] - base, 1),
    }
