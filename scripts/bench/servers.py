"""The Python servers of the benchmark: the fake upstream and the two relays.

`python -m scripts.bench.servers upstream --port N` answers the four routes of
scripts/bench/wire.py (fixed answers, and for `"stream":true` `--events` events
`--gap` seconds apart on an absolute schedule, so gaps do not drift).

`python -m scripts.bench.servers relay --port N --upstream URL` is the
reference: one aiohttp handler, one shared ClientSession, the body and headers
forwarded as they are and the answer streamed back chunk by chunk. No routing,
no parsing: the floor any aiohttp gateway stands on. With `--read` it is the
reading relay: the same, but the body is parsed (orjson) and its `model` read
first, as any gateway that routes on the model must; no more checks than that.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp
import orjson
from aiohttp import web

from scripts.bench import wire

SSE = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
HOP_BY_HOP = frozenset(
    ("connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding")
)
SESSION = web.AppKey("session", aiohttp.ClientSession)
STREAM_WIRE = {wire.CHAT: "openai", wire.MESSAGES: "anthropic", wire.RESPONSES: "responses"}


def upstream_app(events: int, gap: float) -> web.Application:
    """The fake upstream; `events` and `gap` shape every stream."""

    async def answer(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        # No JSON parse: the fake must cost as little CPU as possible.
        if b'"stream":true' not in raw and b'"stream": true' not in raw:
            return web.Response(body=wire.ANSWERS[request.path], content_type="application/json")
        response = web.StreamResponse(headers=SSE)
        await response.prepare(request)
        start = time.monotonic()
        for index in range(events):
            delay = start + index * gap - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            event = wire.stream_event(STREAM_WIRE[request.path], index, events, time.monotonic_ns())
            await response.write(event)
        await response.write_eof()
        return response

    app = web.Application(client_max_size=64 * 1024 * 1024)
    for path in wire.ANSWERS:
        app.router.add_post(path, answer)
    return app


def relay_app(upstream: str, read: bool = False) -> web.Application:
    """A relay of every POST path to the same path on `upstream`; with `read`, of bodies
    that parse as a JSON object (400 otherwise), whose `model` it reads."""

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if read:
            try:
                model = orjson.loads(body).get("model")
            except (orjson.JSONDecodeError, AttributeError):
                return web.json_response({"error": "not a JSON object"}, status=400)
            request["model"] = model
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        url = upstream + request.path_qs
        async with request.app[SESSION].post(url, data=body, headers=headers) as answer:
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            response = web.StreamResponse(status=answer.status, headers=kept)
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    async def session(app: web.Application):
        connector = aiohttp.TCPConnector(limit=0)
        app[SESSION] = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        yield
        await app[SESSION].close()

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.cleanup_ctx.append(session)
    app.router.add_post("/{tail:.*}", forward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server", choices=("upstream", "relay"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", help="the relay's upstream, e.g. http://127.0.0.1:9000")
    parser.add_argument("--read", action="store_true", help="the relay parses each body first")
    parser.add_argument("--events", type=int, default=wire.STREAM_EVENTS)
    parser.add_argument("--gap", type=float, default=wire.STREAM_GAP)
    args = parser.parse_args()
    if args.server == "relay":
        app = relay_app(args.upstream.rstrip("/"), read=args.read)
    else:
        app = upstream_app(args.events, args.gap)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
