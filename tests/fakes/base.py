"""The shared machinery of the fake upstreams: behaviors, recording, serving.

A fake is a real aiohttp server on 127.0.0.1. Each request is recorded, then
answered by the next scripted behavior (or `default` when the script is empty).
Behaviors are provider-neutral; each provider subclass renders them in its own
wire format (body shapes, SSE framing, headers, error bodies).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import string
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web

_BASE62 = string.ascii_letters + string.digits


@dataclass
class ToolCall:
    """One tool call the fake model makes; `id` is synthesized when None."""

    name: str
    input: dict = field(default_factory=dict)
    id: str | None = None


@dataclass
class Usage:
    """Token counts. `output` is all output; `reasoning` is the part of it spent thinking."""

    input: int = 10
    output: int = 5
    cache_read: int = 0
    cache_creation: int = 0
    reasoning: int = 0


@dataclass
class Reply:
    """A successful answer. `text=None` means "Hello from {fake.name}"."""

    text: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    thinking: str | None = None
    stop: str | None = None  # provider-native stop/finish reason; None = natural one
    usage: Usage = field(default_factory=Usage)
    chunks: int = 3
    gap: float = 0.0
    headers: dict = field(default_factory=dict)
    # Parallel calls' argument fragments interleaved (header 0, header 1, fragment
    # of 0, fragment of 1…), as some OpenAI-compatible servers stream them.
    interleave: bool = False
    # Media of the answer, (mime type, base64 data) each, after the text: Gemini's
    # inlineData parts (image models), Responses' image_generation_call items (the
    # image tool). Other fakes ignore them.
    media: list[tuple[str, str]] = field(default_factory=list)
    # Gemini: the prompt was blocked (`promptFeedback.blockReason`, e.g. "SAFETY"):
    # the answer is that one chunk, with no candidates. Other fakes ignore it.
    block_reason: str | None = None


@dataclass
class Error:
    """An error answer in the provider's real error shape (unless `body` is given).

    `headers=None` means the provider's realistic defaults (`retry-after: 7` on an
    Anthropic/OpenAI 429); a dict is sent as given. `code` picks the provider's own
    error code: Anthropic `error.type`, OpenAI `error.type`/`code` (e.g.
    "insufficient_quota"), Gemini 429 `quotaId` (e.g. "...PerDay...").
    """

    status: int = 429
    message: str | None = None
    headers: dict | None = None
    body: bytes | None = None
    code: str | None = None


@dataclass
class Cut:
    """Drop the connection: stream after `after_events` events; non-stream before
    headers (`after_events=0`) or mid-body. Streams `reply` (default Reply()).

    With `error`, a stream instead ends cleanly with the provider's in-stream
    error event (Anthropic `event: error`, OpenAI/Gemini `data: {"error": …}`).
    """

    after_events: int = 2
    reply: Reply | None = None
    error: Error | None = None


@dataclass
class Delay:
    """Wait before sending anything (slow first byte), then act as `then`."""

    seconds: float
    then: Any = field(default_factory=Reply)


@dataclass
class Garbage:
    """A raw non-API answer, e.g. an HTML page from a broken proxy."""

    status: int = 200
    body: bytes = b"<html>oops</html>"
    content_type: str = "text/html"


@dataclass
class Hang:
    """Accept the request and never answer, until the client goes away."""


@dataclass
class Flood:
    """A hostile upstream: `size` bytes that never make a usable answer, sent in `chunk`s.

    A stream request gets a 200 event stream opening one event that never ends
    (`data: xxxx…`, no blank line), after `events` whole events of the reply; a
    whole-answer request gets a 200 JSON object of `size` bytes, chunked (no
    Content-Length) unless `declared`.
    """

    size: int
    chunk: int = 65536
    events: int = 0
    declared: bool = False


Behavior = Reply | Error | Cut | Delay | Garbage | Hang | Flood


@dataclass
class Recorded:
    """One request as the fake received it (header names lower-cased)."""

    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    json: Any


@dataclass
class Call:
    """What a handler knows about the call being answered."""

    model: str
    stream: bool
    request: Recorded

    @classmethod
    def from_body(cls, recorded: Recorded) -> Call:
        """A call whose model and stream flag are in the JSON body (Anthropic, OpenAI)."""
        body = recorded.json if isinstance(recorded.json, dict) else {}
        return cls(str(body.get("model", "")), body.get("stream") is True, recorded)


def random_id(length: int) -> str:
    """A base62 id body like the ones real APIs mint."""
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def split_text(text: str, parts: int) -> list[str]:
    """`text` in at most `parts` non-empty, nearly equal pieces, in order."""
    if not text:
        return []
    parts = max(1, min(parts, len(text)))
    size, extra = divmod(len(text), parts)
    pieces, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


def dumps(data: Any, *, separators=(",", ":"), indent: int | None = None) -> bytes:
    """JSON bytes, UTF-8 unescaped as the real APIs send them."""
    if indent is not None:
        separators = (",", ": ")
    return json.dumps(data, ensure_ascii=False, separators=separators, indent=indent).encode()


class FakeUpstream:
    """A fake provider API. Subclasses add routes and render behaviors."""

    kind: ClassVar[str] = ""
    url_path: ClassVar[str] = ""
    default_models: ClassVar[tuple[str, ...]] = ()
    json_content_type: ClassVar[str] = "application/json"
    stream_content_type: ClassVar[str] = "text/event-stream; charset=utf-8"

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.url = ""
        self.requests: list[Recorded] = []
        self.default: Behavior = Reply()
        self.disconnects = 0  # requests whose client went away before the answer ended
        self.models: list[str] = list(self.default_models)
        self._script: deque = deque()
        self._runner: web.AppRunner | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.url or 'stopped'}>"

    # -- public API -------------------------------------------------------

    def script(self, *behaviors: Behavior) -> None:
        """Queue behaviors; each request consumes the next one, then `default` answers."""
        self._script.extend(behaviors)

    async def start(self) -> None:
        """Serve on a free port of 127.0.0.1 and set `url`."""
        app = web.Application(client_max_size=64 << 20)  # uploads: OpenAI takes 25-50 MB
        self.add_routes(app.router)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        # Cancelling handlers on disconnect is how a Hang or a stream learns the
        # client went away; a short shutdown keeps test teardown fast.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=0.2, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)  # the runner holds the timeout
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}{self.url_path}"

    async def close(self) -> None:
        """Stop serving (idempotent)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def wait_disconnects(self, count: int = 1, timeout: float = 2.0) -> int:
        """Wait until at least `count` disconnects were seen; returns the count.

        Disconnects are noticed asynchronously, after the client has already
        returned, so tests wait for them instead of asserting at once.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.disconnects < count and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return self.disconnects

    @property
    def default_text(self) -> str:
        """The text a `Reply()` without text answers with."""
        return f"Hello from {self.name}"

    # -- provider hooks ---------------------------------------------------

    def add_routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    def base_headers(self, call: Call | None) -> dict:
        """Headers every answer carries (request id, rate-limit figures…)."""
        return {}

    def render_body(self, reply: Reply, call: Call) -> bytes:
        raise NotImplementedError

    def render_events(self, reply: Reply, call: Call) -> list[bytes]:
        """The whole stream as framed SSE events, in order."""
        raise NotImplementedError

    def render_error(self, error: Error) -> tuple[bytes, dict]:
        """Body and provider-default headers of an error answer."""
        raise NotImplementedError

    def render_stream_error(self, error: Error, call: Call | None = None) -> bytes:
        """The framed error event a provider sends after a 200 stream has begun."""
        raise NotImplementedError

    # -- serving ------------------------------------------------------------

    async def record(self, request: web.Request) -> Recorded:
        """Read and remember the request."""
        body = await request.read()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        recorded = Recorded(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            json=parsed,
        )
        self.requests.append(recorded)
        return recorded

    def next_behavior(self) -> Behavior:
        return self._script.popleft() if self._script else self.default

    async def answer(self, request: web.Request, call: Call) -> web.StreamResponse:
        """Answer one model call with the next behavior."""
        return await self.perform(request, self.next_behavior(), call)

    async def perform(
        self, request: web.Request, behavior: Behavior, call: Call
    ) -> web.StreamResponse:
        try:
            if isinstance(behavior, Delay):
                await asyncio.sleep(behavior.seconds)
                return await self.perform(request, behavior.then, call)
            if isinstance(behavior, Hang):
                await asyncio.get_running_loop().create_future()
            if isinstance(behavior, Garbage):
                return web.Response(
                    status=behavior.status,
                    body=behavior.body,
                    headers={"content-type": behavior.content_type},
                )
            if isinstance(behavior, Error):
                return self.error_response(behavior)
            if isinstance(behavior, Cut):
                return await self._cut(request, behavior, call)
            if isinstance(behavior, Flood):
                return await self._flood(request, behavior, call)
            if isinstance(behavior, Reply):
                if call.stream:
                    return await self._stream(request, behavior, call)
                return self._json_reply(behavior, call)
        except asyncio.CancelledError:
            self.disconnects += 1
            raise
        raise TypeError(f"not a behavior: {behavior!r}")

    async def answer_with(self, request: web.Request, recorded: Recorded, render):
        """Answer with the next behavior; a Reply is rendered by `await render(reply)`
        (routes whose answers are not chat: embeddings, audio, images…)."""
        behavior = self.next_behavior()
        try:
            while isinstance(behavior, Delay):
                await asyncio.sleep(behavior.seconds)
                behavior = behavior.then
            if isinstance(behavior, Reply):
                return await render(behavior)
        except asyncio.CancelledError:
            self.disconnects += 1
            raise
        return await self.perform(request, behavior, Call("", False, recorded))

    def error_response(self, error: Error) -> web.Response:
        body, headers = self.render_error(error)
        if error.headers is not None:
            headers = {k: v for k, v in headers.items() if k == "content-type"}
            headers.update(error.headers)
        if error.body is not None:
            body = error.body
        return web.Response(
            status=error.status, body=body, headers={**self.base_headers(None), **headers}
        )

    def _json_reply(self, reply: Reply, call: Call) -> web.Response:
        headers = {**self.base_headers(call), "content-type": self.json_content_type}
        headers.update(reply.headers)
        return web.Response(body=self.render_body(reply, call), headers=headers)

    async def _start_stream(
        self, request: web.Request, reply: Reply, call: Call
    ) -> web.StreamResponse:
        headers = {
            **self.base_headers(call),
            "content-type": self.stream_content_type,
            "cache-control": "no-cache",
        }
        headers.update(reply.headers)
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        return response

    async def _stream(self, request: web.Request, reply: Reply, call: Call) -> web.StreamResponse:
        response = await self._start_stream(request, reply, call)
        for i, event in enumerate(self.render_events(reply, call)):
            if i and reply.gap:
                await asyncio.sleep(reply.gap)
            try:
                await response.write(event)
            except ConnectionError:
                self.disconnects += 1
                return response
        await response.write_eof()
        return response

    async def _cut(self, request: web.Request, cut: Cut, call: Call) -> web.StreamResponse:
        reply = cut.reply or Reply()
        transport = request.transport
        if not call.stream:
            if cut.after_events <= 0 or transport is None:
                if transport is not None:
                    transport.abort()
                raise web.HTTPException()  # never sent: the socket is gone
            body = self.render_body(reply, call)
            response = web.StreamResponse(
                headers={**self.base_headers(call), "content-type": self.json_content_type}
            )
            response.content_length = len(body)
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
        else:
            response = await self._start_stream(request, reply, call)
            for i, event in enumerate(self.render_events(reply, call)[: cut.after_events]):
                if i and reply.gap:
                    await asyncio.sleep(reply.gap)
                await response.write(event)
            if cut.error is not None:
                await response.write(self.render_stream_error(cut.error, call))
                await response.write_eof()
                return response
        # Abort (RST), not close: a clean FIN could pass for a complete body.
        if request.transport is not None:
            request.transport.abort()
        return response

    async def _flood(self, request: web.Request, flood: Flood, call: Call) -> web.StreamResponse:
        if call.stream:
            response = await self._start_stream(request, Reply(), call)
            for event in self.render_events(Reply(), call)[: flood.events]:
                await response.write(event)
            head, tail = b"data: {", b"}\n\n"
        else:
            response = web.StreamResponse(
                headers={**self.base_headers(call), "content-type": self.json_content_type}
            )
            if flood.declared:
                response.content_length = flood.size
            await response.prepare(request)
            head, tail = b'{"pad": "', b'"}'
        filler = b"x" * flood.chunk
        sent = len(head)
        await response.write(head)
        try:
            while sent < flood.size - len(tail):
                piece = filler[: flood.size - len(tail) - sent]
                await response.write(piece)
                sent += len(piece)
            await response.write(tail)
            await response.write_eof()
        except ConnectionError:  # the gateway gave up on it, as it should
            self.disconnects += 1
        return response

    async def _unknown_route(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        return self.error_response(
            Error(status=404, message=f"Not found: {request.method} {request.path}", headers={})
        )
