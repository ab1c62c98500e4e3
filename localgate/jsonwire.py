"""JSON written on the request path: bodies sent upstream, answers and events sent back."""

from __future__ import annotations

import json

import orjson


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
