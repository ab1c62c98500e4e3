"""The run as Markdown: issue 17's targets as ratios, then every figure side by side."""

from __future__ import annotations

from scripts.bench.systems import KINDS, PASSTHROUGH

ORDER = ("direct", "relay", "reader", "localgate", "litellm", "portkey", "ccr")
PEERS = ORDER[4:]
GROWTH_NOISE_MB = 5.0  # RSS wobble of a Python process under load; above this is growth


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def ms(us: float | None) -> str:
    return "–" if us is None else f"{us / 1000:.3f}"


def find(rows: list[dict], scenario: str, system: str, **match) -> dict | None:
    return next(
        (
            r
            for r in rows
            if r["scenario"] == scenario
            and r["system"] == system
            and all(r.get(k) == v for k, v in match.items())
        ),
        None,
    )


def added(rows, scenario, system, key) -> float | None:
    """What `system` adds over direct on `scenario` (µs)."""
    row, direct = find(rows, scenario, system), find(rows, scenario, "direct")
    return row[key] - direct[key] if row and direct and system != "direct" else None


def reference(scenario: str) -> str:
    """The relay's scenario to compare with: a translated kind's upstream passthrough."""
    kind, _, size = scenario.partition("/")
    same = f"{KINDS[kind][1]}-pass"
    return f"{same}/{size}" if size else same


def ordered(rows: list[dict]):
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        for system in ORDER:
            if row := find(rows, scenario, system):
                yield scenario, system, row


def targets(results: dict) -> list[list]:
    """[target, measured, verdict] for each of issue 17's targets that was measured."""
    found = []

    def check(name, ratios: list[tuple[float, str]], limit: float, worst=max, unit="×"):
        if ratios:
            value, where = worst(ratios)
            ok = value <= limit if worst is max else value >= limit
            found.append([name, f"{value:.2f}{unit} ({where})", "met" if ok else "NOT met"])

    load, lat, streams = (results.get(k, []) for k in ("throughput", "latency", "streams"))
    pass_rows = [r for r in load if r["system"] == "localgate" and r["concurrency"] == 32]

    def versus(floor: str) -> list[tuple[float, str]]:
        return [
            (r["rps"] / theirs["rps"], r["scenario"])
            for r in pass_rows
            if r["scenario"].split("/")[0] in PASSTHROUGH
            and (theirs := find(load, r["scenario"], floor, concurrency=32))
        ]

    check("passthrough c=32 ≥ 0.85× the relay's req/s (worst)", versus("relay"), 0.85, worst=min)
    if reading := versus("reader"):  # the floor once a body must be read to be routed
        value, where = min(reading)
        found.append(
            ["(scale) the same against the reading relay (worst)", f"{value:.2f}× ({where})", "–"]
        )
    for kinds, limit, what in (
        (PASSTHROUGH, 1.3, "passthrough"),
        (set(KINDS) - PASSTHROUGH, 1.6, "translated"),
    ):
        check(
            f"c=1 added p50 ≤ {limit}× the relay's, {what} (worst)",
            [
                (mine / theirs, r["scenario"])
                for r in lat
                if r["system"] == "localgate"
                and r["scenario"].split("/")[0] in kinds
                and (mine := added(lat, r["scenario"], "localgate", "p50_us")) is not None
                and (theirs := added(lat, reference(r["scenario"]), "relay", "p50_us"))
            ],
            limit,
        )
    cpu = [
        (relay["cpu_us"] / r["cpu_us"], r["scenario"])
        for r in pass_rows
        if r["scenario"].split("/")[0] in PASSTHROUGH
        and r.get("cpu_us")
        and (relay := find(load, r["scenario"], "relay", concurrency=32))
        and relay.get("cpu_us")
    ]
    if cpu:  # the same question asked of CPU time, which a shared machine disturbs less
        value, where = min(cpu)
        found.append(
            [
                "(scale) the relay's CPU per request ÷ localgate's, c=32 (worst)",
                f"{value:.2f}× ({where})",
                "–",
            ]
        )
    check(
        "c=1 p99 ≤ 2× the relay's p99 (worst)",
        [
            (r["p99_us"] / relay["p99_us"], r["scenario"])
            for r in lat
            if r["system"] == "localgate"
            and (relay := find(lat, reference(r["scenario"]), "relay"))
        ],
        2.0,
    )
    lg_streams = [r for r in streams if r["system"] == "localgate"]
    check(
        "stream added per-event delay p99 ≤ 0.2 ms (worst)",
        [
            (d / 1000, r["scenario"])
            for r in lg_streams
            if (d := added(streams, r["scenario"], "localgate", "delay_p99_us")) is not None
        ],
        0.2,
        unit=" ms",
    )
    relay_delays = [
        (d / 1000, r["scenario"])
        for r in streams
        if r["system"] == "relay"
        and (d := added(streams, r["scenario"], "relay", "delay_p99_us")) is not None
    ]
    if relay_delays:  # the floor on this machine: what no Python gateway can beat
        value, where = max(relay_delays)
        found.append(
            ["(scale) the bare relay's own added per-event p99", f"{value:.2f} ms ({where})", "–"]
        )
    check(
        "stream added time to first token ≤ 1.5× the relay's (worst)",
        [
            (mine / theirs, r["scenario"])
            for r in lg_streams
            if (mine := added(streams, r["scenario"], "localgate", "ttft_p50_us")) is not None
            and (theirs := added(streams, reference(r["scenario"]), "relay", "ttft_p50_us"))
        ],
        1.5,
    )
    if lg_streams:
        wrong = [
            f"{r['scenario']}: {'; '.join(r['problems'][:2])}"
            for r in lg_streams
            if r["problems"] or r["events_delivered"] != r["events_expected"]
        ]
        found.append(
            [
                "every stream event once, whole, in order",
                "; ".join(wrong) or "all delivered",
                "NOT met" if wrong else "met",
            ]
        )
    memory = results.get("memory", {})
    if idle := memory.get("rss", {}).get("localgate", {}).get("idle_mb"):
        found.append(["idle RSS ≤ 45 MB", f"{idle} MB", "met" if idle <= 45 else "NOT met"])
    if soak := memory.get("soak", {}).get("localgate"):
        verdict = "met" if soak["growth_mb"] <= GROWTH_NOISE_MB else "NOT met"
        found.append(
            [
                "RSS flat over 100,000 requests",
                f"{soak['growth_mb']:+} MB over {soak['requests']} requests",
                verdict if soak["requests"] >= 100_000 else "n/a (run --soak 100000)",
            ]
        )
    behind = []
    for peer in PEERS:
        for r in [r for r in load + lat if r["system"] == peer]:
            mine = find(load + lat, r["scenario"], "localgate", concurrency=r["concurrency"])
            if mine and (
                mine["rps"] <= r["rps"] if r["concurrency"] > 1 else mine["p50_us"] >= r["p50_us"]
            ):
                behind.append(f"{peer} {r['scenario']} c={r['concurrency']}")
    if any(r["system"] in PEERS for r in load + lat):
        found.append(
            [
                "ahead of every peer on every shared route (c=1 p50, c=32 req/s)",
                "; ".join(behind) or "ahead everywhere",
                "NOT met" if behind else "met",
            ]
        )
    return found


def side_by_side(results: dict) -> str:
    """Per scenario and system: c=1 latency, added over direct, req/s and the ratio."""
    lat, load = results.get("latency", []), results.get("throughput", [])
    concurrencies = sorted({r["concurrency"] for r in load})
    rows = []
    for scenario, system, _ in ordered(lat or load):
        mine = find(lat, scenario, system) or {}
        cells = [
            scenario,
            system,
            ms(mine.get("p50_us")),
            ms(mine.get("p99_us")),
            ms(added(lat, scenario, system, "p50_us") if system != "direct" else None),
        ]
        for c in concurrencies:
            theirs, ours = (
                find(load, scenario, system, concurrency=c),
                find(load, scenario, "localgate", concurrency=c),
            )
            cells.append(f"{theirs['rps']:.0f}" if theirs else "–")
            cells.append(f"{theirs['rps'] / ours['rps']:.2f}×" if theirs and ours else "–")
            cpu = theirs and theirs.get("cpu_us")
            cells.append(f"{cpu:.0f}" if cpu else "–")
        errors = sum(
            r["errors"] for r in lat + load if r["scenario"] == scenario and r["system"] == system
        )
        rows.append(cells + [errors])
    header = ["scenario", "system", "c=1 p50 ms", "c=1 p99 ms", "added p50 ms"]
    for c in concurrencies:
        header += [f"c={c} req/s", "vs localgate", f"c={c} CPU µs/req"]
    return table(header + ["errors"], rows)


def render(results: dict) -> str:
    """The whole report as Markdown."""
    stopped = [f"**Stopped early**: {results['error']}"] if results.get("error") else []
    parts = [
        *stopped,
        "## Targets (issue 17)",
        table(["target", "measured", "verdict"], targets(results)),
        "## Latency and throughput",
        side_by_side(results),
    ]
    if streams := results.get("streams"):
        rows = [
            [
                scenario,
                system,
                ms(row["ttft_p50_us"]),
                ms(added(streams, scenario, system, "ttft_p50_us")),
                ms(row["delay_p50_us"]),
                ms(row["delay_p99_us"]),
                ms(added(streams, scenario, system, "delay_p99_us")),
                ms(row["gap_p99_us"]),
                f"{row['events_delivered']}/{row['events_expected']}",
                "; ".join(row["problems"][:2]) or "ok",
            ]
            for scenario, system, row in ordered(streams)
        ]
        parts += [
            "## Streams (64 events, 20 ms apart)",
            table(
                [
                    "stream",
                    "system",
                    "first token p50 ms",
                    "added",
                    "delay p50 ms",
                    "delay p99 ms",
                    "added delay p99",
                    "gap p99 ms",
                    "events",
                    "check",
                ],
                rows,
            ),
        ]
    if memory := results.get("memory"):
        rows = []
        for system, row in memory["rss"].items():
            soak = memory.get("soak", {}).get(system)
            trail = " → ".join(str(s["rss_mb"]) for s in soak["samples"]) if soak else "–"
            rows.append(
                [
                    system,
                    row["idle_mb"],
                    row.get("after_load_mb", "–"),
                    soak["requests"] if soak else "–",
                    trail,
                    soak["growth_mb"] if soak else "–",
                ]
            )
        parts += [
            "## Memory (RSS, MB)",
            table(["system", "idle", "after load", "soak requests", "during soak", "growth"], rows),
        ]
    if cli := results.get("cli"):
        parts += [
            "## Command line",
            table(
                ["command", "median s", "min s", "max s", "runs"],
                [
                    [
                        c["command"],
                        f"{c['median_s']:.3f}",
                        f"{c['min_s']:.3f}",
                        f"{c['max_s']:.3f}",
                        c["runs"],
                    ]
                    for c in cli
                ],
            ),
        ]
    for p in results.get("profiles", []):
        parts += [
            f"## Profile: {p['scenario']} at c=32 ({p['samples']} samples, {p['rps']} req/s)",
            table(["frame (own time)", "share"], [[t["frame"], f"{t['pct']}%"] for t in p["top"]]),
        ]
    return "\n\n".join(parts) + "\n"
