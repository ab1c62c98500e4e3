"""The streaming client: timestamps every event and checks each arrives once.

`python -m scripts.bench.streamclient --url U --body FILE --client openai|anthropic|responses
--upstream openai|anthropic|responses --count N --concurrency C --events 64` prints one
`BENCH_JSON` line. Per stream it keeps the time to the first event, each
tokenised event's one-way delay (arrival minus the upstream's send time, both
CLOCK_MONOTONIC) and the change in gap between consecutive events versus how
the upstream spaced them; and it checks the sequence: nothing lost,
duplicated, reordered or merged, and the stream's terminal event present.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from scripts.bench import payloads
from scripts.bench.load import CLIENT_HEADERS, MARK

TERMINAL = {
    "openai": b"data: [DONE]",
    "anthropic": b"event: message_stop",
    "responses": b"event: response.completed",
}


@dataclass
class StreamCheck:
    """What one stream delivered."""

    status: int = 0
    ttfb_us: float = 0.0
    lines: int = 0
    terminal: bool = False
    seqs: list[int] = field(default_factory=list)
    delays_us: list[float] = field(default_factory=list)
    gap_changes_us: list[float] = field(default_factory=list)
    gaps_us: list[float] = field(default_factory=list)
    merged: int = 0  # data lines carrying more than one upstream event's token

    def problems(self, expected: list[int]) -> list[str]:
        """Everything wrong with this stream compared with what the upstream sent."""
        found = []
        if self.status != 200:
            found.append(f"status {self.status}")
        if not self.terminal:
            found.append("no terminal event")
        seen = set(self.seqs)
        if len(seen) != len(self.seqs):
            found.append(f"{len(self.seqs) - len(seen)} duplicated")
        missing = sorted(set(expected) - seen)
        if missing:
            found.append(f"{len(missing)} lost (first {missing[:3]})")
        if self.seqs != sorted(self.seqs):
            found.append("out of order")
        if self.merged:
            found.append(f"{self.merged} merged")
        return found


def record_line(check: StreamCheck, line: bytes, now_ns: int, last: list[int]) -> None:
    """Account one received line; `last` holds the previous (recv_ns, sent_ns)."""
    check.lines += 1
    tokens = payloads.TOKEN_RE.findall(line)
    if len(tokens) > 1:
        check.merged += 1
    for seq, sent in tokens:
        sent_ns = int(sent)
        check.seqs.append(int(seq))
        check.delays_us.append((now_ns - sent_ns) / 1e3)
        if last:
            recv_gap = now_ns - last[0]
            check.gaps_us.append(recv_gap / 1e3)
            check.gap_changes_us.append((recv_gap - (sent_ns - last[1])) / 1e3)
        last[:] = [now_ns, sent_ns]


# Responses repeats an item's whole text in its `done` events and in
# response.completed: only the deltas deliver text as it arrives.
DELTA_ONLY = {"responses": b'"response.output_text.delta"'}


async def one_stream(session, url: str, body: bytes, client: str) -> StreamCheck:
    check = StreamCheck()
    last: list[int] = []
    started = time.monotonic_ns()
    async with session.post(url, data=body, headers=CLIENT_HEADERS) as resp:
        check.status = resp.status
        async for line in resp.content:
            now = time.monotonic_ns()
            if not check.ttfb_us and line.strip():
                check.ttfb_us = (now - started) / 1e3
            if line.startswith(TERMINAL[client]):
                check.terminal = True
            delta = DELTA_ONLY.get(client)
            if delta is not None and delta not in line:
                continue
            record_line(check, line, now, last)
    return check


async def run(args) -> dict:
    body = args.body.read_bytes()
    expected = payloads.token_seqs(args.events, args.upstream)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=timeout
    ) as session:
        # Warm one pooled connection per worker, so no figure includes a connect or cold start.
        await asyncio.gather(
            *(one_stream(session, args.url, body, args.client) for _ in range(args.concurrency))
        )
        pending = list(range(args.count))
        checks: list[StreamCheck] = []

        async def worker(offset: float):
            # Staggered starts spread the workers' events over the upstream's gap, so one
            # event's delay is not another stream's event queued in front of it.
            await asyncio.sleep(offset)
            while pending:
                pending.pop()
                checks.append(await one_stream(session, args.url, body, args.client))

        stagger = args.gap / max(1, args.concurrency)
        await asyncio.gather(*(worker(i * stagger) for i in range(args.concurrency)))
    problems = [p for c in checks for p in c.problems(expected)]
    return {
        "streams": len(checks),
        "ok_streams": sum(1 for c in checks if not c.problems(expected)),
        "problems": problems[:20],
        "events_expected": len(expected) * len(checks),
        "events_delivered": sum(len(set(c.seqs)) for c in checks),
        "ttfb_us": [c.ttfb_us for c in checks],
        "delays_us": [d for c in checks for d in c.delays_us],
        "gaps_us": [g for c in checks for g in c.gaps_us],
        "gap_changes_us": [g for c in checks for g in c.gap_changes_us],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", type=Path, required=True)
    parser.add_argument("--client", choices=sorted(TERMINAL), required=True)
    parser.add_argument("--upstream", choices=sorted(TERMINAL), required=True)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--events", type=int, default=payloads.STREAM_EVENTS)
    parser.add_argument("--gap", type=float, default=payloads.STREAM_GAP, help="the upstream's")
    args = parser.parse_args()
    print(MARK + json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
