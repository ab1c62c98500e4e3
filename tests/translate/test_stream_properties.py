"""Property tests: any valid upstream stream translates to a valid client stream
carrying exactly the same text, thinking and tool-call arguments."""

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from localgate.sse import Event
from localgate.translate import translator

from .streams import check_anthropic, check_openai, run_stream

texts = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4)
arguments = st.dictionaries(
    st.text(min_size=1, max_size=5), st.one_of(st.integers(), st.text(max_size=6)), max_size=3
)
names = st.sampled_from(["Bash", "Read", "mcp__srv__do.it", "get_weather"])


@st.composite
def segments(draw):
    """What a model says, as segments in any order: text, thinking, tool calls."""
    kinds = draw(st.lists(st.sampled_from(["text", "thinking", "tool"]), min_size=0, max_size=6))
    out = []
    for kind in kinds:
        if kind == "tool":
            args = json.dumps(draw(arguments))
            cuts = sorted(draw(st.lists(st.integers(0, len(args)), max_size=3)))
            pieces = [args[a:b] for a, b in zip([0, *cuts], [*cuts, len(args)], strict=True)]
            out.append(("tool", draw(names), pieces))
        else:
            out.append((kind, draw(texts)))
    return out


def expected(segs):
    """(text, thinking, [(name, arguments)]) a client should end up with."""
    text = "".join("".join(s[1]) for s in segs if s[0] == "text")
    thinking = "".join("".join(s[1]) for s in segs if s[0] == "thinking")
    calls = [(s[1], json.loads("".join(s[2]))) for s in segs if s[0] == "tool"]
    return text, thinking, calls


def openai_events(
    segs, *, finish_with_content: bool, usage: bool, shuffle: random.Random | None = None
) -> list[Event]:
    """The segments as an OpenAI-compatible stream. With `shuffle`, the chunks of a
    run of parallel calls arrive interleaved in a random order (each call's header
    before its own fragments), as some servers send them."""
    chunks = [{"role": "assistant", "content": ""}]
    index = 0
    run: list[list[dict]] = []  # the chunks of each call in the current run of calls
    for seg in [*segs, ("end",)]:
        if seg[0] != "tool" and run:
            chunks += _interleave(run, shuffle)
            run = []
        if seg[0] == "text":
            chunks += [{"content": piece} for piece in seg[1]]
        elif seg[0] == "thinking":
            chunks += [{"reasoning_content": piece} for piece in seg[1]]
        elif seg[0] == "tool":
            first = {"index": index, "id": f"functions.{seg[1]}:{index}", "type": "function"}
            first["function"] = {"name": seg[1], "arguments": seg[2][0]}
            rest = [
                {"tool_calls": [{"index": index, "function": {"arguments": p}}]} for p in seg[2][1:]
            ]
            run.append([{"tool_calls": [first]}, *rest])
            index += 1
    finish = "tool_calls" if index else "stop"
    bodies = [{"id": "c1", "model": "m", "choices": [{"index": 0, "delta": d}]} for d in chunks]
    if finish_with_content and len(bodies) > 1:
        bodies[-1]["choices"][0]["finish_reason"] = finish
    else:
        bodies.append(
            {
                "id": "c1",
                "model": "m",
                "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
            }
        )
    if usage:
        bodies.append(
            {
                "id": "c1",
                "model": "m",
                "choices": [],
                "usage": {"prompt_tokens": 9, "completion_tokens": 4},
            }
        )
    return [Event(None, json.dumps(b)) for b in bodies] + [Event(None, "[DONE]")]


def _interleave(calls: list[list[dict]], shuffle: random.Random | None) -> list[dict]:
    if shuffle is None:
        return [chunk for call in calls for chunk in call]
    # Headers come in index order; any started call's fragments may come next.
    pending = [list(call) for call in calls]
    out, started = [], 0
    while any(pending):
        choices = [c for c in pending[:started] if c]
        if started < len(pending):
            choices.append(pending[started])
        pick = shuffle.choice(choices)
        if pick is pending[started] if started < len(pending) else False:
            started += 1
        out.append(pick.pop(0))
    return out


def anthropic_events(segs, *, pings: bool) -> list[Event]:
    def event(data):
        return Event(data["type"], json.dumps(data))

    out = [
        event(
            {
                "type": "message_start",
                "message": {"id": "msg_1", "model": "c", "usage": {"input_tokens": 5}},
            }
        )
    ]
    for index, seg in enumerate(segs):
        if seg[0] == "text":
            block, deltas = (
                {"type": "text", "text": ""},
                [{"type": "text_delta", "text": p} for p in seg[1]],
            )
        elif seg[0] == "thinking":
            block = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": p} for p in seg[1]]
            deltas.append({"type": "signature_delta", "signature": "sig"})
        else:
            block = {"type": "tool_use", "id": f"toolu_{index}", "name": seg[1], "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in seg[2]]
        out.append(event({"type": "content_block_start", "index": index, "content_block": block}))
        out += [event({"type": "content_block_delta", "index": index, "delta": d}) for d in deltas]
        if pings:
            out.append(Event("ping", '{"type": "ping"}'))
        out.append(event({"type": "content_block_stop", "index": index}))
    stop = "tool_use" if any(s[0] == "tool" for s in segs) else "end_turn"
    out.append(
        event(
            {"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 7}}
        )
    )
    out.append(event({"type": "message_stop"}))
    return out


def assembled_anthropic(message):
    text = "".join(b["text"] for b in message["content"] if b["type"] == "text")
    thinking = "".join(b["thinking"] for b in message["content"] if b["type"] == "thinking")
    calls = [(b["name"], b["input"]) for b in message["content"] if b["type"] == "tool_use"]
    return text, thinking, calls


@settings(max_examples=150, deadline=None)
@given(segments(), st.booleans(), st.booleans(), st.one_of(st.none(), st.randoms()), st.booleans())
def test_openai_upstream_to_anthropic_client(segs, finish_with_content, usage, shuffle, thinks):
    t = translator("anthropic", "openai")
    tools = [
        {"name": n, "input_schema": {"type": "object"}} for n in ("Bash", "Read", "mcp__srv__do.it")
    ]
    body = {
        "model": "x",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "go"}],
        "tools": tools,
    }
    if thinks:  # thinking blocks reach only clients that asked for them
        body["thinking"] = {"type": "adaptive"}
    upstream = t.request(body, model="gpt-4o", stream=True)
    sent = [tool["function"]["name"] for tool in upstream["tools"]]
    assert sent == ["Bash", "Read", _safe("mcp__srv__do.it")]
    # The upstream answers with the names it was given; the client must see its own.
    segs = [(s[0], _safe(s[1]), *s[2:]) if s[0] == "tool" else s for s in segs]
    events = openai_events(
        segs, finish_with_content=finish_with_content, usage=usage, shuffle=shuffle
    )
    message = check_anthropic(run_stream(t.stream(), events))
    text, thinking, calls = expected(segs)
    thinking = thinking if thinks else ""
    assert assembled_anthropic(message) == (text, thinking, [(_client(n), a) for n, a in calls])
    assert message["stop_reason"] == ("tool_use" if calls else "end_turn")


def _safe(name):
    from localgate.translate.names import safe_name

    return safe_name(name)


def _client(name):
    return "mcp__srv__do.it" if name == _safe("mcp__srv__do.it") else name


@settings(max_examples=150, deadline=None)
@given(segments(), st.booleans(), st.booleans())
def test_anthropic_upstream_to_openai_client(segs, pings, include_usage):
    t = translator("openai", "anthropic")
    body = {"model": "x", "messages": [{"role": "user", "content": "go"}]}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    t.request(body, model="claude-x", stream=True)
    out = check_openai(
        run_stream(t.stream(), anthropic_events(segs, pings=pings)), usage=include_usage
    )
    text, thinking, calls = expected(segs)
    assert out["text"] == text and out["reasoning"] == thinking
    assert [(c["name"], json.loads(c["arguments"] or "{}")) for c in out["tool_calls"]] == calls
    assert out["finish_reason"] == ("tool_calls" if calls else "stop")


@settings(max_examples=100, deadline=None)
@given(segments())
def test_anthropic_client_sees_message_start_before_any_content(segs):
    t = translator("anthropic", "openai")
    t.request(
        {"model": "x", "max_tokens": 5, "messages": [{"role": "user", "content": "go"}]},
        model="m",
        stream=True,
    )
    stream = t.stream()
    events = openai_events(segs, finish_with_content=False, usage=True)
    assert stream.feed(events[0]).startswith(b"event: message_start")


def gemini_events(segs, *, signatures: bool) -> list[Event]:
    chunks = []
    for seg in segs:
        if seg[0] == "tool":
            call = {"functionCall": {"name": seg[1], "args": json.loads("".join(seg[2]))}}
            if signatures:
                call["thoughtSignature"] = "c2ln"
            chunks.append([call])
        else:
            thought = {"thought": True} if seg[0] == "thinking" else {}
            chunks += [[{"text": piece, **thought}] for piece in seg[1]]
    bodies = [
        {"candidates": [{"content": {"role": "model", "parts": p}, "index": 0}]} for p in chunks
    ]
    last = {
        "candidates": [
            {"content": {"role": "model", "parts": []}, "finishReason": "STOP", "index": 0}
        ]
    }
    last["usageMetadata"] = {
        "promptTokenCount": 10,
        "candidatesTokenCount": 3,
        "thoughtsTokenCount": 2,
    }
    return [Event(None, json.dumps(b)) for b in [*bodies, last]]


@settings(max_examples=150, deadline=None)
@given(segments(), st.booleans(), st.booleans())
def test_gemini_upstream_to_anthropic_client(segs, signatures, thinks):
    t = translator("anthropic", "gemini")
    body = {"model": "x", "max_tokens": 5, "messages": [{"role": "user", "content": "go"}]}
    if thinks:
        body["thinking"] = {"type": "adaptive"}
    t.request(body, model="gemini-2.5-pro", stream=True)
    segs = [(s[0], _safe(s[1]), *s[2:]) if s[0] == "tool" else s for s in segs]
    message = check_anthropic(run_stream(t.stream(), gemini_events(segs, signatures=signatures)))
    text, thinking, calls = expected(segs)
    thinking = thinking if thinks else ""
    assert assembled_anthropic(message) == (text, thinking, calls)
    assert message["stop_reason"] == ("tool_use" if calls else "end_turn")
    assert message["usage"]["output_tokens"] == 5


@settings(max_examples=150, deadline=None)
@given(segments(), st.booleans())
def test_gemini_upstream_to_openai_client(segs, signatures):
    t = translator("openai", "gemini")
    body = {
        "model": "x",
        "messages": [{"role": "user", "content": "go"}],
        "stream_options": {"include_usage": True},
    }
    t.request(body, model="gemini-2.5-pro", stream=True)
    segs = [(s[0], _safe(s[1]), *s[2:]) if s[0] == "tool" else s for s in segs]
    out = check_openai(
        run_stream(t.stream(), gemini_events(segs, signatures=signatures)), usage=True
    )
    text, thinking, calls = expected(segs)
    assert out["text"] == text and out["reasoning"] == thinking
    assert [(c["name"], json.loads(c["arguments"])) for c in out["tool_calls"]] == calls


@settings(max_examples=100, deadline=None)
@given(segments(), st.one_of(st.none(), st.randoms()), st.booleans())
def test_openai_upstream_to_gemini_client(segs, shuffle, thinks):
    from google.genai import types

    from .streams import parse

    t = translator("gemini", "openai")
    body = {"contents": [{"role": "user", "parts": [{"text": "go"}]}]}
    if thinks:  # thought parts reach only clients that asked for them
        body["generationConfig"] = {"thinkingConfig": {"includeThoughts": True}}
    t.request(body, model="gpt-4o", stream=True)
    segs = [(s[0], _safe(s[1]), *s[2:]) if s[0] == "tool" else s for s in segs]
    events = openai_events(segs, finish_with_content=False, usage=True, shuffle=shuffle)
    data = run_stream(t.stream(), events)
    chunks = [
        types.GenerateContentResponse._from_response(response=e.json(), kwargs={})
        for e in parse(data)
    ]
    parts = [p for c in chunks for p in c.candidates[0].content.parts or []]
    text, thinking, calls = expected(segs)
    thinking = thinking if thinks else ""
    assert "".join(p.text for p in parts if p.text and not p.thought) == text
    assert "".join(p.text for p in parts if p.text and p.thought) == thinking
    assert [(p.function_call.name, p.function_call.args) for p in parts if p.function_call] == calls
    assert chunks[-1].candidates[0].finish_reason is not None
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])


def anthropic_client_of_openai():
    """A translator of a plain Anthropic request to gpt-4o, ready to stream."""
    t = translator("anthropic", "openai")
    t.request(
        {"model": "x", "max_tokens": 5, "messages": [{"role": "user", "content": "go"}]},
        model="gpt-4o",
        stream=True,
    )
    return t


def test_three_interleaved_calls_keep_their_order_and_stream_once_whole():
    """Call 0 whole while 1 and 2 wait: 1 opens next (its fragments so far), then 2."""
    t = anthropic_client_of_openai()

    def call(index, name=None, args=""):
        fragment = {"index": index, "function": {"arguments": args}}
        if name:
            fragment |= {"id": f"call_{index}", "type": "function"}
            fragment["function"]["name"] = name
        return {"tool_calls": [fragment]}

    deltas = [
        {"role": "assistant", "content": ""},
        call(0, "Read", '{"a"'),
        call(1, "Read", '{"b"'),
        call(2, "Read", '{"c": 3}'),
        call(1, None, ": 2}"),
        call(0, None, ": 1}"),
    ]
    bodies = [{"id": "c", "model": "m", "choices": [{"index": 0, "delta": d}]} for d in deltas]
    bodies.append(
        {
            "id": "c",
            "model": "m",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
        }
    )
    events = [Event(None, json.dumps(b)) for b in bodies] + [Event(None, "[DONE]")]
    message = check_anthropic(run_stream(t.stream(), events))
    assert [b["input"] for b in message["content"]] == [{"a": 1}, {"b": 2}, {"c": 3}]


def test_calls_in_order_stream_live():
    """A call whose header comes after the previous call's arguments are whole opens at once."""
    t = anthropic_client_of_openai()
    stream = t.stream()
    first = {"index": 0, "id": "call_0", "type": "function"}
    first["function"] = {"name": "Read", "arguments": '{"a": 1}'}
    second = {"index": 1, "id": "call_1", "type": "function"}
    second["function"] = {"name": "Bash", "arguments": '{"cmd"'}
    for delta in ({"role": "assistant", "content": ""}, {"tool_calls": [first]}):
        stream.feed(Event(None, json.dumps({"choices": [{"index": 0, "delta": delta}]})))
    out = stream.feed(
        Event(None, json.dumps({"choices": [{"index": 0, "delta": {"tool_calls": [second]}}]}))
    )
    assert b'"index":1' in out.replace(b" ", b"") and b"Bash" in out  # opened now, not at the end
