"""OpenAI Responses streams ⇄ internal stream events.

The encoder writes the stream as OpenAI sends it and as the SDK's accumulator
and Codex read it (PROTOCOLS-MORE.md §1.5, §1.6, §1.9): `response.created`
first with `output: []`, every item `added` before its deltas and `done` after
them, output indices dense and in `added` order, `sequence_number` rising by
one, and a terminal `response.completed` (or `.incomplete`, `.failed`) whose
response holds every item whole. Tool calls stay open until the answer ends,
so fragments of parallel calls may interleave; text and reasoning items close
when anything else begins.
"""

from __future__ import annotations

import json

from localgate.errors import KINDS, GatewayError
from localgate.ids import new_id
from localgate.sse import Event, encode
from localgate.translate import ir, seal
from localgate.translate.responses import (
    call_of,
    created_at,
    new_response_id,
    stop_reason,
    thinking_of,
    usage_from_ir,
    usage_to_ir,
)
from localgate.translate.responses_input import split_name

ITEM_PREFIX = {
    "message": "msg_",
    "reasoning": "rs_",
    "function_call": "fc_",
    "custom_tool_call": "ctc_",
    "compaction": "cmp_",
}
# OpenAI's error codes in response.failed, by the status an error carries.
FAILED_CODES = {429: "rate_limit_exceeded", 400: "invalid_prompt", 404: "invalid_prompt"}


def events_of(part: ir.Part, key: int) -> list[ir.StreamEvent]:
    """A whole answer's part as the stream events that would have carried it."""
    if isinstance(part, ir.Text):
        return [ir.TextDelta(part.text), ir.BlockStop()]
    if isinstance(part, ir.Thinking):
        events: list[ir.StreamEvent] = [ir.ThinkingDelta(part.text)]
        if part.signature:
            events.append(ir.SignatureDelta(part.signature, part.origin or "unknown"))
        elif not part.text:
            return []
        return [*events, ir.BlockStop()]
    if isinstance(part, ir.RedactedThinking):
        return [ir.RedactedThinkingBlock(part.data)]
    if isinstance(part, ir.ToolCall):
        args = json.dumps(part.arguments, ensure_ascii=False)
        return [ir.ToolCallStart(key, part.id, part.name), ir.ToolArgsDelta(key, args)]
    return []


class _Item:
    """One output item while it is being written."""

    __slots__ = ("index", "kind", "body", "text", "open", "summary_open")

    def __init__(self, index: int, kind: str, body: dict) -> None:
        self.index = index
        self.kind = kind
        self.body = body  # the item as `output_item.added` showed it, completed at `done`
        self.text: list[str] = []  # message text, reasoning summary, or call arguments
        self.open = True
        self.summary_open = False  # reasoning: a summary part was added


class StreamEncoder:
    """Internal events → the SSE bytes a Responses client reads."""

    def __init__(self, ctx: ir.Context) -> None:
        self.ctx = ctx
        self.id = new_response_id()
        self.model = ctx.client_model or ctx.model
        self.created = created_at()
        self.seq = 0
        self.items: list[_Item] = []
        self.current: _Item | None = None  # the item the next delta of its kind extends
        self.calls: dict[object, _Item] = {}  # tool call key → its item
        self.usage = ir.Usage()
        self.stop_reason: str | None = None
        self.summary: list[str] = []  # compaction: the summary being written
        self.started = False
        self.done = False
        self.answer: dict | None = None  # the final response object, once complete

    # -- events in ------------------------------------------------------------

    def encode(self, event: ir.StreamEvent) -> bytes:
        if isinstance(event, ir.Start):
            if event.id.startswith("resp_"):
                self.id = event.id
            self.usage = event.usage
            return self._start()
        out = self._start()
        if isinstance(event, ir.UsageUpdate):
            self.usage = event.usage
        elif isinstance(event, ir.Finish):
            self.stop_reason = event.stop_reason
        elif self.ctx.compact:
            if isinstance(event, ir.TextDelta):
                self.summary.append(event.text)  # said once, whole, in the compaction item
        elif isinstance(event, ir.TextDelta) and event.text:
            item = self._current("message")
            if item is None:
                out += self._close_all()  # text after tool calls: the calls are whole
                item, opened = self._add_message()
                out += opened
            item.text.append(event.text)
            out += self._event(
                "response.output_text.delta",
                item_id=item.body["id"],
                output_index=item.index,
                content_index=0,
                delta=event.text,
                logprobs=[],
            )
        elif isinstance(event, ir.ThinkingDelta) and event.text:
            item, out = self._reasoning(out)
            if not item.summary_open:
                item.summary_open = True
                out += self._event(
                    "response.reasoning_summary_part.added",
                    item_id=item.body["id"],
                    output_index=item.index,
                    summary_index=0,
                    part={"type": "summary_text", "text": ""},
                )
            item.text.append(event.text)
            out += self._event(
                "response.reasoning_summary_text.delta",
                item_id=item.body["id"],
                output_index=item.index,
                summary_index=0,
                delta=event.text,
            )
        elif isinstance(event, ir.SignatureDelta):
            item, out = self._reasoning(out)
            item.body["encrypted_content"] = seal.wrap(event.origin, event.signature)
        elif isinstance(event, ir.RedactedThinkingBlock):
            out += self._close_all()
            item, opened = self._add("reasoning", {"summary": []})
            item.body["encrypted_content"] = seal.wrap(seal.REDACTED, event.data)
            out += opened + self._close(item)
        elif isinstance(event, ir.ToolCallStart):
            if self.current is not None and self.current.kind in ("message", "reasoning"):
                out += self._close_current()  # calls stay open: their fragments may interleave
            out += self._add_call(event)
        elif isinstance(event, ir.ToolArgsDelta) and event.fragment:
            item = self.calls.get(event.key)
            if item is not None and item.open:
                item.text.append(event.fragment)
                if item.kind == "function_call":
                    out += self._event(
                        "response.function_call_arguments.delta",
                        item_id=item.body["id"],
                        output_index=item.index,
                        delta=event.fragment,
                    )
        elif isinstance(event, ir.BlockStop):
            out += self._close_current()
        return out

    def finish(self) -> bytes:
        """Close every item, then `response.completed` (or `.incomplete`)."""
        if self.done:
            return b""
        out = self._start()
        if self.ctx.compact:
            item, opened = self._add("compaction", {})
            item.body["encrypted_content"] = seal.seal_compaction(
                "".join(self.summary), self.ctx.seal_key
            )
            out += opened + self._close(item)
        out += self._close_all()
        self.done = True
        if self.stop_reason in ("max_tokens", "refusal") and not self.ctx.compact:
            reason = "max_output_tokens" if self.stop_reason == "max_tokens" else "content_filter"
            response = self._response("incomplete", incomplete={"reason": reason})
            out += self._event("response.incomplete", response=response)
        else:
            response = self._response("completed")
            out += self._event("response.completed", response=response)
        self.answer = (
            self._compaction_answer(response) if self.ctx.compact == "endpoint" else response
        )
        return out

    def fail(self, error: GatewayError) -> bytes:
        """`response.failed` with the error; Codex retries most of them."""
        if self.done:
            return b""
        out = self._start()
        self.done = True
        kind = KINDS.get(error.kind, KINDS["api_error"])
        code = FAILED_CODES.get(error.status) or kind.openai_code or "server_error"
        response = self._response("failed", error={"code": code, "message": error.message})
        return out + self._event("response.failed", response=response)

    # -- items ------------------------------------------------------------------

    def _current(self, kind: str) -> _Item | None:
        item = self.current
        return item if item is not None and item.open and item.kind == kind else None

    def _reasoning(self, out: bytes) -> tuple[_Item, bytes]:
        item = self._current("reasoning")
        if item is None:
            out += self._close_all()
            item, opened = self._add("reasoning", {"summary": []})
            out += opened
        return item, out

    def _add(self, kind: str, fields: dict) -> tuple[_Item, bytes]:
        body = {"id": new_id(ITEM_PREFIX[kind]), "type": kind, **fields}
        item = _Item(len(self.items), kind, body)
        self.items.append(item)
        self.current = item
        added = self._event("response.output_item.added", output_index=item.index, item=body)
        return item, added

    def _add_message(self) -> tuple[_Item, bytes]:
        fields = {"status": "in_progress", "role": "assistant", "content": []}
        item, out = self._add("message", fields)
        out += self._event(
            "response.content_part.added",
            item_id=item.body["id"],
            output_index=item.index,
            content_index=0,
            part={"type": "output_text", "text": "", "annotations": [], "logprobs": []},
        )
        return item, out

    def _add_call(self, event: ir.ToolCallStart) -> bytes:
        namespace, name = split_name(event.name, self.ctx)
        tool = self.ctx.tools.get(event.name)
        kind = "custom_tool_call" if tool is not None and tool.kind == "custom" else "function_call"
        fields: dict = {"status": "in_progress", "call_id": event.id, "name": name}
        fields["input" if kind == "custom_tool_call" else "arguments"] = ""
        if namespace:
            fields["namespace"] = namespace
        item, out = self._add(kind, fields)
        self.calls[event.key] = item
        return out

    def _close_current(self) -> bytes:
        item = self.current
        return self._close(item) if item is not None else b""

    def _close_all(self) -> bytes:
        return b"".join(self._close(item) for item in self.items if item.open)

    def _close(self, item: _Item) -> bytes:
        """The `done` events of an open item, after those of every item opened before it:
        items end in the order they began, as OpenAI's do and as Codex records them."""
        if not item.open:
            return b""
        earlier = b"".join(self._close(i) for i in self.items[: item.index] if i.open)
        return earlier + self._done(item)

    def _done(self, item: _Item) -> bytes:
        item.open = False
        if self.current is item:
            self.current = None
        ids = {"item_id": item.body["id"], "output_index": item.index}
        text = "".join(item.text)
        out = b""
        body = item.body
        if item.kind == "message":
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            out += self._event(
                "response.output_text.done", **ids, content_index=0, text=text, logprobs=[]
            )
            out += self._event("response.content_part.done", **ids, content_index=0, part=part)
            body.update(status="completed", content=[part])
        elif item.kind == "reasoning":
            if item.summary_open:
                summary = {"type": "summary_text", "text": text}
                out += self._event(
                    "response.reasoning_summary_text.done", **ids, summary_index=0, text=text
                )
                out += self._event(
                    "response.reasoning_summary_part.done", **ids, summary_index=0, part=summary
                )
                body["summary"] = [summary]
        elif item.kind == "function_call":
            arguments = text or "{}"
            out += self._event(
                "response.function_call_arguments.done",
                **ids,
                name=body["name"],
                arguments=arguments,
            )
            body.update(status="completed", arguments=arguments)
        elif item.kind == "custom_tool_call":
            value = _custom_input(text)
            out += self._event("response.custom_tool_call_input.delta", **ids, delta=value)
            out += self._event("response.custom_tool_call_input.done", **ids, input=value)
            body.update(status="completed", input=value)
        return out + self._event("response.output_item.done", output_index=item.index, item=body)

    # -- the response -------------------------------------------------------------

    def _start(self) -> bytes:
        if self.started:
            return b""
        self.started = True
        response = self._response("in_progress")
        return self._event("response.created", response=response) + self._event(
            "response.in_progress", response=response
        )

    def _response(self, status: str, *, error=None, incomplete=None) -> dict:
        finished = status != "in_progress"
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": error,
            "incomplete_details": incomplete,
            "model": self.model,
            "output": [i.body for i in self.items if not i.open] if finished else [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "text": {"format": {"type": "text"}},
            "store": False,
            "usage": usage_from_ir(self.usage) if finished else None,
        }

    def _compaction_answer(self, response: dict) -> dict:
        return {
            "id": self.id,
            "object": "response.compaction",
            "created_at": self.created,
            "output": response["output"],
            "usage": response["usage"],
        }

    def _event(self, kind: str, **fields) -> bytes:
        data = {"type": kind, "sequence_number": self.seq, **fields}
        self.seq += 1
        return encode(data, kind)


def _custom_input(arguments: str) -> str:
    """A custom tool's string from the arguments of the function that stood for it."""
    try:
        parsed = json.loads(arguments) if arguments else {}
    except ValueError:
        return arguments
    if isinstance(parsed, dict) and isinstance(parsed.get(ir.CUSTOM_INPUT), str):
        return parsed[ir.CUSTOM_INPUT]
    return arguments


class StreamDecoder:
    """An OpenAI Responses upstream's events → internal events."""

    def __init__(self) -> None:
        self.started = False
        self.streamed: set[str] = set()  # items whose content arrived as deltas
        self.summary_index: dict[str, int] = {}  # reasoning item → its last summary index
        self.called = False
        self.refused = False

    def feed(self, event: Event) -> list[ir.StreamEvent]:
        if not event.data:
            return []
        data = event.json()
        if not isinstance(data, dict):
            return []
        kind = data.get("type") or event.event
        out: list[ir.StreamEvent] = []
        if not self.started and kind not in ("error", "response.failed"):
            self.started = True
            response = data.get("response") if isinstance(data.get("response"), dict) else {}
            out.append(ir.Start(response.get("id", ""), response.get("model", ""), ir.Usage()))
        item_id = data.get("item_id")
        if kind == "response.output_item.added":
            item = data.get("item") or {}
            if item.get("type") in ("function_call", "custom_tool_call"):
                self.called = True
                call = call_of(item)
                out.append(ir.ToolCallStart(item.get("id") or call.id, call.id, call.name))
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            index = data.get("summary_index", 0)
            delta = data.get("delta") or ""
            if item_id in self.summary_index and self.summary_index[item_id] != index:
                delta = "\n\n" + delta  # a new summary part
            self.summary_index[item_id] = index
            self.streamed.add(item_id)
            out.append(ir.ThinkingDelta(delta))
        elif kind in ("response.output_text.delta", "response.refusal.delta"):
            self.refused |= kind == "response.refusal.delta"
            self.streamed.add(item_id)
            out.append(ir.TextDelta(data.get("delta") or ""))
        elif kind == "response.function_call_arguments.delta":
            self.streamed.add(item_id)
            out.append(ir.ToolArgsDelta(item_id, data.get("delta") or ""))
        elif kind == "response.output_item.done":
            out += self._item_done(data.get("item") or {})
        elif kind in ("response.completed", "response.incomplete"):
            response = data.get("response") or {}
            stop = "refusal" if self.refused else stop_reason(response, self.called)
            out += [ir.UsageUpdate(usage_to_ir(response.get("usage"))), ir.Finish(stop)]
        elif kind in ("response.failed", "error"):
            error = (data.get("response") or {}).get("error") or data.get("error") or data
            out.append(_failure(error if isinstance(error, dict) else {"message": str(error)}))
        return out

    def _item_done(self, item: dict) -> list[ir.StreamEvent]:
        kind, item_id = item.get("type"), item.get("id")
        out: list[ir.StreamEvent] = []
        if kind == "reasoning":
            thinking = thinking_of(item)
            if thinking.text and item_id not in self.streamed:
                out.append(ir.ThinkingDelta(thinking.text))
            if thinking.signature:
                out.append(ir.SignatureDelta(thinking.signature, seal.RESPONSES))
        elif kind == "message" and item_id not in self.streamed:
            for part in item.get("content") or []:
                text = part.get("text") or part.get("refusal")
                if text:
                    out.append(ir.TextDelta(text))
        elif kind == "function_call" and item_id not in self.streamed:
            out.append(ir.ToolArgsDelta(item_id, item.get("arguments") or "{}"))
        elif kind == "custom_tool_call":
            value = json.dumps({ir.CUSTOM_INPUT: item.get("input") or ""}, ensure_ascii=False)
            out.append(ir.ToolArgsDelta(item_id, value))
        else:
            return []  # hosted tool items (web search…) carry nothing to translate
        return [*out, ir.BlockStop()]


def _failure(error: dict) -> ir.UpstreamFailure:
    code = error.get("code")
    status = {
        "rate_limit_exceeded": 429,
        "insufficient_quota": 429,
        "server_error": 500,
        "context_length_exceeded": 400,
        "invalid_prompt": 400,
    }.get(code, 500)
    return ir.UpstreamFailure(status, str(error.get("message") or code or "upstream error"))
