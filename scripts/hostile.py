"""What one hostile upstream or client costs a real `localgate serve`: CPU seconds, peak RSS.

    python scripts/hostile.py event 200      # one 200 MB stream event without an end
    python scripts/hostile.py body 200       # one 200 MB non-stream answer, translated
    python scripts/hostile.py names 200      # 200 requests with 1 MB model names
    python scripts/hostile.py event 20 --source /path/to/other/checkout   # compare code

Everything listens on 127.0.0.1: a raw aiohttp upstream in this process and
the daemon as a subprocess (temp XDG dirs, the key in an environment
variable). The daemon's CPU time comes from /proc/PID/stat and its peak RSS
from VmHWM, read after the request ended; the log size is the daemon's stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
MB = 1 << 20
CHUNK = 64 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def hostile_upstream(size: int, calls: list) -> web.AppRunner:
    """An OpenAI-shaped upstream: streams open one endless event, answers are `size` bytes
    (a small ordinary answer when `size` is 0). Each request is counted in `calls`."""

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        calls.append(len(str(body.get("model"))))
        if not size:
            answer = {"id": "x", "object": "chat.completion", "model": body.get("model")}
            choice = {"index": 0, "message": {"role": "assistant", "content": "hi"}}
            return web.json_response({**answer, "choices": [{**choice, "finish_reason": "stop"}]})
        stream = body.get("stream") is True
        kind = "text/event-stream" if stream else "application/json"
        response = web.StreamResponse(headers={"content-type": kind})
        await response.prepare(request)
        head = b"data: {" if stream else b'{"id":"x","object":"chat.completion","pad":"'
        tail = b"}\n\n" if stream else b'","choices":[]}'
        filler, sent = b"x" * CHUNK, len(head)
        try:
            await response.write(head)
            while sent < size:
                await response.write(filler)
                sent += CHUNK
            await response.write(tail)
        except ConnectionError:
            pass  # the daemon gave up on it
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    return runner


def usage(pid: int) -> tuple[float, int]:
    """(CPU seconds, peak RSS bytes) of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return cpu, int(line.split()[1]) * 1024
    return cpu, 0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=("event", "body", "names"))
    parser.add_argument("size", type=int, help="MB (event, body) or request count (names)")
    parser.add_argument("--source", default=str(ROOT), help="the localgate checkout to run")
    args = parser.parse_args()

    calls: list = []
    runner = await hostile_upstream(0 if args.case == "names" else args.size * MB, calls)
    upstream_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", upstream_port).start()
    home = Path(tempfile.mkdtemp(prefix="lg-hostile-"))
    config = home / "config.toml"
    config.write_text(
        "[server]\nmax_wait = 0\n[timeouts]\nresponse = 600.0\nidle = 600.0\n"
        f'[[accounts]]\nname = "h"\nprovider = "openai"\nkey_env = "HOSTILE_KEY"\n'
        f'base_url = "http://127.0.0.1:{upstream_port}/v1"\nmodels = ["*"]\n'
    )
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": args.source,
        "HOSTILE_KEY": "sk-hostile-0123456789",
        **{f"XDG_{n}_HOME": str(home / n.lower()) for n in ("CONFIG", "STATE", "DATA", "CACHE")},
    }
    log = (home / "daemon.log").open("wb")
    daemon = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "localgate", "--config", str(config), "serve", "--port", str(port),
        stdout=log, stderr=log, env=env, cwd=args.source,  # `-m` imports from the cwd first
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=900)) as http:
            for _ in range(150):
                try:
                    async with http.get(url + "/health") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            cpu0, _ = usage(daemon.pid)
            started = time.monotonic()
            statuses = await CASES[args.case](http, url, args.size)
            wall = time.monotonic() - started
            cpu1, peak = usage(daemon.pid)
    finally:
        daemon.terminate()
        await daemon.wait()
        await runner.cleanup()
    print(
        json.dumps(
            {
                "case": args.case,
                "size": args.size,
                "source": args.source,
                "statuses": statuses,
                "upstream_calls": len(calls),
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu1 - cpu0, 2),
                "peak_rss_mb": round(peak / MB),
                "log_mb": round((home / "daemon.log").stat().st_size / MB, 2),
            }
        )
    )


async def one_event(http, url: str, size: int) -> list:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    async with http.post(url + "/v1/chat/completions", json=body) as resp:
        tail = (await resp.read())[-160:]
        return [resp.status, tail.decode(errors="replace")]


async def one_body(http, url: str, size: int) -> list:
    # Anthropic client on the OpenAI upstream: the answer is translated.
    body = {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    async with http.post(url + "/v1/messages", json=body) as resp:
        return [resp.status, (await resp.read())[:160].decode(errors="replace")]


async def long_names(http, url: str, count: int) -> list:
    statuses: dict[str, int] = {}
    for i in range(count):
        model = f"{i:04d}" + "m" * MB
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
        try:
            async with http.post(url + "/v1/chat/completions", json=body) as resp:
                await resp.read()
                status = str(resp.status)
        except aiohttp.ClientError as exc:  # e.g. a header line the client cannot read
            status = type(exc).__name__
        statuses[status] = statuses.get(status, 0) + 1
    return [statuses]


CASES = {"event": one_event, "body": one_body, "names": long_names}

if __name__ == "__main__":
    asyncio.run(main())
