"""The one door for every client body: what localgate reads of it, it reads as any API would.

Python's parser is laxer than the APIs (NaN, Infinity, duplicate keys, UTF-16
and UTF-32 bodies, any depth), and a relayed body is forwarded as received, so
an upstream must never see what localgate read differently. Two ways in:

- `parse_object` reads a body whole, or refuses it with a 400 that says why.
- `read_object` reads only its top level (`Members`): each member is read
  through the same door when first asked for. A relay needs the model, the
  stream flag and the session; a Claude Code request's history and 25 tool
  schemas are some 1,300 objects that a whole read would build for nothing
  (docs/benchmarks.md, round nine). What localgate never reads, it judges by
  JSON's grammar and UTF-8 alone: the upstream gets those bytes as sent. A body
  read whole (to translate it) is read by `parse_object`.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec
import orjson

from localgate import jsonwire
from localgate.errors import InvalidRequest

# Levels of arrays and objects a request may nest: real ones (tool schemas
# included) stay under 30; translators recurse once per level, and orjson
# writes no deeper (255 levels in 3.8, 254 in 3.13; test_json_door.py holds it).
MAX_DEPTH = 255
# A JSON escape of a UTF-16 surrogate (\ud800-\udfff): a hint, not proof, of a lone one.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# orjson reads integers beyond 64 bits as floats; the strict parser keeps them exact.
INTEGER_RANGE = 2.0**63


def parse_object(raw: bytes) -> dict:
    """The request body read whole as a JSON object, or a 400 that says what is
    wrong with it: what passes is JSON any API takes."""
    if not raw:
        raise InvalidRequest("the request body is empty; send a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None  # the strict parser below says why
    if type(body) is dict and _plainly_strict(raw, body):
        return body
    return _parse_strictly(raw)


def _plainly_strict(raw: bytes, body: dict) -> bool:
    """True when the strict parser would read `raw` as `body`, proved cheaply; False
    leaves the decision (and the error message) to it.

    orjson, about four times the speed of the strict parser on a Claude Code
    body, already refuses what is not UTF-8, NaN and Infinity, 1e999 and lone
    surrogate escapes, but keeps the last of repeated keys, nests to 1024 and
    reads integers beyond 64 bits as floats. Writing the body again refuses
    more than MAX_DEPTH levels (or a level or two less, by version: such a body
    takes the strict path). A body written again to its very bytes (as
    JavaScript's JSON.stringify and the Python SDKs write) lost no member and
    held no such integer (it would come back as a float). Otherwise repeated
    keys are found by counting colons: outside strings a colon separates a
    member, so a body whose colons (plus any escaped as \\u003a, an overcount
    when some are not) are exactly those written again lost no member; and a
    walk looks for floats beyond 64-bit integers.
    """
    try:
        again = orjson.dumps(body)
    except orjson.JSONEncodeError:  # deeper than it writes: MAX_DEPTH levels
        return False
    if again == raw:
        return True
    colons = raw.count(b":")
    if b"\\u003" in raw:
        colons += raw.count(b"\\u003a") + raw.count(b"\\u003A")
    if colons != again.count(b":"):
        return False
    return not _deeper_than(body, MAX_DEPTH, INTEGER_RANGE)


def _parse_strictly(raw: bytes) -> dict:
    """The reference door: Python's parser with every laxity refused."""
    try:
        text = raw.decode("utf-8")  # strict: json.loads(bytes) would take UTF-16 too
    except UnicodeDecodeError:
        raise InvalidRequest("the request body is not valid UTF-8") from None
    try:
        body = _strict_decoder().decode(text)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    if _deeper_than(body, MAX_DEPTH, math.inf):
        raise _too_deep()
    # Paired escapes (an emoji as Python's json.dumps writes it) decode to one code
    # point; a lone one stays a surrogate that no UTF-8 encoder accepts, so a
    # translated request could not even be written. Only suspicious bodies are walked.
    if SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(body):
        raise InvalidRequest(
            "the request body holds a lone UTF-16 surrogate escape (\\ud800-\\udfff without "
            "its pair), which is not valid Unicode"
        )
    return body


@functools.cache
def _strict_decoder() -> json.JSONDecoder:
    """The door's decoder, made once: json.loads with hooks builds one per call."""
    return json.JSONDecoder(
        object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_finite_float
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    # The gateway would route on one value while the raw body forwards both.
    body = dict(pairs)
    if len(body) != len(pairs):
        seen: set[str] = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise InvalidRequest(f"the request body repeats the key {key[:100]!r} in one object")
    return body


def _no_constant(name: str):
    raise InvalidRequest(f"the request body holds {name}, which is not JSON; send a number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise InvalidRequest(f"the request body holds the number {text[:40]}, too large for JSON")
    return value


def _too_deep() -> InvalidRequest:
    return InvalidRequest(
        f"the request body is nested too deeply (more than {MAX_DEPTH} levels of arrays "
        "and objects)"
    )


def _deeper_than(value: dict, limit: int, largest: float) -> bool:
    """True when arrays and objects nest more than `limit` levels (one level at a
    time), or a float reaches `largest` in size.

    On every request: a plain loop with `type()` tests, three times the speed
    of isinstance in a comprehension on a Claude Code body.
    """
    level: list = [value]
    for _ in range(limit):
        below: list = []
        add = below.append
        for item in level:
            for child in item.values() if type(item) is dict else item:
                kind = type(child)
                if kind is dict or kind is list:
                    add(child)
                elif kind is float and not -largest < child < largest:
                    return True
        if not below:
            return False
        level = below
    return True


def _has_lone_surrogate(value) -> bool:
    """True if any string (or key) in a parsed JSON value cannot be encoded as UTF-8."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode()
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


# The JSON type a value's first byte tells; numbers (int or float) are read.
_FIRST_BYTE_TYPES = {
    ord("{"): dict,
    ord("["): list,
    ord('"'): str,
    ord("t"): bool,
    ord("f"): bool,
    ord("n"): type(None),
}
# First bytes of the values orjson reads exactly as the strict parser does (strings,
# true, false, null: it refuses the same lone surrogates and bad UTF-8).
_PLAIN_SCALARS = frozenset(b'"tfn')


def read_object(raw: bytes) -> Mapping[str, Any]:
    """The request body as a JSON object whose members are read when first asked for,
    or a 400 that says what is wrong with it.

    Taken lazily only when the top level is proven: valid JSON and UTF-8, one object,
    written compactly (as JavaScript's JSON.stringify and the SDKs write) so that its
    members account for every byte, which proves no key repeats (a repeat would be
    lost from the decoded members, and its bytes with it). Anything else is read
    whole by `parse_object`, which also says what is wrong.
    """
    try:
        members = _top_level().decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return parse_object(raw)
    spans = {}  # key -> where its value lies in `raw`, as the members account for it
    at = 1  # after "{"
    for key, value in members.items():
        at += len(orjson.dumps(key)) + 1  # "key":
        spans[key] = (at, at + len(value))
        at += len(value) + 1  # the value and a comma (or the closing brace)
    if max(at, 2) != len(raw) or not _is_utf8(raw):
        return parse_object(raw)
    return Members(raw, spans)


@functools.cache
def _top_level() -> msgspec.json.Decoder:
    """A body's top level, each member's value left unread: msgspec checks the
    grammar of what it skips, building nothing."""
    return msgspec.json.Decoder(dict[str, msgspec.Raw])


def _is_utf8(raw: bytes) -> bool:
    if raw.isascii():
        return True
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


class Members(Mapping[str, Any]):
    """A JSON object body's top-level members, each read strictly when first asked for.

    A member is read as the one member of an object, through `parse_object`: the
    same rules, at the same depth, as if the body had been read whole.
    """

    __slots__ = ("raw", "_spans", "_read", "_whole")

    def __init__(self, raw: bytes, spans: dict[str, tuple[int, int]]) -> None:
        self.raw = raw
        self._spans = spans
        self._read: dict[str, Any] = {}
        self._whole: dict | None = None

    def __getitem__(self, key: str) -> Any:
        if self._whole is not None:
            return self._whole[key]
        read = self._read
        if key in read:  # not a try: every member's first read would raise and catch
            return read[key]
        start, end = self._spans[key]  # KeyError for an absent member, as a dict's
        value = read[key] = self._parse(self.raw[start:end])
        return value

    @staticmethod
    def _parse(member: bytes) -> Any:
        if member[0] in _PLAIN_SCALARS:  # a routing field, read on every request
            try:
                return orjson.loads(member)
            except orjson.JSONDecodeError:
                pass  # the door says why
        return parse_object(b'{"":' + member + b"}")[""]

    def get(self, key: str, default: Any = None) -> Any:  # Mapping's, without its try
        return self[key] if key in self._spans else default

    def __contains__(self, key: object) -> bool:
        return key in self._spans

    def __iter__(self) -> Iterator[str]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)

    def __repr__(self) -> str:
        return f"<Members {list(self._spans)}>"

    def type_of(self, key: str) -> type:
        """The JSON type of member `key` (NoneType when absent), read only for a number."""
        span = self._spans.get(key)
        if span is None:
            return type(None)
        kind = _FIRST_BYTE_TYPES.get(self.raw[span[0]])
        return kind if kind is not None else type(self[key])

    def holds(self, key: str, needle: bytes) -> bool:
        """True when the bytes of member `key` hold `needle`."""
        start, end = self._spans.get(key, (0, 0))
        return self.raw.find(needle, start, end) >= 0

    def with_changes(self, changes: Mapping[str, Any]) -> bytes:
        """The body with `changes` made to its members (new ones last), every other
        member written from the bytes received."""
        raw = memoryview(self.raw)
        pieces = [
            (key, jsonwire.dumps(changes[key]) if key in changes else raw[start:end])
            for key, (start, end) in self._spans.items()
        ]
        pieces += [(k, jsonwire.dumps(v)) for k, v in changes.items() if k not in self._spans]
        out = bytearray(b"{")
        for key, value in pieces:
            out += orjson.dumps(key) + b":"
            out += value
            out += b","
        out[-1:] = b"}" if pieces else b"{}"
        return bytes(out)

    def whole(self) -> dict:
        """Every member read: the body as `parse_object` reads it (once)."""
        if self._whole is None:
            self._whole = parse_object(self.raw)
        return self._whole


def whole(body: Mapping[str, Any]) -> dict:
    """`body` read whole: what a translator, or any walk over it, needs."""
    return body.whole() if isinstance(body, Members) else body  # type: ignore[return-value]


def holds(body: Mapping[str, Any], raw: bytes, key: str, needle: bytes) -> bool:
    """True when body[key] may hold `needle`: its own bytes for a Members body, the
    whole `raw` body's otherwise. A byte check that spares most requests a walk."""
    return body.holds(key, needle) if isinstance(body, Members) else needle in raw


def json_type(body: Mapping[str, Any], key: str) -> type:
    """The JSON type of body[key] (NoneType when absent), unread where the body can tell."""
    if isinstance(body, Members):
        return body.type_of(key)
    return type(body.get(key))


def with_members(body: Mapping[str, Any], changes: Mapping[str, Any]) -> bytes:
    """The body to send with `changes` made to its top-level members (new ones last).

    A Members body keeps every other member's bytes as received: a relay that
    renames the model or asks a stream for its usage does not read, or write
    again, the history and tools around them.
    """
    if isinstance(body, Members):
        return body.with_changes(changes)
    return jsonwire.dumps({**body, **changes})
