"""JSON on the request path: bodies sent upstream, answers and events read and sent back.

(Client bodies come in through the stricter door, localgate.door.)
"""

from __future__ import annotations

import json

import msgspec
import orjson


def loads(data: bytes | bytearray | str):
    """JSON from upstream (a whole answer, an event's data) as Python values; raises
    ValueError (UnicodeDecodeError included) when it is not UTF-8 JSON.

    msgspec where it reads as Python's json does, several times faster than it,
    integers past 64 bits included (exact, as json reads them, within the same
    4,300 digits); Python's json for what msgspec refuses: NaN and Infinity, a
    lone surrogate, a number too large for a float. (orjson, used before, turns
    integers past 64 bits into floats; the regex that sent such bodies to json
    cost three times orjson's parse, 600 µs on a 22 KB answer: docs/benchmarks.md,
    round eleven.)
    """
    try:
        return msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeEncodeError, RecursionError):
        pass  # Python's json decides, and says why (UnicodeEncodeError: a str's lone surrogate)
    return json.loads(data if isinstance(data, str) else data.decode())


def dumps(value) -> bytes:
    """`value` as compact UTF-8 JSON, the form the SDKs themselves send.

    orjson: a translated Claude Code request is written in 18 µs instead of
    json.dumps's 190. Python's json writes what orjson refuses: integers beyond
    64 bits, which the door keeps exact when a client sends them.
    """
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError included
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
