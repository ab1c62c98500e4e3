"""The OpenAI Responses wire of the fake api.openai.com: bodies, events, checks.

Like the real API it binds reasoning `encrypted_content` to the organisation
that made it: a blob this fake did not mint (another fake's, or one localgate
tagged and forgot to untag) is answered 400 `invalid_encrypted_content`.
"""

from __future__ import annotations

import hashlib
import json
import time

from .base import Call, Error, Reply, dumps, random_id, split_text

ITEM_TYPES_SEEN = (
    "message",
    "reasoning",
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "compaction",
    "compaction_trigger",
)


def blob(org: str, text: str) -> str:
    """The opaque encrypted_content this organisation mints for reasoning `text`."""
    digest = hashlib.sha256(f"{org}\0{text}".encode()).hexdigest()[:24]
    return f"gAAAAB{org}.{digest}"


def refusal(org: str, body) -> Error | None:
    """The 400 the real API answers for input this organisation cannot accept."""
    items = body.get("input") if isinstance(body, dict) else None
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        content = item.get("encrypted_content")
        if item.get("type") in ("reasoning", "compaction") and content is not None:
            if not (isinstance(content, str) and content.startswith(f"gAAAAB{org}.")):
                return Error(
                    400,
                    f"The encrypted content for item {item.get('id')} could not be verified. "
                    "Reason: Encrypted content could not be decrypted or parsed.",
                    code="invalid_encrypted_content",
                )
        if item.get("type") not in ITEM_TYPES_SEEN and "role" not in item:
            return Error(400, f"Invalid value: '{item.get('type')}'.", code="invalid_value")
    return None


def _hex(n: int) -> str:
    return random_id(n).lower()


class ResponsesRender:
    """Renders a Reply as a Responses answer for the fake organisation `org`."""

    def __init__(self, org: str, default_text: str) -> None:
        self.org = org
        self.default_text = default_text

    def items(self, reply: Reply, call: Call) -> list[dict]:
        body = call.request.json if isinstance(call.request.json, dict) else {}
        include = body.get("include") or []
        if any(
            isinstance(i, dict) and i.get("type") == "compaction_trigger"
            for i in body.get("input") or []
        ):
            return [
                {
                    "type": "compaction",
                    "id": "cmp_" + _hex(40),
                    "encrypted_content": blob(self.org, "compacted"),
                }
            ]
        out: list[dict] = []
        if reply.thinking is not None:
            item = {
                "id": "rs_" + _hex(40),
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": reply.thinking}],
            }
            if "reasoning.encrypted_content" in include:
                item["encrypted_content"] = blob(self.org, reply.thinking)
            out.append(item)
        text = self.default_text if reply.text is None else reply.text
        if text:
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            out.append(
                {
                    "id": "msg_" + _hex(40),
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [part],
                }
            )
        for mime, data in reply.media:
            out.append(
                {
                    "id": "ig_" + _hex(40),
                    "type": "image_generation_call",
                    "status": "completed",
                    "output_format": mime.split("/")[-1],
                    "result": data,
                }
            )
        for tool in reply.tool_calls:
            out.append(
                {
                    "id": "fc_" + _hex(40),
                    "type": "function_call",
                    "status": "completed",
                    "arguments": json.dumps(tool.input),
                    "call_id": tool.id or "call_" + random_id(24),
                    "name": tool.name,
                }
            )
        return out

    def response(
        self, reply: Reply, call: Call, items: list[dict], status: str, rid: str | None = None
    ) -> dict:
        usage = reply.usage
        prompt = usage.input + usage.cache_read + usage.cache_creation
        incomplete = {"reason": "max_output_tokens"} if reply.stop == "max_output_tokens" else None
        return {
            "id": rid or "resp_" + _hex(48),
            "object": "response",
            "created_at": int(time.time()),
            "status": "incomplete" if incomplete and status != "in_progress" else status,
            "error": None,
            "incomplete_details": incomplete if status != "in_progress" else None,
            "instructions": None,
            "model": call.model,
            "output": items,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": None
            if status == "in_progress"
            else {
                "input_tokens": prompt,
                "input_tokens_details": {"cached_tokens": usage.cache_read},
                "output_tokens": usage.output,
                "output_tokens_details": {"reasoning_tokens": usage.reasoning},
                "total_tokens": prompt + usage.output,
            },
        }

    def body(self, reply: Reply, call: Call) -> bytes:
        return dumps(self.response(reply, call, self.items(reply, call), "completed"), indent=2)

    def events(self, reply: Reply, call: Call) -> list[bytes]:
        seq = iter(range(10**6))
        out: list[bytes] = []

        def event(kind: str, **fields) -> None:
            data = {"type": kind, "sequence_number": next(seq), **fields}
            out.append(b"event: " + kind.encode() + b"\ndata: " + dumps(data) + b"\n\n")

        items = self.items(reply, call)
        rid = "resp_" + _hex(48)
        head = self.response(reply, call, [], "in_progress", rid)
        event("response.created", response=head)
        event("response.in_progress", response=head)
        for index, item in enumerate(items):
            ids = {"item_id": item["id"], "output_index": index}
            kind = item["type"]
            if kind == "reasoning":
                event(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "summary": [], "encrypted_content": None},
                )
                text = item["summary"][0]["text"]
                event(
                    "response.reasoning_summary_part.added",
                    **ids,
                    summary_index=0,
                    part={"type": "summary_text", "text": ""},
                )
                for piece in split_text(text, reply.chunks):
                    event(
                        "response.reasoning_summary_text.delta", **ids, summary_index=0, delta=piece
                    )
                event("response.reasoning_summary_text.done", **ids, summary_index=0, text=text)
                event(
                    "response.reasoning_summary_part.done",
                    **ids,
                    summary_index=0,
                    part=item["summary"][0],
                )
            elif kind == "message":
                text = item["content"][0]["text"]
                event(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "status": "in_progress", "content": []},
                )
                empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                event("response.content_part.added", **ids, content_index=0, part=empty)
                for piece in split_text(text, reply.chunks):
                    event(
                        "response.output_text.delta",
                        **ids,
                        content_index=0,
                        delta=piece,
                        logprobs=[],
                    )
                event("response.output_text.done", **ids, content_index=0, text=text, logprobs=[])
                event("response.content_part.done", **ids, content_index=0, part=item["content"][0])
            elif kind == "function_call":
                event(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "status": "in_progress", "arguments": ""},
                )
                for piece in split_text(item["arguments"], max(2, reply.chunks)):
                    event("response.function_call_arguments.delta", **ids, delta=piece)
                event("response.function_call_arguments.done", **ids, arguments=item["arguments"])
            elif kind == "image_generation_call":
                event(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "status": "in_progress", "result": None},
                )
                for step in ("in_progress", "generating", "completed"):
                    event(f"response.image_generation_call.{step}", **ids)
            else:
                event("response.output_item.added", output_index=index, item=item)
            event("response.output_item.done", output_index=index, item=item)
        final = self.response(reply, call, items, "completed", rid)
        event(f"response.{final['status']}", response=final)
        return out

    def stream_error(self, message: str, code: str) -> bytes:
        """An `error` event, as the API sends when a stream fails mid-way."""
        data = {
            "type": "error",
            "sequence_number": 3,
            "code": code,
            "message": message,
            "param": None,
        }
        return b"event: error\ndata: " + dumps(data) + b"\n\n"
