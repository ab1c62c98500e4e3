"""The fake upstream: fixed answers, and streams of timestamped events.

Run as its own process: `python -m scripts.bench.upstream --port N`. It speaks
just enough of three wires: `POST /v1/chat/completions` (OpenAI), `POST
/v1/responses` (OpenAI Responses) and `POST /v1/messages` (Anthropic); a body with `"stream":true` gets `--events`
events `--gap` seconds apart, on an absolute schedule so gaps do not drift.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from aiohttp import web

from scripts.bench import payloads

JSON = "application/json"
SSE_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache"}


def _wants_stream(raw: bytes) -> bool:
    # No JSON parse: the fake must cost as little CPU as possible.
    return b'"stream":true' in raw or b'"stream": true' in raw


def make_app(events: int, gap: float) -> web.Application:
    """The fake's app; `events` and `gap` shape every stream."""

    async def stream(request: web.Request, render) -> web.StreamResponse:
        response = web.StreamResponse(headers=SSE_HEADERS)
        await response.prepare(request)
        start = time.monotonic()
        for index in range(events):
            delay = start + index * gap - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await response.write(render(index, events, time.monotonic_ns()))
        await response.write_eof()
        return response

    async def chat(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if _wants_stream(raw):
            return await stream(request, payloads.openai_stream_event)
        return web.Response(body=payloads.OPENAI_COMPLETION, content_type=JSON)

    async def messages(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if _wants_stream(raw):
            return await stream(request, payloads.anthropic_stream_event)
        return web.Response(body=payloads.ANTHROPIC_MESSAGE, content_type=JSON)

    async def responses(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if _wants_stream(raw):
            return await stream(request, payloads.responses_stream_event)
        return web.Response(body=payloads.RESPONSES_ANSWER, content_type=JSON)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/responses", responses)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/messages", messages)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--events", type=int, default=payloads.STREAM_EVENTS)
    parser.add_argument("--gap", type=float, default=payloads.STREAM_GAP)
    args = parser.parse_args()
    web.run_app(
        make_app(args.events, args.gap),
        host=args.host,
        port=args.port,
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
