"""An aiohttp load client, for machines without wrk.

`python -m scripts.bench.loadclient --url U --body FILE --concurrency C --duration S`
prints the same `BENCH_JSON` line as the wrk script. It is slower than wrk, so
on a machine without wrk the throughput figures are a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import aiohttp

from scripts.bench.load import CLIENT_HEADERS, MARK
from scripts.bench.stats import percentile


async def drive(url: str, body: bytes, concurrency: int, duration: float, limit: int) -> dict:
    """Run the load; the summary dict the wrk script would print."""
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=10)
    start = time.perf_counter()
    stop_at = start + duration

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            while time.perf_counter() < stop_at and not (limit and len(latencies) >= limit):
                sent = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=CLIENT_HEADERS) as resp:
                        await resp.read()
                        if resp.status >= 400:
                            errors["status"] += 1
                except TimeoutError:
                    errors["timeout"] += 1
                    continue
                except aiohttp.ClientConnectorError:
                    errors["connect"] += 1
                    continue
                except aiohttp.ClientError:
                    errors["read"] += 1
                    continue
                latencies.append((time.perf_counter() - sent) * 1e6)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "requests": len(latencies) + sum(errors.values()),
        "duration_s": elapsed,
        "errors": errors,
        "latency_us": {
            "p50": percentile(ordered, 50),
            "p90": percentile(ordered, 90),
            "p99": percentile(ordered, 99),
            "max": ordered[-1] if ordered else 0,
            "mean": sum(ordered) / len(ordered) if ordered else 0,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--limit", type=int, default=0, help="stop after this many responses")
    args = parser.parse_args()
    duration = args.duration if not args.limit else 3600.0
    summary = asyncio.run(
        drive(args.url, args.body.read_bytes(), args.concurrency, duration, args.limit)
    )
    print(MARK + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
