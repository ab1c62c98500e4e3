"""OpenAI Responses ⇄ the internal form: the dialect's module for translate/__init__.

Requests are read in responses_input.py and written for an OpenAI upstream in
responses_upstream.py; whole answers are read and written here (a written
answer is built by the stream encoder, responses_stream.py, so a whole answer
and a streamed one hold the same items).
"""

from __future__ import annotations

import json
import time

from localgate.ids import new_id
from localgate.translate import ir, seal
from localgate.translate.responses_input import qualified, request_to_ir
from localgate.translate.responses_upstream import request_from_ir

__all__ = [
    "request_from_ir",
    "request_to_ir",
    "response_from_ir",
    "response_to_ir",
    "error_message",
]


def usage_to_ir(usage) -> ir.Usage:
    usage = usage if isinstance(usage, dict) else {}
    cached = (usage.get("input_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (usage.get("output_tokens_details") or {}).get("reasoning_tokens") or 0
    return ir.Usage(
        input_tokens=max((usage.get("input_tokens") or 0) - cached, 0),
        output_tokens=usage.get("output_tokens") or 0,
        cache_read_tokens=cached,
        reasoning_tokens=reasoning,
    )


def usage_from_ir(usage: ir.Usage) -> dict:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_creation_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.prompt_tokens + usage.output_tokens,
    }


def response_to_ir(body: dict) -> ir.Response:
    """An OpenAI Responses upstream's answer as the internal form."""
    parts: list[ir.Part] = []
    refused = False
    for item in body.get("output") or []:
        kind = item.get("type")
        if kind == "reasoning":
            parts.append(thinking_of(item))
        elif kind == "message":
            for part in item.get("content") or []:
                if part.get("type") == "output_text" and part.get("text"):
                    parts.append(ir.Text(part["text"]))
                elif part.get("type") == "refusal":
                    refused = True
                    parts.append(ir.Text(part.get("refusal") or ""))
        elif kind in ("function_call", "custom_tool_call"):
            parts.append(call_of(item))
    stop = stop_reason(body, any(isinstance(p, ir.ToolCall) for p in parts))
    return ir.Response(
        id=body.get("id") or new_response_id(),
        model=body.get("model", ""),
        parts=parts,
        stop_reason="refusal" if refused else stop,
        usage=usage_to_ir(body.get("usage")),
    )


def thinking_of(item: dict) -> ir.Thinking:
    """A reasoning output item as thinking; its blob is signed by origin `responses`."""
    texts = [p.get("text", "") for p in item.get("summary") or [] if isinstance(p, dict)]
    blob = item.get("encrypted_content")
    signature = f"{item.get('id', '')}:{blob}" if isinstance(blob, str) and blob else None
    return ir.Thinking("\n\n".join(t for t in texts if t), signature, seal.RESPONSES)


def call_of(item: dict) -> ir.ToolCall:
    """A function or custom tool call output item as a tool call."""
    name = qualified(item.get("namespace"), item.get("name") or "")
    if item.get("type") == "custom_tool_call":
        return ir.ToolCall(
            item.get("call_id") or "", name, {ir.CUSTOM_INPUT: item.get("input") or ""}
        )
    try:
        args = json.loads(item.get("arguments") or "{}")
    except ValueError:
        args = {}
    return ir.ToolCall(item.get("call_id") or "", name, args if isinstance(args, dict) else {})


def stop_reason(body: dict, called: bool) -> ir.StopReason:
    """The stop reason of a finished Responses answer."""
    reason = (body.get("incomplete_details") or {}).get("reason")
    if body.get("status") == "incomplete" or reason:
        return "refusal" if reason == "content_filter" else "max_tokens"
    return "tool_use" if called else "end_turn"


def response_from_ir(resp: ir.Response, ctx: ir.Context) -> dict:
    """The Response object a client receives (or a compaction, for /responses/compact).

    Built by the stream encoder from the answer's parts, so a whole answer and a
    streamed one hold the same items.
    """
    from localgate.translate.responses_stream import StreamEncoder, events_of

    encoder = StreamEncoder(ctx)
    encoder.encode(ir.Start(resp.id, resp.model, resp.usage))
    for key, part in enumerate(resp.parts):
        for event in events_of(part, key):
            encoder.encode(event)
    encoder.encode(ir.Finish(resp.stop_reason))
    encoder.finish()
    return encoder.answer


def new_response_id() -> str:
    return new_id("resp_")


def created_at() -> int:
    return int(time.time())


def error_message(body) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error.get("message")
    if isinstance(error, str):
        return error
    response = body.get("response") if isinstance(body, dict) else None
    if isinstance(response, dict):
        return error_message(response)
    return body.get("message") if isinstance(body, dict) else None
