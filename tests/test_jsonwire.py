"""JSON on the request path, written and read: fast, compact, and exact where orjson is not."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localgate import jsonwire
from tests.support import account

BIG = 2**70  # beyond orjson's 64 bits; the door keeps it an exact int


def test_compact_utf8_as_the_sdks_write_it():
    value = {"a": [1, 2.5, None, True], "text": "caf\u00e9 \U0001f600 \n"}
    assert (
        jsonwire.dumps(value)
        == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    )


def test_integers_beyond_64_bits_are_written_exactly():
    assert jsonwire.dumps({"n": BIG, "m": [-BIG]}) == f'{{"n":{BIG},"m":[{-BIG}]}}'.encode()


async def test_a_translated_request_keeps_a_huge_integer_exact(localgate, make_fake):
    """A tool call's input with a 22-digit id, translated Anthropic -> Gemini (whose
    functionCall args are an object, not a string)."""
    up = await make_fake("gemini", "up")
    client = await localgate(
        [account("up", "gemini", up.url)], aliases={"claude-x": ["gemini-2.5-flash"]}
    )
    body = (
        '{"model":"claude-x","max_tokens":20,"messages":['
        '{"role":"user","content":"look it up"},'
        '{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"find",'
        f'"input":{{"id":{BIG}}}}}]}},'
        '{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]}'
        '],"tools":[{"name":"find","input_schema":{"type":"object"}}]}'
    )
    resp = await client.post(
        "/v1/messages", data=body, headers={"content-type": "application/json"}
    )
    assert resp.status == 200, await resp.text()
    sent = up.requests[-1]
    assert f'"id":{BIG}'.encode() in sent.body
    call = sent.json["contents"][1]["parts"][0]["functionCall"]
    assert call["args"] == {"id": BIG}


def _same(value) -> str:
    """A value's exact form: json.dumps tells 1 from 1.0 and True from 1, which == does not."""
    return json.dumps(value, allow_nan=True)


@pytest.mark.parametrize(
    "text",
    [
        '{"usage":{"input_tokens":12,"output_tokens":14}}',
        f'{{"n":{BIG},"m":[{-BIG}],"k":1.5}}',  # past 64 bits: exact ints, not floats
        '{"n":9223372036854775807,"m":-9223372036854775808}',  # the 64-bit edges
        '{"id":"call_1234567890123456789012345","n":1}',  # 19+ digits inside a string
        '{"x":NaN,"y":-Infinity}',  # not JSON, but Python's json reads it and always did
        '{"s":"\\ud800 alone","t":"\\ud83d\\ude00"}',  # a lone surrogate, and a pair
        '{"a":1,"a":2}',  # the last of repeated keys, as Python's json keeps
        '[1,"two",{"three":[3.0,false,null]}]',
        '"caf\u00e9"',
        '{"big":1e400,"tiny":1e-400}',  # beyond a float: Python's json reads inf, and 0.0
        "9" * 4300,  # the most digits Python turns into an int
    ],
)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_reading_gives_what_pythons_json_gives(text, as_bytes):
    data = text.encode() if as_bytes else text
    assert _same(jsonwire.loads(data)) == _same(json.loads(text))


def test_a_str_holding_a_lone_surrogate_reads_as_pythons_json_reads_it():
    text = '"\ud800"'  # the surrogate itself, not its escape: no UTF-8 bytes can hold it
    assert jsonwire.loads(text) == json.loads(text) == "\ud800"


@pytest.mark.parametrize(
    "data", [b'{"a":', b"\xff\xfe{}", b"", "{'a': 1}", b'{"a":1} x', b"9" * 4301, b'"a\x01"']
)
def test_what_is_not_utf8_json_is_a_value_error(data):
    with pytest.raises(ValueError):
        jsonwire.loads(data)


def test_a_bytearray_is_read_as_its_bytes():
    assert jsonwire.loads(bytearray(f'{{"n":{BIG}}}'.encode())) == {"n": BIG}
    assert jsonwire.loads(bytearray(b'{"n":1}')) == {"n": 1}


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_any_json_reads_as_pythons_json_reads_it(value):
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        assert _same(jsonwire.loads(text.encode())) == _same(json.loads(text))
