"""Helpers shared by the translation tests: fixtures, and stream validators.

The validators state the sequence rules each SDK relies on, and return what a
client would assemble (text, thinking, tool calls), so tests compare content.
"""

from __future__ import annotations

import json
from pathlib import Path

from localgate.sse import Event, SSEParser

FIXTURES = Path(__file__).parent / "fixtures"


def load_json(name: str):
    return json.loads((FIXTURES / name).read_text())


def load_events(name: str) -> list[Event]:
    parser = SSEParser()
    return parser.feed((FIXTURES / name).read_bytes()) + parser.flush()


def run_stream(stream, events: list[Event]) -> bytes:
    return b"".join(stream.feed(e) for e in events) + stream.finish()


def parse(data: bytes) -> list[Event]:
    parser = SSEParser()
    events = parser.feed(data)
    assert not parser.pending, "stream ends mid-event"
    return events


def check_anthropic(data: bytes, *, complete: bool = True) -> dict:
    """Assert an Anthropic stream is valid; return the assembled message."""
    events = parse(data)
    assert events and events[0].event == "message_start", "message_start must come first"
    message = events[0].json()["message"]
    assert message["content"] == []
    blocks: list[dict] = []
    open_index = None
    names = [e.event for e in events]
    assert names.count("message_start") == 1
    for event in events[1:]:
        payload = event.json()
        assert payload["type"] == event.event
        kind = event.event
        if kind == "content_block_start":
            assert open_index is None, "blocks must not interleave"
            assert payload["index"] == len(blocks), "block indices must be sequential"
            open_index = payload["index"]
            block = dict(payload["content_block"])
            block["_json"] = ""
            blocks.append(block)
        elif kind == "content_block_delta":
            assert payload["index"] == open_index, "delta outside its open block"
            block, delta = blocks[open_index], payload["delta"]
            kind_of = {
                "text_delta": ("text", "text"),
                "thinking_delta": ("thinking", "thinking"),
                "signature_delta": ("thinking", "signature"),
                "input_json_delta": ("tool_use", "partial_json"),
            }[delta["type"]]
            assert block["type"] == kind_of[0], f"{delta['type']} inside a {block['type']} block"
            if delta["type"] == "input_json_delta":
                block["_json"] += delta["partial_json"]
            else:
                block[kind_of[1]] += delta[kind_of[1]]
        elif kind == "content_block_stop":
            assert payload["index"] == open_index
            open_index = None
        elif kind == "message_delta":
            assert open_index is None, "message_delta while a block is open"
            message["stop_reason"] = payload["delta"]["stop_reason"]
            message["usage"].update(payload["usage"])
        elif kind == "error":
            assert not complete, "unexpected error event"
            assert event is events[-1], "error must end the stream"
            message["error"] = payload["error"]
    for block in blocks:
        if block["type"] == "tool_use" and complete:
            block["input"] = json.loads(block["_json"]) if block["_json"] else {}
        if block["type"] == "text":
            assert block["text"], "empty text block"
        del block["_json"]
    if complete:
        assert names[-2:] == ["message_delta", "message_stop"], names[-3:]
        assert names.count("message_delta") == 1
    message["content"] = blocks
    return message


def check_openai(data: bytes, *, usage: bool, complete: bool = True) -> dict:
    """Assert an OpenAI stream is valid; return the assembled message."""
    events = parse(data)
    assert all(e.event is None for e in events), "OpenAI streams carry no event names"
    if complete:
        assert events[-1].data == "[DONE]"
        events = events[:-1]
    chunks = [e.json() for e in events]
    assert chunks[0]["choices"][0]["delta"].get("role") == "assistant", "role chunk first"
    text, reasoning, calls, finishes, usages = "", "", {}, [], []
    for chunk in chunks:
        if "error" in chunk:
            assert not complete and chunk is chunks[-1]
            continue
        assert chunk["object"] == "chat.completion.chunk"
        if not chunk["choices"]:
            usages.append(chunk["usage"])
            continue
        assert not finishes, "content after the finish chunk"
        choice = chunk["choices"][0]
        delta = choice["delta"]
        text += delta.get("content") or ""
        reasoning += delta.get("reasoning_content") or ""
        for fragment in delta.get("tool_calls") or []:
            index = fragment["index"]
            if index not in calls:
                assert fragment["id"] and fragment["function"]["name"], "first fragment: id+name"
                assert fragment["type"] == "function"
                calls[index] = {
                    "id": fragment["id"],
                    "name": fragment["function"]["name"],
                    "arguments": "",
                }
            calls[index]["arguments"] += fragment["function"].get("arguments") or ""
        if choice.get("finish_reason"):
            finishes.append(choice["finish_reason"])
    if complete:
        assert len(finishes) == 1, finishes
        assert len(usages) == (1 if usage else 0)
    assert sorted(calls) == list(range(len(calls))), "tool indices are 0..n-1"
    return {
        "text": text,
        "reasoning": reasoning,
        "tool_calls": [calls[i] for i in sorted(calls)],
        "finish_reason": finishes[0] if finishes else None,
        "usage": usages[0] if usages else None,
    }
