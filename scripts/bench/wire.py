"""What the benchmark sends and what the fake upstream answers, as bytes.

Stream events carry a token `[seq@sent_ns]` in their text: the sequence number
proves each event arrives exactly once and in order, and the upstream's send
time (CLOCK_MONOTONIC, shared by all processes on Linux) gives each event's
one-way delay through whatever sits in between, translation included.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

CHAT, MESSAGES, RESPONSES, EMBEDDINGS = (
    "/v1/chat/completions",
    "/v1/messages",
    "/v1/responses",
    "/v1/embeddings",
)
# The model names the gateways route: fixed answers (nginx) vs streams (the Python fake).
MODELS = {
    "openai": ("gpt-bench", "gpt-stream"),
    "anthropic": ("claude-bench", "claude-stream"),
    "responses": ("gpt-resp-bench", "gpt-resp-stream"),  # an OpenAI account on the Responses API
    "embeddings": ("embed-bench", None),
}
TOKEN_RE = re.compile(rb"\[(\d+)@(\d+)\]")
STREAM_EVENTS = 64
STREAM_GAP = 0.020
LARGE_PAD = 40_000  # a Claude-Code-sized request (other wires than the captures)
TEXT = "Hello! This is a fixed answer from the benchmark fake upstream."


FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "translate" / "fixtures"
CAPTURES = {  # wire: (capture, its first request body)
    "anthropic": ("claude-code-2.1.197-messages-request.json", lambda c: c["body"]),
    "responses": ("codex-0.171.0-responses-requests.json", lambda c: c["requests"][0]["body"]),
}


def dumps(data: dict) -> bytes:
    """JSON as the clients write it: compact, UTF-8 (JavaScript's JSON.stringify, the
    Python SDKs' `ensure_ascii=False, separators=(",", ":")`)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def prompt(size: str) -> str:
    if size == "small":
        return "Say hello in one short sentence."
    # Varied words so nothing upstream could shortcut on repetition.
    return " ".join(f"word{i % 997}" for i in range(LARGE_PAD // 8))[:LARGE_PAD]


def request(wire: str, size: str, model: str, stream: bool = False) -> bytes:
    """A request body in `wire`'s dialect: Claude Code's and Codex's real requests when
    large (tests/translate/fixtures), else one user message of `prompt(size)`."""
    if size == "large" and wire in CAPTURES:
        name, pick = CAPTURES[wire]
        body = pick(json.loads((FIXTURES / name).read_text()))
        body |= {"model": model, "stream": stream}
        return dumps(body)
    text = prompt(size)
    if wire == "embeddings":
        return dumps({"model": model, "input": [text]})
    if wire == "responses":
        body = {"model": model, "input": [{"type": "message", "role": "user", "content": text}]}
        # `store` left out, as the SDKs send it: the answer is kept for a later turn
        # (the large body, Codex's, says store: false).
        body |= {"max_output_tokens": 64}
    else:
        body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}]}
    if stream:
        body["stream"] = True
        if wire == "openai":
            body["stream_options"] = {"include_usage": True}
    return dumps(body)


USAGE = {"input_tokens": 12, "output_tokens": 14, "total_tokens": 26}
ANSWERS = {  # what nginx answers, per path
    CHAT: dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1735689600,
            "model": MODELS["openai"][0],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": TEXT, "refusal": None},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 14, "total_tokens": 26},
        }
    ),
    MESSAGES: dumps(
        {
            "id": "msg_bench",
            "type": "message",
            "role": "assistant",
            "model": MODELS["anthropic"][0],
            "content": [{"type": "text", "text": TEXT}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 14},
        }
    ),
    RESPONSES: dumps(
        {
            "id": "resp_bench",
            "object": "response",
            "created_at": 1735689600,
            "status": "completed",
            "model": MODELS["responses"][0],
            "output": [
                {
                    "id": "msg_bench",
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": TEXT, "annotations": []}],
                }
            ],
            "usage": USAGE,
        }
    ),
    EMBEDDINGS: dumps(
        {
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.01] * 64}],
            "model": MODELS["embeddings"][0],
            "usage": {"prompt_tokens": 12, "total_tokens": 12},
        }
    ),
}


def _openai_event(i: int, total: int, token: str) -> bytes:
    """Content chunks, a finish chunk with usage, then [DONE]."""
    if i == total - 1:
        return b"data: [DONE]\n\n"
    chunk = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1735689600}
    chunk["model"] = MODELS["openai"][1]
    if i == total - 2:
        chunk["choices"] = [{"index": 0, "delta": {}, "finish_reason": "stop"}]
        chunk["usage"] = {"prompt_tokens": 12, "completion_tokens": total, "total_tokens": total}
    else:
        delta = {"role": "assistant", "content": token} if i == 0 else {"content": token}
        chunk["choices"] = [{"index": 0, "delta": delta, "finish_reason": None}]
    return b"data: " + dumps(chunk) + b"\n\n"


def _anthropic_event(i: int, total: int, token: str) -> dict:
    """message_start, a text block of deltas, message_delta and message_stop."""
    if i == 0:
        message = {"id": "msg_bench", "type": "message", "role": "assistant", "content": []}
        message |= {"model": MODELS["anthropic"][1], "stop_reason": None, "stop_sequence": None}
        message["usage"] = {"input_tokens": 12, "output_tokens": 1}
        return {"type": "message_start", "message": message}
    if i == 1:
        block = {"type": "text", "text": ""}
        return {"type": "content_block_start", "index": 0, "content_block": block}
    if i == total - 3:
        return {"type": "content_block_stop", "index": 0}
    if i == total - 2:
        delta = {"stop_reason": "end_turn", "stop_sequence": None}
        return {"type": "message_delta", "delta": delta, "usage": {"output_tokens": total}}
    if i == total - 1:
        return {"type": "message_stop"}
    delta = {"type": "text_delta", "text": token}
    return {"type": "content_block_delta", "index": 0, "delta": delta}


def _responses_event(i: int, total: int, token: str) -> dict:
    """created, a message item with one text part of deltas, its done events, completed."""
    item = {"id": "msg_bench", "type": "message", "role": "assistant"}
    ids = {"item_id": "msg_bench", "output_index": 0, "content_index": 0}
    head = {"id": "resp_bench", "object": "response", "model": MODELS["responses"][1]}
    if i == 0:
        created = {**head, "status": "in_progress", "output": []}
        data = {"type": "response.created", "response": created}
    elif i == 1:
        added = {**item, "status": "in_progress", "content": []}
        data = {"type": "response.output_item.added", "output_index": 0, "item": added}
    elif i == 2:
        part = {"type": "output_text", "text": "", "annotations": []}
        data = {"type": "response.content_part.added", **ids, "part": part}
    elif i == total - 3:
        data = {"type": "response.output_text.done", **ids, "text": ""}
    elif i == total - 2:
        done = {**item, "status": "completed", "content": []}
        data = {"type": "response.output_item.done", "output_index": 0, "item": done}
    elif i == total - 1:
        usage = {**USAGE, "output_tokens": total}
        data = {"type": "response.completed", "response": {**head, "status": "completed"}}
        data["response"] |= {"output": [], "usage": usage}
    else:
        data = {"type": "response.output_text.delta", **ids, "delta": token}
    return data | {"sequence_number": i}


def stream_event(wire: str, i: int, total: int, sent_ns: int) -> bytes:
    """Event `i` of `total` of a stream in `wire`'s dialect, stamped with `sent_ns`."""
    token = f"[{i}@{sent_ns}]"
    if wire == "openai":
        return _openai_event(i, total, token)
    data = (_anthropic_event if wire == "anthropic" else _responses_event)(i, total, token)
    return b"event: " + data["type"].encode() + b"\ndata: " + dumps(data) + b"\n\n"


def token_seqs(total: int, wire: str) -> list[int]:
    """The sequence numbers whose events carry a token, as the upstream sends them."""
    first, last = {"openai": (0, total - 2), "anthropic": (2, total - 3)}.get(wire, (3, total - 3))
    return list(range(first, last))


# How a client knows its stream ended, and (Responses) which events deliver text as it
# arrives: a Responses stream repeats an item's whole text in its `done` events.
TERMINAL = {
    "openai": b"data: [DONE]",
    "anthropic": b"event: message_stop",
    "responses": b"event: response.completed",
}
DELTA_ONLY = {"responses": b'"response.output_text.delta"'}
