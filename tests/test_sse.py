"""The SSE parser: any chunking of a stream yields the same events."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from localgate import sse

STREAM = (
    b'event: message_start\ndata: {"type":"message_start"}\n\n'
    b": a comment\n\n"
    b'event: ping\ndata: {"type": "ping"}\n\n'
    b"data: line one\ndata: line two\n\n"
    b'data: {"unicode":"\xc3\xa9\xe2\x82\xac"}\r\n\r\n'
)


def parse_all(chunks):
    parser = sse.SSEParser()
    events = [e for chunk in chunks for e in parser.feed(chunk)]
    return events + parser.flush()


def test_events_names_and_multiline_data():
    events = parse_all([STREAM])
    assert [(e.event, e.data) for e in events] == [
        ("message_start", '{"type":"message_start"}'),
        ("ping", '{"type": "ping"}'),
        (None, "line one\nline two"),
        (None, '{"unicode":"é€"}'),
    ]


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts):
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert parse_all(chunks) == parse_all([STREAM])


def test_partial_tail_is_pending_until_flushed():
    parser = sse.SSEParser()
    assert parser.feed(b'data: {"a":') == []
    assert parser.pending
    assert parser.flush() == [sse.Event(None, '{"a":')]


def test_encode_round_trips():
    raw = sse.encode({"type": "x", "text": "é"}, event="x")
    assert raw == 'event: x\ndata: {"type":"x","text":"é"}\n\n'.encode()
    assert parse_all([raw])[0].json() == {"type": "x", "text": "é"}
