"""What the benchmark sends and what the fake upstream answers, as bytes.

Stream events carry a token `[seq@sent_ns]` in their text: the sequence number
proves each event arrives exactly once and in order, and the upstream's send
time (CLOCK_MONOTONIC, shared by all processes on Linux) gives each event's
one-way delay through whatever sits in between, translation included.
"""

from __future__ import annotations

import json
import re

SMALL = "small"  # ~200 B request
LARGE = "large"  # ~40 KB request
SIZES = (SMALL, LARGE)
LARGE_PAD = 40_000

# The models the bench config routes: fixed bodies (nginx) vs streams (the Python fake).
OPENAI_MODEL = "gpt-bench"
ANTHROPIC_MODEL = "claude-bench"
OPENAI_STREAM_MODEL = "gpt-stream"
ANTHROPIC_STREAM_MODEL = "claude-stream"
RESPONSES_MODEL = "gpt-resp-bench"  # an OpenAI account speaking the Responses API
RESPONSES_STREAM_MODEL = "gpt-resp-stream"

TOKEN_RE = re.compile(rb"\[(\d+)@(\d+)\]")
STREAM_EVENTS = 64
STREAM_GAP = 0.020


def _text(size: str) -> str:
    if size == SMALL:
        return "Say hello in one short sentence."
    # Varied words so nothing upstream could shortcut on repetition.
    words = " ".join(f"word{i % 997}" for i in range(LARGE_PAD // 8))
    return words[:LARGE_PAD]


def _dumps(data: dict) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def openai_request(size: str, *, model: str = OPENAI_MODEL, stream: bool = False) -> bytes:
    """A Chat Completions request body."""
    body: dict = {
        "model": model,
        "messages": [{"role": "user", "content": _text(size)}],
        "max_tokens": 64,
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return _dumps(body)


def anthropic_request(size: str, *, model: str = ANTHROPIC_MODEL, stream: bool = False) -> bytes:
    """A Messages request body (also what the translated scenario sends, with a gpt model)."""
    body: dict = {
        "model": model,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": _text(size)}],
    }
    if stream:
        body["stream"] = True
    return _dumps(body)


def responses_request(size: str, *, model: str = RESPONSES_MODEL, stream: bool = False) -> bytes:
    """A Responses request body (Codex's shape in brief: one user message item)."""
    body: dict = {
        "model": model,
        "input": [{"type": "message", "role": "user", "content": _text(size)}],
        "max_output_tokens": 64,
        "store": False,
    }
    if stream:
        body["stream"] = True
    return _dumps(body)


OPENAI_COMPLETION = _dumps(
    {
        "id": "chatcmpl-bench0000000000000000000000",
        "object": "chat.completion",
        "created": 1735689600,
        "model": OPENAI_MODEL,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello! This is a fixed answer from the benchmark fake upstream.",
                    "refusal": None,
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 14, "total_tokens": 26},
        "system_fingerprint": "fp_bench",
    }
)

ANTHROPIC_MESSAGE = _dumps(
    {
        "id": "msg_bench00000000000000000000",
        "type": "message",
        "role": "assistant",
        "model": ANTHROPIC_MODEL,
        "content": [
            {
                "type": "text",
                "text": "Hello! This is a fixed answer from the benchmark fake upstream.",
            }
        ],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 14},
    }
)


_RESPONSE_TEXT = "Hello! This is a fixed answer from the benchmark fake upstream."
_RESPONSE_USAGE = {"input_tokens": 12, "output_tokens": 14, "total_tokens": 26}
RESPONSES_ANSWER = _dumps(
    {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1735689600,
        "status": "completed",
        "model": RESPONSES_MODEL,
        "output": [
            {
                "id": "msg_bench",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": _RESPONSE_TEXT, "annotations": []}],
            }
        ],
        "usage": _RESPONSE_USAGE,
    }
)


def token(seq: int, sent_ns: int) -> str:
    return f"[{seq}@{sent_ns}]"


def openai_stream_event(index: int, total: int, sent_ns: int) -> bytes:
    """Event `index` of `total`: content chunks, a finish chunk with usage, then [DONE]."""
    if index == total - 1:
        return b"data: [DONE]\n\n"
    base = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1735689600,
        "model": OPENAI_STREAM_MODEL,
    }
    if index == total - 2:
        chunk = {
            **base,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": total, "total_tokens": total + 12},
        }
    else:
        delta = {"content": token(index, sent_ns)}
        if index == 0:
            delta["role"] = "assistant"
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    return b"data: " + _dumps(chunk) + b"\n\n"


def anthropic_stream_event(index: int, total: int, sent_ns: int) -> bytes:
    """Event `index` of `total`: message_start, a text block of deltas, message_delta/stop."""
    if index == 0:
        name, data = (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_bench",
                    "type": "message",
                    "role": "assistant",
                    "model": ANTHROPIC_STREAM_MODEL,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 12, "output_tokens": 1},
                },
            },
        )
    elif index == 1:
        name, data = (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
    elif index == total - 3:
        name, data = "content_block_stop", {"type": "content_block_stop", "index": 0}
    elif index == total - 2:
        name, data = (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": total},
            },
        )
    elif index == total - 1:
        name, data = "message_stop", {"type": "message_stop"}
    else:
        name, data = (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": token(index, sent_ns)},
            },
        )
    return b"event: " + name.encode() + b"\ndata: " + _dumps(data) + b"\n\n"


def responses_stream_event(index: int, total: int, sent_ns: int) -> bytes:
    """Event `index` of `total`: created, a message item with one text part of deltas,
    its done events, completed."""
    item = {"id": "msg_bench", "type": "message", "role": "assistant"}
    ids = {"item_id": "msg_bench", "output_index": 0, "content_index": 0}
    head = {"id": "resp_bench", "object": "response", "model": RESPONSES_STREAM_MODEL}
    if index == 0:
        data = {"type": "response.created", "response": {**head, "status": "in_progress", "output": []}}
    elif index == 1:
        data = {"type": "response.output_item.added", "output_index": 0,
                "item": {**item, "status": "in_progress", "content": []}}
    elif index == 2:
        data = {"type": "response.content_part.added", **ids,
                "part": {"type": "output_text", "text": "", "annotations": []}}
    elif index == total - 3:
        data = {"type": "response.output_text.done", **ids, "text": ""}
    elif index == total - 2:
        data = {"type": "response.output_item.done", "output_index": 0,
                "item": {**item, "status": "completed", "content": []}}
    elif index == total - 1:
        usage = {**_RESPONSE_USAGE, "output_tokens": total}
        data = {"type": "response.completed",
                "response": {**head, "status": "completed", "output": [], "usage": usage}}
    else:
        data = {"type": "response.output_text.delta", **ids, "delta": token(index, sent_ns)}
    data["sequence_number"] = index
    return b"event: " + data["type"].encode() + b"\ndata: " + _dumps(data) + b"\n\n"


def token_seqs(total: int, dialect: str) -> list[int]:
    """The sequence numbers whose events carry a token, as the upstream sends them."""
    if dialect == "openai":
        return list(range(0, total - 2))
    if dialect == "responses":
        return list(range(3, total - 3))
    return list(range(2, total - 3))
