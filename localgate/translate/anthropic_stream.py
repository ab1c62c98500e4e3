"""Anthropic Messages streams ⇄ internal stream events.

The encoder keeps the sequence the SDK demands: `message_start` once and
first, blocks with sequential non-interleaved indices (a change of kind closes
the open block), no empty blocks, `message_delta` (with usage) and
`message_stop` last. It holds `message_delta` until the upstream ends, because
an OpenAI upstream sends usage after its finish chunk.

OpenAI-compatible upstreams may interleave parallel calls' argument fragments
(header 0, header 1, fragment of 0, fragment of 1…). Blocks cannot interleave,
so a call that starts while the open call's arguments are not yet a whole JSON
value is collected by key, and goes out (its fragments so far, then live) once
the open call's arguments are whole; calls in order stream as they come.
"""

from __future__ import annotations

import json

from localgate.errors import KINDS, GatewayError
from localgate.sse import Event, encode
from localgate.translate import ir
from localgate.translate.anthropic import (
    new_message_id,
    usage_from_ir,
    usage_to_ir,
    wrap_signature,
)
from localgate.translate.names import encode_id


class StreamDecoder:
    """Anthropic upstream SSE events → internal events."""

    def __init__(self) -> None:
        self.usage = ir.Usage()

    def feed(self, event: Event) -> list[ir.StreamEvent]:
        if not event.data or event.event == "ping":
            return []
        data = event.json()
        kind = data.get("type") or event.event
        if kind == "message_start":
            message = data.get("message") or {}
            self.usage = usage_to_ir(message.get("usage"))
            return [ir.Start(message.get("id", ""), message.get("model", ""), _copy(self.usage))]
        if kind == "content_block_start":
            return self._block_start(data.get("index"), data.get("content_block") or {})
        if kind == "content_block_delta":
            return self._delta(data.get("index"), data.get("delta") or {})
        if kind == "content_block_stop":
            return [ir.BlockStop()]
        if kind == "message_delta":
            self._merge_usage(data.get("usage") or {})
            delta = data.get("delta") or {}
            return [
                ir.UsageUpdate(_copy(self.usage)),
                ir.Finish(delta.get("stop_reason"), delta.get("stop_sequence")),
            ]
        if kind == "error":
            error = data.get("error") or {}
            status = 529 if error.get("type") == "overloaded_error" else 500
            return [ir.UpstreamFailure(status, error.get("message") or "upstream error")]
        return []  # message_stop, unknown future events

    def _block_start(self, index, block: dict) -> list[ir.StreamEvent]:
        kind = block.get("type")
        if kind == "text":
            return [ir.TextDelta(block["text"])] if block.get("text") else []
        if kind == "thinking":
            return [ir.ThinkingDelta(block["thinking"])] if block.get("thinking") else []
        if kind == "redacted_thinking":
            return [ir.RedactedThinkingBlock(block.get("data", ""))]
        if kind == "tool_use":
            return [ir.ToolCallStart(index, block.get("id", ""), block.get("name", ""))]
        return []

    def _delta(self, index, delta: dict) -> list[ir.StreamEvent]:
        kind = delta.get("type")
        if kind == "text_delta":
            return [ir.TextDelta(delta.get("text", ""))]
        if kind == "thinking_delta":
            return [ir.ThinkingDelta(delta.get("thinking", ""))]
        if kind == "signature_delta":
            return [ir.SignatureDelta(delta.get("signature", ""), "anthropic")]
        if kind == "input_json_delta":
            return [ir.ToolArgsDelta(index, delta.get("partial_json", ""))]
        return []

    def _merge_usage(self, usage: dict) -> None:
        # message_delta usage is cumulative; input fields appear there on some servers.
        fresh = usage_to_ir(usage)
        self.usage.output_tokens = fresh.output_tokens or self.usage.output_tokens
        for name in ("input_tokens", "cache_read_tokens", "cache_creation_tokens"):
            if getattr(fresh, name):
                setattr(self.usage, name, getattr(fresh, name))


def _copy(usage: ir.Usage) -> ir.Usage:
    return ir.Usage(**vars(usage))


class StreamEncoder:
    """Internal events → the SSE bytes an Anthropic client reads."""

    def __init__(self, ctx: ir.Context) -> None:
        self.ctx = ctx
        self.started = False
        self.index = -1  # index of the last block opened
        self.open: str | None = None  # kind of the open block
        self.open_key: object = None  # tool call key of the open tool_use block
        self.open_args = ""  # the open call's arguments so far
        # Calls that started while another tool_use block was open: key → [id, name, args].
        self.queued: dict[object, list[str]] = {}
        self.signed = False  # the open thinking block has its signature
        self.usage = ir.Usage()
        self.stop_reason: str | None = None
        self.stop_sequence: str | None = None
        self.saw_tool_call = False
        self.done = False

    def encode(self, event: ir.StreamEvent) -> bytes:
        if isinstance(event, ir.Start):
            self.usage = event.usage
            return self._start(event.id, event.model)
        out = b"" if self.started else self._start("", "")
        if isinstance(event, ir.TextDelta):
            if event.text:
                out += self._open("text", {"type": "text", "text": ""})
                out += self._delta({"type": "text_delta", "text": event.text})
        elif isinstance(event, ir.ThinkingDelta):
            if event.text:
                out += self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
                out += self._delta({"type": "thinking_delta", "thinking": event.text})
        elif isinstance(event, ir.SignatureDelta):
            out += self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            signature = wrap_signature(event.signature, event.origin)
            out += self._delta({"type": "signature_delta", "signature": signature})
            self.signed = True
        elif isinstance(event, ir.RedactedThinkingBlock):
            out += self._close()
            out += self._open("redacted", {"type": "redacted_thinking", "data": event.data})
            out += self._close()
        elif isinstance(event, ir.ToolCallStart):
            self.saw_tool_call = True
            if event.key == self.open_key or event.key in self.queued:
                pass  # a repeated header
            elif self.open == "tool_use" and (self.queued or not _whole(self.open_args)):
                self.queued[event.key] = [event.id, event.name, ""]
            else:
                out += self._open_call(event.key, event.id, event.name)
        elif isinstance(event, ir.ToolArgsDelta):
            if event.fragment and self.open == "tool_use" and self.open_key == event.key:
                out += self._args(event.fragment)
            elif event.fragment and event.key in self.queued:
                self.queued[event.key][2] += event.fragment
        elif isinstance(event, ir.BlockStop):
            out += self._close()
        elif isinstance(event, ir.UsageUpdate):
            self.usage = event.usage
        elif isinstance(event, ir.Finish):
            out += self._close()
            self.stop_reason = event.stop_reason
            self.stop_sequence = event.stop_sequence
        return out

    def finish(self) -> bytes:
        """Close the message: open block, message_delta with usage, message_stop."""
        if self.done:
            return b""
        out = b"" if self.started else self._start("", "")
        out += self._close()
        stop = self.stop_reason or ("tool_use" if self.saw_tool_call else "end_turn")
        delta = {"stop_reason": stop, "stop_sequence": self.stop_sequence}
        usage = usage_from_ir(self.usage)
        out += encode({"type": "message_delta", "delta": delta, "usage": usage}, "message_delta")
        out += encode({"type": "message_stop"}, "message_stop")
        self.done = True
        return out

    def fail(self, error: GatewayError) -> bytes:
        """Close the open block and report the error as an `event: error`."""
        if self.done:
            return b""
        self.done = True
        kind = KINDS.get(error.kind, KINDS["api_error"])
        body = {"type": "error", "error": {"type": kind.anthropic_type, "message": error.message}}
        return self._close() + encode(body, "error")

    def _start(self, message_id: str, model: str) -> bytes:
        if self.started:
            return b""
        self.started = True
        message = {
            "id": message_id if message_id.startswith("msg_") else new_message_id(),
            "type": "message",
            "role": "assistant",
            "model": self.ctx.client_model or model or self.ctx.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_from_ir(self.usage),
        }
        return encode({"type": "message_start", "message": message}, "message_start")

    def _open(self, kind: str, block: dict) -> bytes:
        if self.open == kind and kind != "tool_use":
            return b""
        out = self._close()
        self.index += 1
        self.open = kind
        self.signed = False
        data = {"type": "content_block_start", "index": self.index, "content_block": block}
        return out + encode(data, "content_block_start")

    def _open_call(self, key: object, call_id: str, name: str, arguments: str = "") -> bytes:
        out = self._close()
        block = {"type": "tool_use", "id": encode_id(call_id), "name": name, "input": {}}
        out += self._open("tool_use", block)
        self.open_key, self.open_args = key, ""
        return out + (self._args(arguments) if arguments else b"")

    def _args(self, fragment: str) -> bytes:
        """A fragment of the open call; once its arguments are whole, the next queued
        call takes the floor (its fragments so far at once, then live)."""
        out = self._delta({"type": "input_json_delta", "partial_json": fragment})
        self.open_args += fragment
        while self.queued and _whole(self.open_args):
            out += self._close_block() + self._open_next()
        return out

    def _open_next(self) -> bytes:
        """Open the first queued call with its fragments so far, keeping the others queued."""
        key = next(iter(self.queued))
        call_id, name, arguments = self.queued.pop(key)
        rest, self.queued = self.queued, {}  # opening must not send the others first
        out = self._open_call(key, call_id, name, arguments)
        self.queued = rest
        return out

    def _delta(self, delta: dict) -> bytes:
        data = {"type": "content_block_delta", "index": self.index, "delta": delta}
        return encode(data, "content_block_delta")

    def _close(self) -> bytes:
        """Close the open block, then send the calls still queued, each whole."""
        out = self._close_block()
        while self.queued:
            out += self._open_next() + self._close_block()
        return out

    def _close_block(self) -> bytes:
        if self.open is None:
            return b""
        out = b""
        if self.open == "thinking" and not self.signed and self.ctx.upstream != "anthropic":
            # Mark unsigned foreign thinking with its origin, so it is recognised
            # when Claude Code sends it back (and never reaches Anthropic).
            signature = wrap_signature(None, self.ctx.upstream)
            out = self._delta({"type": "signature_delta", "signature": signature})
        self.open = None
        self.open_key = None
        data = {"type": "content_block_stop", "index": self.index}
        return out + encode(data, "content_block_stop")


def _whole(arguments: str) -> bool:
    """True once a call's argument fragments form a whole JSON object (nothing valid
    can follow a closed object, so the call is complete)."""
    text = arguments.strip()
    if not text.endswith("}"):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
