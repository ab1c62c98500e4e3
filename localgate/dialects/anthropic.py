"""The Anthropic Messages wire: requests, errors, streams, usage."""

from __future__ import annotations

import json
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
from localgate.door import holds
from localgate.errors import KINDS, GatewayError

NAME = "anthropic"
MODEL_IN_BODY = True  # the model is a body field
STREAM_CONTENT_TYPE = "text/event-stream; charset=utf-8"


def inspect(op: str, body: Mapping, headers: Mapping[str, str]) -> Inspected:
    """Check the fields the gateway relies on; the rest is the upstream's business."""
    model = field(body, "model", str, required=True)
    check_field(body, "messages", list, required=True)
    if op == "messages":
        field(body, "max_tokens", int, required=True)
    stream = bool(field(body, "stream", bool))
    return Inspected(model, stream and op == "messages", session_key(body, headers))


# Thinking signed by another upstream, carried through Claude Code's history.
FOREIGN_SIGNATURE = b'"localgate:'


def outbound(body: Mapping, raw: bytes, account: str = "") -> dict:
    """The members a same-dialect relay must change before the body goes upstream
    (none: it goes as received).

    Thinking blocks that another dialect's upstream signed (after a fallback)
    would get a 400 "Invalid signature" from Anthropic: drop them. The byte
    check keeps the common case free of any walk over the body.
    """
    if not holds(body, raw, "messages", FOREIGN_SIGNATURE):
        return {}
    from localgate.translate import drop_foreign_thinking

    messages = body.get("messages")
    cleaned = drop_foreign_thinking(messages) if isinstance(messages, list) else messages
    return {} if cleaned is messages else {"messages": cleaned}


def session_key(body: Mapping, headers: Mapping[str, str]) -> str | None:
    """The conversation a request belongs to, for sticky routing.

    Claude Code sends `X-Claude-Code-Session-Id`; other clients may put a session
    in `metadata.user_id` (Claude Code's is a JSON string holding `session_id`).
    """
    session = headers.get("x-claude-code-session-id")
    if session:
        return session
    metadata = body.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if not isinstance(user_id, str) or not user_id:
        return None
    if user_id.startswith("{"):
        try:
            inner = jsonwire.loads(user_id)
        except ValueError:
            return user_id
        if isinstance(inner, dict) and isinstance(inner.get("session_id"), str):
            return inner["session_id"] or user_id
    return user_id


def rename_stream_model(events: bytes, model: str) -> bytes:
    """`events` with their `message_start` naming `model`."""
    return rename_in_events(events, b'"message_start"', lambda data: data["message"], model)


MODEL_FIELD = "model"  # where a whole answer names its model


# What a stream opens with before it says anything: held back until the first
# content so that an error event right after `message_start` can still fail over.
HEAD_EVENTS = frozenset({"message_start", "ping", "content_block_stop", "message_stop"})
# Stop reasons that are an answer of their own, even with no content before them.
ANSWERING_STOPS = frozenset({"max_tokens", "refusal", "pause_turn", "tool_use"})


def is_head(event: sse.Event) -> bool:
    """True for an event that carries nothing of the answer (may be held back)."""
    if event.event in HEAD_EVENTS:
        return True
    if event.event not in ("content_block_start", "message_delta"):
        return False
    try:
        data = event.json()
    except ValueError:
        return False
    if event.event == "message_delta":
        return (data.get("delta") or {}).get("stop_reason") not in ANSWERING_STOPS
    block = data.get("content_block") or {}
    return block.get("type") in ("text", "thinking") and not (
        block.get("text") or block.get("thinking")
    )


def is_empty_answer(body: dict) -> bool:
    """A whole answer with no content, no tool call and no refusal."""
    return not body.get("content") and body.get("stop_reason") not in ANSWERING_STOPS


def stream_failure(event: sse.Event) -> int | None:
    """The HTTP status an in-stream `event: error` stands for; None for other events."""
    if event.event != "error":
        return None
    try:
        kind = (event.json().get("error") or {}).get("type")
    except (ValueError, AttributeError):
        kind = None
    return ERROR_STATUSES.get(kind, 500)


# Anthropic's error types (an in-stream error carries no status of its own).
ERROR_STATUSES = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def hides_usage(body: Mapping) -> bool:
    """Streams of this dialect always carry their usage: nothing to hide."""
    return False


def error_payload(err: GatewayError, request_id: str | None = None) -> dict:
    payload = {
        "type": "error",
        "error": {"type": KINDS[err.kind].anthropic_type, "message": err.message},
    }
    if request_id:
        payload["request_id"] = request_id
    return payload


def error_body(err: GatewayError, request_id: str | None = None) -> bytes:
    return json.dumps(error_payload(err, request_id)).encode()


def stream_error(err: GatewayError, tap=None) -> bytes:
    """The event that ends a stream which failed after bytes reached the client."""
    return sse.encode(error_payload(err), event="error")


def response_usage(body: dict) -> Usage:
    return read_usage(body.get("usage"))


def read_usage(usage) -> Usage:
    if not isinstance(usage, dict):
        return Usage()
    return Usage(
        as_int(usage.get("input_tokens")),
        as_int(usage.get("output_tokens")),
        as_int(usage.get("cache_read_input_tokens")),
        as_int(usage.get("cache_creation_input_tokens")),
    )


def is_terminal(event: sse.Event) -> bool:
    """True for the event that ends a complete stream (or an upstream error event)."""
    return event.event in ("message_stop", "error")


def usage_tap() -> UsageTap:
    """A tap that reads usage from a passing Anthropic stream."""
    return UsageTap(_read_event, is_terminal)


def _read_event(event: sse.Event, tap: UsageTap) -> None:
    if event.event not in ("message_start", "message_delta", "error"):
        return
    try:
        data = event.json()
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    if event.event == "message_start":
        tap.usage = read_usage((data.get("message") or {}).get("usage"))
    elif event.event == "message_delta":
        delta = data.get("usage") or {}
        # message_delta carries cumulative output tokens (and lately input figures too).
        tap.usage.output_tokens = as_int(delta.get("output_tokens"))
        for key, attr in (
            ("input_tokens", "input_tokens"),
            ("cache_read_input_tokens", "cache_read_tokens"),
            ("cache_creation_input_tokens", "cache_creation_tokens"),
        ):
            if delta.get(key) is not None:
                setattr(tap.usage, attr, as_int(delta[key]))
    else:
        tap.error = str((data.get("error") or {}).get("message") or "error event")


def models_list(ids: list[str]) -> dict:
    """GET /v1/models in Anthropic's shape."""
    data = [
        {"type": "model", "id": i, "display_name": i, "created_at": "1970-01-01T00:00:00Z"}
        for i in ids
    ]
    return {
        "data": data,
        "has_more": False,
        "first_id": ids[0] if ids else None,
        "last_id": ids[-1] if ids else None,
    }
