"""Gemini streamGenerateContent (alt=sse) ⇄ internal stream events.

Gemini sends whole GenerateContentResponse objects: text and thoughts in
pieces, function calls whole, `finishReason` and cumulative `usageMetadata`
on the last chunk, and no terminator.
"""

from __future__ import annotations

import json

from localgate.errors import KINDS, GatewayError
from localgate.sse import Event, encode
from localgate.translate import ir
from localgate.translate.gemini import (
    FINISH_FROM_IR,
    media_note,
    stop_to_ir,
    usage_from_ir,
    usage_to_ir,
)
from localgate.translate.gemini_parts import carried
from localgate.translate.names import new_tool_id


class StreamDecoder:
    """Gemini upstream chunks → internal events."""

    def __init__(self) -> None:
        self.started = False
        self.open: str | None = None  # "text" | "thinking" | None
        self.calls = 0
        self.finished = False

    def feed(self, event: Event) -> list[ir.StreamEvent]:
        if not event.data:
            return []
        chunk = event.json()
        if isinstance(chunk, list):  # a JSON-array framing of one chunk
            chunk = chunk[0] if chunk else {}
        if "error" in chunk:
            error = chunk["error"] or {}
            status = error.get("code") if isinstance(error.get("code"), int) else 500
            return [ir.UpstreamFailure(status, error.get("message") or "upstream error")]
        out: list[ir.StreamEvent] = []
        if not self.started:
            self.started = True
            out.append(
                ir.Start(chunk.get("responseId", ""), chunk.get("modelVersion", ""), ir.Usage())
            )
        candidates = chunk.get("candidates") or []
        finish = None
        if candidates:
            for part in (candidates[0].get("content") or {}).get("parts") or []:
                out += self._part(part)
            finish = candidates[0].get("finishReason")
        elif (chunk.get("promptFeedback") or {}).get("blockReason"):
            finish = "SAFETY"
        if chunk.get("usageMetadata"):
            out.append(ir.UsageUpdate(usage_to_ir(chunk["usageMetadata"])))
        if finish and not self.finished:
            self.finished = True
            out.append(ir.Finish(stop_to_ir(finish, self.calls > 0)))
        return out

    def _part(self, part: dict) -> list[ir.StreamEvent]:
        note = media_note(part)
        if note:  # a media part: its note, as text
            part = {**part, "text": note}
        out: list[ir.StreamEvent] = []
        signature = part.get("thoughtSignature")
        if part.get("thought"):
            if self.open not in (None, "thinking"):
                out.append(self._stop())
            self.open = "thinking"
            if part.get("text"):
                out.append(ir.ThinkingDelta(part["text"]))
            if signature:  # signed thought: the block ends here
                out += [ir.SignatureDelta(signature, "gemini"), self._stop()]
            return out
        if signature:
            # The signature belongs to this part: an empty thinking block carries it
            # just before, so it can be put back on this part later.
            if self.open:
                out.append(self._stop())
            out += [ir.SignatureDelta(signature, "gemini"), self._stop()]
        if "text" in part:
            if self.open == "thinking":
                out.append(self._stop())
            self.open = "text"
            if part["text"]:
                out.append(ir.TextDelta(part["text"]))
        elif "functionCall" in part:
            if self.open:
                out.append(self._stop())
            call = part["functionCall"]
            key = self.calls
            self.calls += 1
            out.append(ir.ToolCallStart(key, call.get("id") or new_tool_id(), call.get("name", "")))
            out.append(
                ir.ToolArgsDelta(key, json.dumps(call.get("args") or {}, ensure_ascii=False))
            )
            out.append(ir.BlockStop())
        return out

    def _stop(self) -> ir.BlockStop:
        self.open = None
        return ir.BlockStop()


class StreamEncoder:
    """Internal events → the SSE bytes a Gemini client reads.

    Function calls are sent whole, as Gemini does: each call's argument
    fragments are collected by key (parallel calls may interleave them) until
    the calls' block ends; text is never held back.
    """

    def __init__(self, ctx: ir.Context) -> None:
        self.ctx = ctx
        self.id = ""
        self.model = ctx.client_model or ctx.model
        self.usage = ir.Usage()
        self.calls: dict[object, list[str]] = {}  # key → [id, name, arguments] being assembled
        self.stop_reason: str | None = None
        self.done = False
        self.thought: list[str] = []  # the open thinking block's text
        self.carry: str | None = None  # Claude's thinking, for the next call (`carried`)

    def encode(self, event: ir.StreamEvent) -> bytes:
        if isinstance(event, ir.Start):
            self.id = event.id
            self.model = self.ctx.client_model or event.model or self.model
            self.usage = event.usage
            return b""
        if isinstance(event, ir.TextDelta) and event.text:
            return self._flush_calls() + self._chunk([{"text": event.text}])
        if isinstance(event, ir.ThinkingDelta) and event.text:
            self.thought.append(event.text)
            return self._flush_calls() + self._chunk([{"text": event.text, "thought": True}])
        if isinstance(event, ir.SignatureDelta):
            thinking = ir.Thinking("".join(self.thought), event.signature, event.origin)
            self.carry, self.thought = carried(thinking) or self.carry, []
            return b""
        if isinstance(event, ir.ToolCallStart):
            self.calls.setdefault(event.key, [event.id, event.name, ""])
            return b""
        if isinstance(event, ir.ToolArgsDelta) and event.key in self.calls:
            self.calls[event.key][2] += event.fragment
            return b""
        if isinstance(event, ir.BlockStop):
            return self._flush_calls()
        if isinstance(event, ir.UsageUpdate):
            self.usage = event.usage
            return b""
        if isinstance(event, ir.Finish):
            self.stop_reason = event.stop_reason
            return self._flush_calls()
        return b""

    def finish(self) -> bytes:
        """The last chunk, with finishReason and usage."""
        if self.done:
            return b""
        self.done = True
        out = self._flush_calls()
        reason = FINISH_FROM_IR.get(self.stop_reason or "", "STOP")
        return out + self._chunk([], finish_reason=reason)

    def fail(self, error: GatewayError) -> bytes:
        """A Google error object in the stream."""
        if self.done:
            return b""
        self.done = True
        status = KINDS.get(error.kind, KINDS["api_error"]).google_status
        return encode({"error": {"code": error.status, "message": error.message, "status": status}})

    def _flush_calls(self) -> bytes:
        if not self.calls:
            return b""
        parts = []
        for call_id, name, arguments in self.calls.values():
            try:
                args = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                args = {}
            parts.append({"functionCall": {"id": call_id, "name": name, "args": args}})
        if self.carry:
            parts[0]["thoughtSignature"], self.carry = self.carry, None
        self.calls.clear()
        return self._chunk(parts)

    def _chunk(self, parts: list[dict], finish_reason: str | None = None) -> bytes:
        candidate: dict = {"content": {"role": "model", "parts": parts}, "index": 0}
        chunk: dict = {"candidates": [candidate], "modelVersion": self.model}
        if finish_reason:
            candidate["finishReason"] = finish_reason
            chunk["usageMetadata"] = usage_from_ir(self.usage)
        if self.id:
            chunk["responseId"] = self.id
        return encode(chunk)
