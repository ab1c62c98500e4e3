"""The OpenAI Chat Completions wire: requests, errors, streams, usage."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from localgate import jsonwire, sse
from localgate.dialects.common import (
    Inspected,
    UsageTap,
    check_field,
    field,
    rename_in_events,
)
from localgate.dialects.usage import Usage, as_int
from localgate.errors import KINDS, GatewayError

NAME = "openai"
MODEL_IN_BODY = True  # the model is a body field
MODEL_FIELD = "model"  # where a whole answer names its model
STREAM_CONTENT_TYPE = "text/event-stream; charset=utf-8"


def inspect(op: str, body: Mapping, headers: Mapping[str, str]) -> Inspected:
    model = field(body, "model", str, required=True)
    check_field(body, "messages", list, required=True)
    stream = bool(field(body, "stream", bool))
    session = body.get("prompt_cache_key") or body.get("user")
    return Inspected(model, stream, session if isinstance(session, str) and session else None)


def outbound(body: Mapping, raw: bytes, account: str = "") -> dict:
    """The members a same-dialect relay must change before the body goes upstream
    (none: it goes as received).

    A stream is asked for its usage chunk, or its tokens could not be counted
    (most clients don't ask); the relay keeps that chunk from a client that did
    not ask (`hides_usage`). Translated requests to OpenAI upstreams ask too.
    """
    if not hides_usage(body):
        return {}
    options = body.get("stream_options")
    options = options if isinstance(options, dict) else {}
    return {"stream_options": {**options, "include_usage": True}}


def hides_usage(body: Mapping) -> bool:
    """True for a stream whose client did not ask for the usage chunk."""
    if body.get("stream") is not True:
        return False
    options = body.get("stream_options")
    return not (isinstance(options, dict) and options.get("include_usage") is True)


_EVENT = re.compile(rb".*?(?:\r?\n\r?\n|\Z)", re.DOTALL)


def drop_usage_chunks(events: bytes) -> bytes:
    """`events` (whole SSE events) without the usage-only chunk (`choices: []`)."""
    if b'"usage"' not in events:
        return events
    # Events with their blank-line ending (LF or CRLF framing), so what stays is
    # written back byte for byte.
    kept = []
    for event in _EVENT.findall(events):
        data = event.partition(b"data:")[2].strip()
        if data.startswith(b"{") and b'"usage"' in data:
            try:
                chunk = jsonwire.loads(data)
            except ValueError:
                chunk = None
            if isinstance(chunk, dict) and chunk.get("choices") == [] and chunk.get("usage"):
                continue
        kept.append(event)
    return b"".join(kept)


def rename_stream_model(events: bytes, model: str) -> bytes:
    """`events` with every chunk naming `model` (each chunk carries the name)."""
    return rename_in_events(events, b'"model"', lambda data: data, model)


# Finish reasons that are an answer of their own, even with no content before them.
ANSWERING_FINISHES = frozenset({"length", "tool_calls", "function_call", "content_filter"})


def is_head(event: sse.Event) -> bool:
    """True for a chunk that carries nothing of the answer: the role chunk, an
    empty delta, a plain `stop`, the usage chunk, `[DONE]` (may be held back)."""
    if event.data == "[DONE]" or not event.data:
        return True
    try:
        chunk = jsonwire.loads(event.data)
    except ValueError:
        return False
    if not isinstance(chunk, dict) or "error" in chunk:
        return False
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        if any(delta.get(k) for k in ("content", "reasoning_content", "reasoning", "refusal")):
            return False
        if delta.get("tool_calls") or delta.get("function_call"):
            return False
        if choice.get("finish_reason") in ANSWERING_FINISHES:
            return False
    return True


def is_empty_answer(body: dict) -> bool:
    """A whole completion with no content, no tool call and no refusal."""
    for choice in body.get("choices") or []:
        message = choice.get("message") or {}
        if any(message.get(k) for k in ("content", "tool_calls", "function_call", "refusal")):
            return False
        if choice.get("finish_reason") in ANSWERING_FINISHES:
            return False
    return True


def stream_failure(event: sse.Event) -> int | None:
    """The HTTP status of an in-stream `data: {"error": …}` chunk; None for others."""
    if '"error"' not in event.data:
        return None
    try:
        chunk = jsonwire.loads(event.data)
    except ValueError:
        return None
    if not isinstance(chunk, dict) or "error" not in chunk or chunk.get("choices"):
        return None
    error = chunk["error"] if isinstance(chunk["error"], dict) else {}
    for status in (error.get("code"), error.get("status")):
        if isinstance(status, int) and 400 <= status < 600:
            return status
    return 429 if "rate_limit" in str(error.get("type") or error.get("code")) else 500


def error_payload(err: GatewayError) -> dict:
    kind = KINDS[err.kind]
    return {
        "error": {
            "message": err.message,
            "type": kind.openai_type,
            "param": err.param,
            "code": kind.openai_code,
        }
    }


def error_body(err: GatewayError, request_id: str | None = None) -> bytes:
    return json.dumps(error_payload(err)).encode()


def stream_error(err: GatewayError, tap=None) -> bytes:
    """A mid-stream error chunk: the OpenAI SDK raises on `data: {"error": ...}`."""
    return sse.encode(error_payload(err))


def response_usage(body: dict) -> Usage:
    return read_usage(body.get("usage"))


def read_usage(usage) -> Usage:
    """OpenAI's prompt_tokens include cached ones; split them the Anthropic way.

    Images, audio and realtime answers name them input_tokens/output_tokens
    (with `input_tokens_details`/`input_token_details`); read those too.
    """
    if not isinstance(usage, dict):
        return Usage()
    if "prompt_tokens" in usage or "input_tokens" not in usage:
        prompt, output = usage.get("prompt_tokens"), usage.get("completion_tokens")
        details = usage.get("prompt_tokens_details")
    else:
        prompt, output = usage.get("input_tokens"), usage.get("output_tokens")
        details = usage.get("input_tokens_details") or usage.get("input_token_details")
    cached = as_int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    return Usage(max(as_int(prompt) - cached, 0), as_int(output), cached, 0)


def is_terminal(event: sse.Event) -> bool:
    """True once the answer is whole: `[DONE]`, a finish chunk, or an error chunk.

    Some OpenAI-compatible servers close the stream after the finish chunk (or
    its usage chunk) without `[DONE]`; their answer is complete all the same.
    """
    data = event.data
    return (
        data == "[DONE]"
        or data.startswith('{"error"')
        or '"finish_reason":"' in data
        or '"finish_reason": "' in data
    )


def usage_tap() -> UsageTap:
    """A tap that reads usage from a passing OpenAI stream (the usage chunk)."""
    return UsageTap(read_event, is_terminal)


def read_event(event: sse.Event, tap: UsageTap) -> None:
    """Update `tap` from one event of an OpenAI stream: its usage chunk, an error chunk."""
    data = event.data
    # Only the usage chunk and error chunks are worth parsing.
    if '"usage":{' not in data and '"usage": {' not in data and '"error"' not in data:
        return
    try:
        parsed = jsonwire.loads(data)
    except ValueError:
        return
    if not isinstance(parsed, dict):
        return
    if isinstance(parsed.get("usage"), dict):
        tap.usage = read_usage(parsed["usage"])
    if isinstance(parsed.get("error"), dict):
        tap.error = str(parsed["error"].get("message") or "error chunk")


def models_list(ids: list[str]) -> dict:
    """GET /v1/models in OpenAI's shape."""
    return {
        "object": "list",
        "data": [{"id": i, "object": "model", "created": 0, "owned_by": "localgate"} for i in ids],
    }
