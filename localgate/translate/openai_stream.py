"""OpenAI Chat Completions streams ⇄ internal stream events.

The encoder writes what the SDK expects: a role chunk first, tool-call
fragments whose first piece carries index, id, type and name, one chunk with
`finish_reason`, a usage chunk (`choices: []`) when the client asked for it,
then `data: [DONE]`.
"""

from __future__ import annotations

import time

from localgate.errors import KINDS, GatewayError
from localgate.sse import Event, encode
from localgate.translate import ir
from localgate.translate.names import new_tool_id
from localgate.translate.openai import (
    FINISH_FROM_IR,
    FINISH_TO_IR,
    new_completion_id,
    usage_from_ir,
    usage_to_ir,
)


class StreamDecoder:
    """OpenAI-compatible upstream chunks → internal events."""

    def __init__(self) -> None:
        self.started = False
        self.calls: dict[int, object] = {}  # upstream tool index → key of its call
        self.saw_tool_call = False

    def feed(self, event: Event) -> list[ir.StreamEvent]:
        if not event.data or event.data.strip() == "[DONE]":
            return []
        chunk = event.json()
        if not isinstance(chunk, dict):
            return []
        if "error" in chunk and not chunk.get("choices"):
            error = (
                chunk["error"] if isinstance(chunk["error"], dict) else {"message": chunk["error"]}
            )
            status = error.get("code") if isinstance(error.get("code"), int) else 500
            return [ir.UpstreamFailure(status, error.get("message") or "upstream error")]
        out: list[ir.StreamEvent] = []
        if not self.started:
            self.started = True
            out.append(ir.Start(chunk.get("id") or "", chunk.get("model") or "", ir.Usage()))
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            out += self._delta(choice.get("delta") or {})
            finish = choice.get("finish_reason")
            if finish:
                stop = FINISH_TO_IR.get(finish, "end_turn")
                if stop == "end_turn" and self.saw_tool_call:
                    stop = "tool_use"
                out.append(ir.Finish(stop))
        if chunk.get("usage"):
            out.append(ir.UsageUpdate(usage_to_ir(chunk["usage"])))
        return out

    def _delta(self, delta: dict) -> list[ir.StreamEvent]:
        out: list[ir.StreamEvent] = []
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            out.append(ir.ThinkingDelta(reasoning))
        if delta.get("content"):
            out.append(ir.TextDelta(delta["content"]))
        for position, call in enumerate(delta.get("tool_calls") or []):
            index = call.get("index", position)
            function = call.get("function") or {}
            known = self.calls.get(index)
            # A new id at a known index is a new call (servers that send calls whole).
            if known is None or (call.get("id") and call["id"] != known[1]):
                key = (index, len(self.calls), call.get("id"))
                self.calls[index] = (key, call.get("id"))
                self.saw_tool_call = True
                out.append(
                    ir.ToolCallStart(key, call.get("id") or new_tool_id(), function.get("name", ""))
                )
            if function.get("arguments"):
                out.append(ir.ToolArgsDelta(self.calls[index][0], function["arguments"]))
        return out


class StreamEncoder:
    """Internal events → the SSE bytes an OpenAI client reads."""

    def __init__(self, ctx: ir.Context) -> None:
        self.ctx = ctx
        self.id = new_completion_id()
        self.model = ctx.client_model or ctx.model
        self.created = int(time.time())
        self.started = False
        self.tool_index: dict[object, int] = {}  # call key → client tool index
        self.finish_reason: str | None = None
        self.usage = ir.Usage()
        self.done = False

    def encode(self, event: ir.StreamEvent) -> bytes:
        if isinstance(event, ir.Start):
            if event.id.startswith("chatcmpl"):
                self.id = event.id
            self.model = self.ctx.client_model or event.model or self.model
            self.usage = event.usage
            return self._start()
        out = self._start()
        if isinstance(event, ir.TextDelta) and event.text:
            out += self._chunk({"content": event.text})
        elif isinstance(event, ir.ThinkingDelta) and event.text:
            out += self._chunk({"reasoning_content": event.text})
        elif isinstance(event, ir.ToolCallStart):
            index = self.tool_index.setdefault(event.key, len(self.tool_index))
            call = {
                "index": index,
                "id": event.id,
                "type": "function",
                "function": {"name": event.name, "arguments": ""},
            }
            out += self._chunk({"tool_calls": [call]})
        elif isinstance(event, ir.ToolArgsDelta) and event.fragment:
            if event.key in self.tool_index:
                call = {
                    "index": self.tool_index[event.key],
                    "function": {"arguments": event.fragment},
                }
                out += self._chunk({"tool_calls": [call]})
        elif isinstance(event, ir.UsageUpdate):
            self.usage = event.usage
        elif isinstance(event, ir.Finish):
            out += self._finish_chunk(event.stop_reason)
        return out

    def finish(self) -> bytes:
        """The finish chunk if not sent, the usage chunk if asked, `[DONE]`."""
        if self.done:
            return b""
        out = self._start() + self._finish_chunk(None)
        if self.ctx.include_usage:
            out += encode(self._envelope([], usage_from_ir(self.usage)))
        self.done = True
        return out + encode("[DONE]")

    def fail(self, error: GatewayError) -> bytes:
        """An error object in the stream; the SDK raises on it."""
        if self.done:
            return b""
        self.done = True
        kind = KINDS.get(error.kind, KINDS["api_error"])
        body = {
            "message": error.message,
            "type": kind.openai_type,
            "param": error.param,
            "code": kind.openai_code,
        }
        return encode({"error": body})

    def _start(self) -> bytes:
        if self.started:
            return b""
        self.started = True
        return self._chunk({"role": "assistant", "content": ""})

    def _finish_chunk(self, stop_reason) -> bytes:
        if self.finish_reason is not None:
            return b""
        if stop_reason is None:
            stop_reason = "tool_use" if self.tool_index else "end_turn"
        self.finish_reason = FINISH_FROM_IR.get(stop_reason, "stop")
        return self._chunk({}, self.finish_reason)

    def _chunk(self, delta: dict, finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return encode(self._envelope([choice]))

    def _envelope(self, choices: list, usage: dict | None = None) -> dict:
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if usage is not None:
            chunk["usage"] = usage
        return chunk
