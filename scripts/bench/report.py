"""Markdown tables of a run and its verdict against issue 7's targets."""

from __future__ import annotations

SYSTEM_ORDER = ("direct", "relay", "localgate", "litellm")
GROWTH_NOISE_MB = 5.0  # RSS wobble of a Python process under load; above this is growth


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _ms(us: float | None) -> str:
    return "–" if us is None else f"{us / 1000:.3f}"


def _find(rows: list[dict], **match) -> dict | None:
    for row in rows:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def _by_scenario(results: list[dict]):
    """(scenario, system, row, the direct row or None) in report order."""
    for scenario in dict.fromkeys(r["scenario"] for r in results):
        direct = _find(results, scenario=scenario, system="direct")
        for system in SYSTEM_ORDER:
            row = _find(results, scenario=scenario, system=system)
            if row is not None:
                yield scenario, system, row, direct


def latency_table(latency: list[dict]) -> str:
    """c=1 latency per scenario and system, and what each adds over direct."""
    rows = []
    for scenario, system, row, direct in _by_scenario(latency):
        added50 = added99 = None
        if direct and system != "direct":
            added50 = row["p50_us"] - direct["p50_us"]
            added99 = row["p99_us"] - direct["p99_us"]
        rows.append(
            [
                scenario,
                system,
                _ms(row["p50_us"]),
                _ms(row["p99_us"]),
                _ms(added50),
                _ms(added99),
                row["error_count"],
            ]
        )
    header = ["scenario", "system", "p50 ms", "p99 ms", "added p50 ms", "added p99 ms", "errors"]
    return _table(header, rows)


def throughput_table(load: list[dict]) -> str:
    """Requests/s per scenario and concurrency, systems side by side."""
    systems = [s for s in SYSTEM_ORDER if any(r["system"] == s for r in load)]
    rows = []
    for scenario, concurrency in dict.fromkeys((r["scenario"], r["concurrency"]) for r in load):
        cells = []
        for system in systems:
            row = _find(load, scenario=scenario, concurrency=concurrency, system=system)
            cells.append("–" if row is None else f"{row['rps']:.0f} ({row['error_count']} err)")
        lg = _find(load, scenario=scenario, concurrency=concurrency, system="localgate")
        relay = _find(load, scenario=scenario, concurrency=concurrency, system="relay")
        ll = _find(load, scenario=scenario, concurrency=concurrency, system="litellm")
        vs_relay = f"{lg['rps'] / relay['rps']:.0%}" if lg and relay and relay["rps"] else "–"
        vs_ll = f"{lg['rps'] / ll['rps']:.1f}×" if lg and ll and ll["rps"] else "–"
        rows.append([scenario, concurrency, *cells, vs_relay, vs_ll])
    header = ["scenario", "c", *[f"{s} req/s" for s in systems], "localgate/relay", "/litellm"]
    return _table(header, rows)


def stream_table(streams: list[dict]) -> str:
    """Streams: first event, per-event delay and gaps, added over direct; delivery check."""
    rows = []
    for scenario, system, row, direct in _by_scenario(streams):

        def added(key, row=row, direct=direct):
            return _ms(row[key] - direct[key]) if direct and row is not direct else "–"

        rows.append(
            [
                scenario,
                system,
                _ms(row["ttfb_p50_us"]),
                added("ttfb_p50_us"),
                _ms(row["delay_p50_us"]),
                _ms(row["delay_p99_us"]),
                added("delay_p99_us"),
                _ms(row["gap_p50_us"]),
                _ms(row["gap_p99_us"]),
                added("gap_p99_us"),
                f"{row['events_delivered']}/{row['events_expected']}",
                "; ".join(row["problems"][:2]) or "ok",
            ]
        )
    header = [
        "stream",
        "system",
        "TTFB p50 ms",
        "added TTFB",
        "delay p50 ms",
        "delay p99 ms",
        "added delay p99",
        "gap p50 ms",
        "gap p99 ms",
        "added gap p99",
        "events",
        "check",
    ]
    return _table(header, rows)


def memory_table(memory: dict) -> str:
    rows = []
    for system in SYSTEM_ORDER:
        row = memory.get("rss", {}).get(system)
        if row is None:
            continue
        soak = memory.get("soak", {}).get(system)
        rows.append(
            [
                system,
                row.get("idle_mb", "–"),
                row.get("after_load_mb", "–"),
                soak["requests"] if soak else "–",
                soak["errors"] if soak else "–",
                " → ".join(str(s["rss_mb"]) for s in soak["samples"]) if soak else "–",
                soak["growth_mb"] if soak else "–",
            ]
        )
    header = [
        "system",
        "RSS idle MB",
        "RSS after load MB",
        "soak requests",
        "soak errors",
        "RSS during soak MB",
        "growth MB",
    ]
    return _table(header, rows)


def cli_table(cli: list[dict]) -> str:
    rows = [
        [
            c["command"],
            f"{c['median_s']:.3f}",
            f"{c['mean_s']:.3f}",
            f"{c['min_s']:.3f}",
            f"{c['max_s']:.3f}",
            f"{c['runs']} ({c['tool']})",
        ]
        for c in cli
    ]
    return _table(["command", "median s", "mean s", "min s", "max s", "runs"], rows)


def profile_table(profile: dict) -> str:
    rows = [[i + 1, r["frame"], f"{r['pct']}%"] for i, r in enumerate(profile["own"][:12])]
    own = _table(["#", "frame (own time)", "share"], rows)
    rows = [
        [i + 1, r["frame"], f"{r['pct']}%"]
        for i, r in enumerate(profile["localgate_inclusive"][:12])
    ]
    inclusive = _table(["#", "localgate function (inclusive)", "share"], rows)
    return own + "\n\n" + inclusive


def targets(results: dict) -> list[dict]:
    """Each target of issue 7 with the measured figure and whether it is met."""
    found = []

    def add(name, measured, ok, note=""):
        found.append({"target": name, "measured": measured, "met": ok, "note": note})

    load, latency = results.get("throughput", []), results.get("latency", [])
    ratios_relay, ratios_ll = [], []
    for dialect in ("openai-pass/small", "anthropic-pass/small"):
        lg = _find(load, scenario=dialect, concurrency=32, system="localgate")
        relay = _find(load, scenario=dialect, concurrency=32, system="relay")
        ll = _find(load, scenario=dialect, concurrency=32, system="litellm")
        if lg and relay and relay["rps"]:
            ratios_relay.append(lg["rps"] / relay["rps"])
        if lg and ll and ll["rps"]:
            ratios_ll.append(lg["rps"] / ll["rps"])
    if ratios_relay:
        worst = min(ratios_relay)
        add("passthrough c=32 ≥ 70% of relay", f"{worst:.0%} (worst dialect)", worst >= 0.70)
    if ratios_ll:
        worst = min(ratios_ll)
        add("passthrough c=32 ≥ 20× LiteLLM", f"{worst:.1f}× (worst dialect)", worst >= 20)
    else:
        add("passthrough c=32 ≥ 20× LiteLLM", "LiteLLM not measured", None)

    def added_p50(scenario):
        lg = _find(latency, scenario=scenario, system="localgate")
        direct = _find(latency, scenario=scenario, system="direct")
        return (lg["p50_us"] - direct["p50_us"]) / 1000 if lg and direct else None

    passthrough = [added_p50(s) for s in ("openai-pass/small", "anthropic-pass/small")]
    passthrough = [v for v in passthrough if v is not None]
    if passthrough:
        worst = max(passthrough)
        add("added p50 c=1 passthrough ≤ 0.5 ms", f"{worst:.3f} ms", worst <= 0.5)
    translated = added_p50("translated/small")
    if translated is not None:
        add("added p50 c=1 translated ≤ 1 ms", f"{translated:.3f} ms", translated <= 1.0)

    streams = results.get("streams", [])
    gaps, problems = [], []
    for row in streams:
        if row["system"] != "localgate":
            continue
        direct = _find(streams, scenario=row["scenario"], system="direct")
        if direct:
            gaps.append(row["gap_p99_us"] - direct["gap_p99_us"])
        problems += row["problems"]
        if row["events_delivered"] != row["events_expected"]:
            problems.append(
                f"{row['scenario']}: {row['events_delivered']}/{row['events_expected']}"
            )
    if gaps:
        worst = max(gaps) / 1000
        add("stream added gap p99 ≤ 1 ms", f"{worst:.3f} ms", worst <= 1.0)
        add(
            "every event once, none merged or held back",
            "; ".join(problems[:3]) or "all delivered",
            not problems,
        )

    memory = results.get("memory", {})
    idle = memory.get("rss", {}).get("localgate", {}).get("idle_mb")
    if idle is not None:
        add("RSS idle ≤ 60 MB", f"{idle} MB", idle <= 60)
    soak = memory.get("soak", {}).get("localgate")
    if soak:
        enough = soak["requests"] >= 100_000
        add(
            "no RSS growth over 100k requests",
            f"{soak['growth_mb']:+} MB over {soak['requests']} requests",
            (soak["growth_mb"] <= GROWTH_NOISE_MB) if enough else None,
            "" if enough else "run with --soak 100000 to judge",
        )
    for row in results.get("cli", []):
        if row["command"] == "localgate --help":
            add("`localgate --help` ≤ 0.3 s", f"{row['median_s']:.3f} s", row["median_s"] <= 0.3)
    return found


def targets_table(found: list[dict]) -> str:
    verdict = {True: "met", False: "NOT met", None: "n/a"}
    rows = [[t["target"], t["measured"], verdict[t["met"]], t["note"]] for t in found]
    return _table(["target", "measured", "verdict", "note"], rows)


def render(results: dict) -> str:
    """The whole report as Markdown."""
    parts = [
        "## Targets",
        targets_table(targets(results)),
        "## Added latency, concurrency 1",
        latency_table(results.get("latency", [])),
        "## Throughput",
        throughput_table(results.get("throughput", [])),
    ]
    if results.get("streams"):
        parts += ["## Streams (64 events, 20 ms apart)", stream_table(results["streams"])]
    if results.get("memory"):
        parts += ["## Memory", memory_table(results["memory"])]
    if results.get("cli"):
        parts += ["## Command line", cli_table(results["cli"])]
    for profile in results.get("profiles", []):
        parts += [
            f"## Profile: {profile['scenario']} at c={profile['concurrency']} "
            f"({profile['samples']} samples, {profile['rps_while_sampled']:.0f} req/s)",
            profile_table(profile),
        ]
    return "\n\n".join(parts) + "\n"
