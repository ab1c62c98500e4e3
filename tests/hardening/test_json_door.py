"""The JSON door's fast path (orjson) decides exactly as the strict parser does, and so
does its lazy door (read_object), member by member.

parse_object reads a body with orjson and proves cheaply that the strict
parser (Python's, with every laxity refused) would read the same; anything it
cannot prove goes to the strict parser. Whatever the body, the outcome — the
value with its types, or the 400 and its message — must be the strict one.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localgate.door import (
    Members,
    _parse_strictly,
    json_type,
    parse_object,
    read_object,
    whole,
    with_members,
)
from localgate.errors import InvalidRequest
from tests.fakes.base import dumps as compact

# Keys from a small alphabet so that repeats are common; colons and escapes in them.
KEYS = st.sampled_from(["a", "b", "model", "a:", ":", "\u00e9", "\U0001f600", 'q"', "\\"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),  # beyond 64 bits too
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(
        alphabet=st.sampled_from(["x", ":", '"', "\\", "\n", "\u00e9", "\u2028", "\U0001f600"])
    ),
)
# Objects as lists of pairs: a key may repeat, as a hostile client writes it.
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.tuples(KEYS, inner), max_size=4).map(lambda pairs: ("obj", pairs)),
    ),
    max_leaves=25,
)
STYLES = st.fixed_dictionaries(
    {
        "ascii": st.booleans(),  # Python's default: every non-ASCII character escaped
        "spaced": st.booleans(),  # ", " and ": " as json.dumps writes by default
        "escape_colons": st.booleans(),  # a colon in a string written as \u003a
    }
)


def write(value, style) -> str:
    """`value` as JSON text in `style`; objects may hold repeated keys."""
    comma, colon = (", ", ": ") if style["spaced"] else (",", ":")
    if isinstance(value, tuple):
        members = (write(k, style) + colon + write(v, style) for k, v in value[1])
        return "{" + comma.join(members) + "}"
    if isinstance(value, list):
        return "[" + comma.join(write(v, style) for v in value) + "]"
    text = json.dumps(value, ensure_ascii=style["ascii"])
    if isinstance(value, str) and style["escape_colons"]:
        text = text.replace(":", "\\u003a")
    return text


def outcome(parse, raw: bytes):
    try:
        return ("ok", typed(parse(raw)))
    except InvalidRequest as err:
        return ("400", err.message)


def typed(value):
    """A value with its JSON types spelled out (1 == 1.0 == True in Python)."""
    if isinstance(value, dict):
        return ("obj", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("arr", [typed(v) for v in value])
    return (type(value).__name__, repr(value))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(KEYS, VALUES), max_size=5), STYLES)
def test_the_fast_path_decides_as_the_strict_parser(pairs, style):
    raw = write(("obj", pairs), style).encode()
    assert outcome(parse_object, raw) == outcome(_parse_strictly, raw)


def test_repeated_keys_hidden_behind_escaped_colons_are_found():
    """A repeated key costs the body one colon; an escaped colon in a string must not
    pay it back."""
    raw = b'{"a":"\\u003a","a":1}'
    assert outcome(parse_object, raw) == (
        "400",
        "the request body repeats the key 'a' in one object",
    )


def test_what_javascript_clients_send_is_read_as_sent():
    body = {"model": "m", "messages": [{"role": "user", "content": "caf\u00e9 \U0001f600 a:b"}]}
    raw = compact(body)
    assert parse_object(raw) == body


def test_integers_beyond_64_bits_stay_exact():
    raw = b'{"n":123456789012345678901234567890,"m":-9223372036854775809}'
    assert outcome(parse_object, raw) == (
        "ok",
        (
            "obj",
            [
                ("n", ("int", "123456789012345678901234567890")),
                ("m", ("int", "-9223372036854775809")),
            ],
        ),
    )


@pytest.mark.parametrize("depth", [127, 128, 129, 254, 255, 256, 1025])
def test_nesting_is_judged_as_the_strict_parser_does(depth):
    raw = ('{"a":' + "[" * depth + "]" * depth + "}").encode()
    assert outcome(parse_object, raw) == outcome(_parse_strictly, raw)


def test_orjson_writes_no_deeper_than_the_door_allows():
    """The fast path takes a body orjson could write as within MAX_DEPTH: sound only
    while orjson refuses deeper ones (3.8 writes 255 levels, 3.13 254; a body between
    its limit and MAX_DEPTH just takes the strict path)."""
    import orjson

    from localgate.door import MAX_DEPTH

    value: list = []
    for _ in range(MAX_DEPTH):
        value = [value]  # MAX_DEPTH + 1 levels
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(value)


# The lazy door (read_object): a relay reads the top level only.


def whole_outcome(raw: bytes):
    """read_object's outcome once every member is read: it must be parse_object's."""
    return outcome(lambda r: whole(read_object(r)), raw)


def member_outcomes(raw: bytes) -> dict:
    """Each member of a body read on its own: its value and JSON type, or its 400."""
    members = read_object(raw)
    read = {}
    for key in members:
        kind = json_type(members, key)
        try:
            read[key] = ("ok", kind, typed(members[key]))
        except InvalidRequest as err:
            read[key] = ("400", err.message)
    return read


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(KEYS, VALUES), max_size=5), STYLES)
def test_read_whole_the_lazy_door_decides_as_the_strict_parser(pairs, style):
    raw = write(("obj", pairs), style).encode()
    assert whole_outcome(raw) == outcome(_parse_strictly, raw)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(KEYS, VALUES), max_size=5), STYLES)
def test_each_member_reads_as_the_whole_body_does(pairs, style):
    """A member read on its own is the strict parser's value of it, with its type
    told unread; a member the strict parser refuses is refused when read."""
    raw = write(("obj", pairs), style).encode()
    strict = outcome(_parse_strictly, raw)
    try:
        members = member_outcomes(raw)
    except InvalidRequest as err:  # refused at the door: the strict parser says the same
        assert strict == ("400", err.message)
        return
    if strict[0] == "ok":
        parsed = _parse_strictly(raw)
        assert members == {k: ("ok", type(v), typed(v)) for k, v in parsed.items()}
    else:
        assert any(read[0] == "400" for read in members.values()), (strict, members)


@given(st.lists(st.tuples(KEYS, SCALARS), min_size=1, max_size=5))
def test_a_key_repeated_at_the_top_level_is_refused_at_the_door(pairs):
    """The lazy door proves no top-level key repeats: a relay routes on them."""
    key, value = pairs[0]
    raw = write(
        ("obj", [*pairs, (key, value)]), {"ascii": False, "spaced": False, "escape_colons": False}
    ).encode()
    with pytest.raises(InvalidRequest, match="repeats the key"):
        read_object(raw)


def test_what_a_relay_never_reads_is_judged_by_grammar_alone():
    """A repeated key or a 1e999 inside the history is the upstream's to judge (it gets
    these very bytes); read, it is refused as the whole door refuses it."""
    raw = b'{"model":"m","messages":[{"a":1,"a":2}],"t":1e999}'
    members = read_object(raw)
    assert members["model"] == "m" and json_type(members, "messages") is list
    with pytest.raises(InvalidRequest, match="repeats the key 'a'"):
        members["messages"]
    with pytest.raises(InvalidRequest, match="1e999"):
        members["t"]
    for broken in (
        b'{"model":"m","messages":[{"a":1,}]}',  # grammar
        b'{"model":"m","messages":["\xff"]}',  # not UTF-8
        b'{"model":"m","messages":["\\ud800"]}',  # a lone surrogate
        b'{"model":"m","messages":' + b"[" * 3000 + b"]" * 3000 + b"}",
    ):
        with pytest.raises(InvalidRequest):
            read_object(broken)


# JSON values as Python holds them (no repeated keys).
PLAIN = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(KEYS, PLAIN, max_size=5),
    st.dictionaries(KEYS, SCALARS, min_size=1, max_size=3),
)
def test_changed_members_are_written_around_the_others_bytes(body, changes):
    raw = compact(body)
    members = read_object(raw)
    assert isinstance(members, Members)
    sent = with_members(members, changes)
    assert typed(parse_object(sent)) == typed({**body, **changes})
    for key, value in body.items():  # untouched members go as they came
        if key not in changes:
            assert compact({key: value})[1:-1] in sent


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(KEYS, PLAIN, max_size=5), st.sampled_from([b":", b'"', b"x", b"\\"]))
def test_a_byte_check_looks_inside_its_member_only(body, needle):
    members = read_object(compact(body))
    for key, value in body.items():
        written = compact(value)
        assert members.holds(key, needle) == (needle in written)
    assert not members.holds("absent", needle)
