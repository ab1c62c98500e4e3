"""Translation between the wire dialects through one internal form (ir).

Each dialect module reads its wire format into the IR and writes the IR back
out; `translator(client, upstream)` composes the upstream's reader with the
client's writer, so N dialects need N modules, not N² pairs. One `Translator`
serves one request: `request()` remembers what the answer needs (tool-name
mapping, whether the client asked for stream usage) for `response()`/`stream()`.

    t = translator("anthropic", "openai")
    upstream_body = t.request(client_body, model="gpt-4o", stream=True)
    s = t.stream()
    for event in upstream_events: send(s.feed(event))
    send(s.finish())            # or s.fail(error) when the upstream broke off
"""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from importlib import import_module
from types import ModuleType

from localgate.errors import GatewayError, InvalidRequest, RelayedError, UpstreamError
from localgate.sse import Event
from localgate.translate import compaction, fields, ir, seal
from localgate.translate.anthropic import drop_foreign_thinking
from localgate.translate.ir import Usage
from localgate.translate.names import ToolNames
from localgate.translate.typecheck import mistyped

__all__ = [
    "DIALECTS",
    "StreamTranslator",
    "Translator",
    "Usage",
    "drop_foreign_thinking",
    "error_message",
    "translator",
]

# dialect name → (module with requests/responses, module with stream decoder/encoder)
DIALECTS: dict[str, tuple[str, str]] = {
    "anthropic": ("localgate.translate.anthropic", "localgate.translate.anthropic_stream"),
    "openai": ("localgate.translate.openai", "localgate.translate.openai_stream"),
    "gemini": ("localgate.translate.gemini", "localgate.translate.gemini_stream"),
    "responses": ("localgate.translate.responses", "localgate.translate.responses_stream"),
}


# Reasoning, as parts and as stream events: left out for clients that did not ask.
THINKING_PARTS = (ir.Thinking, ir.RedactedThinking)
THINKING_EVENTS = (ir.ThinkingDelta, ir.SignatureDelta, ir.RedactedThinkingBlock)


@functools.cache  # looked up for every translated request; import_module is not free
def _modules(dialect: str) -> tuple[ModuleType, ModuleType]:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}")
    messages, stream = DIALECTS[dialect]
    return import_module(messages), import_module(stream)


def translator(client: str, upstream: str, *, compact: bool = False) -> Translator:
    """A translator for one request from a `client` dialect to an `upstream` one.

    `compact`: the request is a compaction (POST /responses/compact), answered
    with a summary sealed in a compaction item (translate/compaction.py).
    """
    if client == upstream:
        raise ValueError("same dialect on both sides: relay the bytes untouched")
    return Translator(client, upstream, compact=compact)


class Translator:
    """Translates one request, then its answer (whole or streamed)."""

    def __init__(self, client: str, upstream: str, *, compact: bool = False) -> None:
        self.client, self.client_stream = _modules(client)
        self.upstream, self.upstream_stream = _modules(upstream)
        self.ctx = ir.Context(client=client, upstream=upstream, model="")
        self.names = ToolNames()
        self.compact = compact

    def request(
        self,
        body: dict,
        *,
        model: str,
        stream: bool,
        client_model: str = "",
        account: str = "",
        seal_key: bytes = b"",
    ) -> dict:
        """The client's request body → the upstream's, for upstream `model` on `account`.

        `seal_key` signs what localgate hands the client to replay (compactions).
        Raises InvalidRequest for what cannot be translated.
        """
        if not isinstance(body, dict):
            raise InvalidRequest("the request body must be a JSON object")
        req, problem = self._read(body)
        if problem is not None:
            raise _refusal(problem, _culprit(body, self._read))
        compact = "endpoint" if self.compact else ("trigger" if req.compact else None)
        if compact:
            compaction.prepare(req)
        self.ctx = replace(
            self.ctx,
            model=model,
            client_model=client_model,
            stream=stream,
            include_usage=req.include_usage,
            dropped=list(dict.fromkeys(req.dropped)),
            field_names=fields.ir_names(self.ctx.client),
            show_thinking=req.show_thinking,
            account=account,
            seal_key=seal_key,
            tools={tool.name: tool for tool in req.tools},  # renaming copies, never alters
            compact=compact,
        )
        self._rename_for_upstream(req)
        try:
            return self.upstream.request_from_ir(req, self.ctx)
        except GatewayError:
            raise
        except Exception as exc:  # a value the reader let through that the writer cannot use
            raise _refusal(_describe(exc), None) from exc

    def _read(self, body: dict) -> tuple[ir.Request | None, str | None]:
        """(the request as IR, None), or (None, what is wrong with it); GatewayErrors pass.

        Total over any JSON object: whatever a reader raises on a value it did not
        expect, or lets into the IR with the wrong type, is reported, never raised.
        """
        try:
            req = self.client.request_to_ir(body)
        except GatewayError:
            raise
        except Exception as exc:
            return None, _describe(exc)
        problem = mistyped(req)
        return (None, problem) if problem else (req, None)

    @property
    def dropped(self) -> tuple[str, ...]:
        """The client's request fields this upstream could not honour (left out)."""
        return tuple(self.ctx.dropped)

    def response(self, body: dict) -> dict:
        """The upstream's non-streaming response body → the client's.

        Raises UpstreamError (502) when the body cannot be read.
        """
        try:
            resp = self.upstream.response_to_ir(body)
            problem = mistyped(resp)
            if problem:
                raise ValueError(problem)
            for part in resp.parts:
                if isinstance(part, ir.ToolCall):
                    part.name = self.names.client(part.name)
                elif isinstance(part, ir.Thinking):
                    part.origin = seal.bind(part.origin, self.ctx.account)
            if not self.ctx.show_thinking:
                resp.parts = [p for p in resp.parts if not isinstance(p, THINKING_PARTS)]
            return self.client.response_from_ir(resp, self.ctx)
        except GatewayError:
            raise
        except Exception as exc:
            raise UpstreamError(
                f"upstream answered with an unreadable body: {_describe(exc)}"
            ) from exc

    def stream(self) -> StreamTranslator:
        """A translator for the upstream's stream of this request."""
        return StreamTranslator(
            self.upstream_stream.StreamDecoder(),
            self.client_stream.StreamEncoder(self.ctx),
            self.names,
            self.ctx.account,
            show_thinking=self.ctx.show_thinking,
        )

    def _rename_for_upstream(self, req: ir.Request) -> None:
        for index, tool in enumerate(req.tools):
            name = self.names.upstream(tool.name)
            if name != tool.name:  # a copy: ctx.tools keeps the client's tool as it came
                req.tools[index] = replace(tool, name=name)
        if req.tool_choice and req.tool_choice.name:
            req.tool_choice.name = self.names.upstream(req.tool_choice.name)
        if req.tool_choice and req.tool_choice.allowed:
            req.tool_choice.allowed = [self.names.upstream(n) for n in req.tool_choice.allowed]
        for message in req.messages:
            for part in message.parts:
                if isinstance(part, ir.ToolCall | ir.ToolResult) and part.name:
                    part.name = self.names.upstream(part.name)


class StreamTranslator:
    """Upstream SSE events in, client SSE bytes out, one event at a time."""

    def __init__(
        self, decoder, encoder, names: ToolNames, account: str = "", *, show_thinking: bool = True
    ) -> None:
        self.decoder = decoder
        self.encoder = encoder
        self.names = names
        self.account = account  # reasoning an upstream signs is bound to its account
        self.show_thinking = (
            show_thinking  # False: reasoning the client did not ask for is left out
        )
        self.usage = Usage()
        self.failed = False
        self.failure: str | None = None  # the upstream's own in-stream error, if any

    def feed(self, event: Event) -> bytes:
        """The client bytes one upstream event produces now (may be b"")."""
        if self.failed:
            return b""
        try:
            events = self.decoder.feed(event)
        except Exception:  # noqa: BLE001 - any reader failure means the same thing
            # An unreadable event (not JSON, odd shape): skip it rather than break
            # a stream the client is already reading.
            return b""
        out = b""
        for item in events:
            if isinstance(item, ir.UpstreamFailure):
                self.failure = str(item.message)
                return out + self.fail(RelayedError(item.status, self.failure))
            if not self.show_thinking and isinstance(item, THINKING_EVENTS):
                continue  # reasoning the client did not ask to see
            try:
                if isinstance(item, ir.ToolCallStart):
                    item.name = self.names.client(item.name)
                elif isinstance(item, ir.SignatureDelta):
                    item.origin = seal.bind(item.origin, self.account)
                elif isinstance(item, ir.UsageUpdate | ir.Start):
                    self.usage = ir.Usage(**vars(item.usage))
                out += self.encoder.encode(item)
            except Exception as exc:  # an event the writer cannot render: end it cleanly
                failure = UpstreamError(f"the upstream sent an unusable event: {_describe(exc)}")
                return out + self.fail(failure)
        return out

    def finish(self) -> bytes:
        """What the client still needs after the upstream ended cleanly."""
        if self.failed:
            return b""
        try:
            return self.encoder.finish()
        except Exception as exc:
            return self.fail(UpstreamError(f"the stream could not be closed: {_describe(exc)}"))

    def fail(self, error: GatewayError) -> bytes:
        """Close what is open and emit the client dialect's error event."""
        if self.failed:
            return b""
        self.failed = True
        return self.encoder.fail(error)


# Top-level fields tried one by one to name the culprit of an unreadable request;
# past this many, the search would cost more than the answer is worth.
MAX_CULPRIT_SEARCH = 64


def _describe(exc: Exception) -> str:
    """An exception as a short line for an error message (it may quote the client's data)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    text = f"{type(exc).__name__}: {exc}"
    return text[:200] + "…" if len(text) > 200 else text


def _culprit(body: dict, read) -> str | None:
    """The top-level field of `body` that makes it unreadable, found by leaving each out.

    Only on the error path. A field whose absence makes the request readable is
    the culprit; failing that, one whose absence changes the failure into a
    plain refusal (a required field: "messages: field required").
    """
    if len(body) > MAX_CULPRIT_SEARCH:
        return None
    refused = None
    for key in body:
        try:
            _, problem = read({k: v for k, v in body.items() if k != key})
        except GatewayError:
            refused = refused or key
            continue
        if problem is None:
            return key
    return refused


def _refusal(problem: str, key: str | None) -> InvalidRequest:
    if key is None:
        return InvalidRequest(f"the request cannot be read: {problem}")
    if problem.startswith((f"{key}:", f"{key}[", f"{key}.")):  # the IR's name is the wire's
        return InvalidRequest(problem, param=key)
    return InvalidRequest(f"{key}: invalid value ({problem})", param=key)


def error_message(dialect: str, body: bytes) -> str:
    """The human message inside an upstream error body of `dialect`."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, list) and parsed:  # Gemini sometimes wraps errors in a list
        parsed = parsed[0]
    if isinstance(parsed, dict):
        module, _ = _modules(dialect)
        message = module.error_message(parsed)
        if isinstance(message, str) and message:
            return message
    text = body.decode("utf-8", errors="replace")
    excerpt = "".join(c if c.isprintable() else " " for c in text).strip()
    return (excerpt[:200] + "…") if len(excerpt) > 200 else (excerpt or "upstream error")
