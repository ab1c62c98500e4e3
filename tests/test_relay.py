"""Passthrough relay: whole events only, usage tapped, cut streams end in an error event."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from localgate import sse
from localgate.relay import Passthrough

ANTHROPIC = (
    sse.encode(
        {
            "type": "message_start",
            "message": {
                "usage": {"input_tokens": 12, "output_tokens": 1, "cache_read_input_tokens": 3}
            },
        },
        event="message_start",
    )
    + sse.encode(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        event="content_block_start",
    )
    + sse.encode(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hé"}},
        event="content_block_delta",
    )
    + sse.encode({"type": "content_block_stop", "index": 0}, event="content_block_stop")
    + sse.encode(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 7},
        },
        event="message_delta",
    )
    + sse.encode({"type": "message_stop"}, event="message_stop")
)


def relay(chunks, dialect="anthropic"):
    p = Passthrough(dialect)
    out = b"".join(p.feed(c) for c in chunks)
    return p, out, p.finish()


@given(st.lists(st.integers(min_value=0, max_value=len(ANTHROPIC)), max_size=10))
def test_output_is_input_cut_only_at_event_boundaries(cuts):
    points = sorted(set(cuts))
    chunks = [ANTHROPIC[a:b] for a, b in zip([0, *points], [*points, len(ANTHROPIC)], strict=True)]
    p = Passthrough("anthropic")
    out = b""
    for chunk in chunks:
        piece = p.feed(chunk)
        assert piece == b"" or piece.endswith(b"\n\n")
        out += piece
    assert out + p.finish() == ANTHROPIC
    assert (p.usage.input_tokens, p.usage.output_tokens, p.usage.cache_read_tokens) == (12, 7, 3)


def test_cut_mid_event_drops_the_half_event_and_ends_with_error():
    cut = ANTHROPIC.index(b"event: content_block_delta") + 30
    p, out, tail = relay([ANTHROPIC[:cut]])
    assert out.endswith(b"event: content_block_start" + out.split(b"event: content_block_start")[1])
    assert b"content_block_delta" not in out
    events = sse.SSEParser().feed(tail)
    assert events[0].event == "error"
    assert events[0].json()["error"]["type"] == "api_error"


def test_openai_finish_without_done_is_complete():
    chunk = sse.encode({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    p, out, tail = relay([chunk], "openai")
    assert out == chunk and tail == b""


def test_openai_usage_chunk_is_read():
    chunks = [
        sse.encode({"choices": [{"index": 0, "delta": {"content": "x"}}], "usage": None}),
        sse.encode(
            {
                "choices": [],
                "usage": {
                    "prompt_tokens": 20,
                    "completion_tokens": 4,
                    "prompt_tokens_details": {"cached_tokens": 5},
                },
            }
        ),
        b"data: [DONE]\n\n",
    ]
    p, out, tail = relay(chunks, "openai")
    assert (p.usage.input_tokens, p.usage.cache_read_tokens, p.usage.output_tokens) == (15, 5, 4)
    assert tail == b""


def test_openai_stream_cut_ends_with_error_chunk():
    p, out, tail = relay(
        [sse.encode({"choices": [{"index": 0, "delta": {"content": "x"}}]})], "openai"
    )
    assert json.loads(tail.decode()[len("data: ") :])["error"]["type"] == "server_error"


# -- StreamHead: what a stream opens with is held, content decides at once --------------


def _events(*pairs) -> bytes:
    from localgate.sse import encode

    return b"".join(encode(data, event) for event, data in pairs)


def test_stream_head_holds_the_head_and_decides_on_the_first_content():
    from localgate.relay import StreamHead

    head = StreamHead("anthropic")
    opening = _events(
        ("message_start", {"type": "message_start", "message": {"id": "msg_1"}}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
    )
    head.feed(opening)
    assert not head.decided and head.held == opening
    delta = _events(
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Hi"},
            },
        )
    )
    head.feed(delta)
    assert head.content and head.failure is None and head.held == opening + delta


def test_stream_head_reads_an_error_event_before_content_as_a_failure():
    from localgate.relay import StreamHead

    head = StreamHead("openai")
    head.feed(b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n')
    assert not head.decided
    head.feed(b'data: {"error":{"message":"overloaded","type":"server_error","code":503}}\n\n')
    assert head.failure == 503 and not head.content


def test_stream_head_sees_an_empty_answer_end():
    from localgate.relay import StreamHead

    head = StreamHead("openai")
    head.feed(
        b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    assert head.ended and not head.content
    refusal = StreamHead("gemini")
    refusal.feed(b'data: {"promptFeedback": {"blockReason": "SAFETY"}}\r\n\r\n')
    assert refusal.content  # a blocked prompt is an answer


def test_stream_head_reads_the_responses_dialect_too():
    from localgate.relay import StreamHead

    def event(kind, **data):
        return _events((kind, {"type": kind, **data}))

    head = StreamHead("responses")
    head.feed(event("response.created", response={"id": "resp_1", "output": []}))
    head.feed(event("response.in_progress", response={"id": "resp_1", "output": []}))
    assert not head.decided
    head.feed(event("error", code="rate_limit_exceeded", message="slow down"))
    assert head.failure == 429
    failed = StreamHead("responses")
    failed.feed(event("response.failed", response={"error": {"code": "server_error"}}))
    assert failed.failure == 500
    content = StreamHead("responses")
    content.feed(event("response.output_text.delta", delta="Hi"))
    assert content.content


def test_stream_head_tells_a_cut_stream_from_an_empty_answer():
    from localgate.relay import StreamHead

    head = StreamHead("openai")
    head.feed(b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n')
    head.feed(b"")  # the connection closed: no finish, no [DONE]
    assert head.ended and head.cut and not head.content
