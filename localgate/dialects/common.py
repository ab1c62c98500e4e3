"""Request checks shared by every dialect: JSON object bodies and typed fields."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from localgate import jsonwire, sse
from localgate.dialects.usage import Usage
from localgate.errors import InvalidRequest

# A run of characters keys are made of; shorter pieces of a key betray little.
KEYLIKE = re.compile(rb"[A-Za-z0-9_+/-]{8,}")
REDACTED = b"[redacted]"
# Longer than any real model id (Bedrock ARNs stay under 200); it travels into
# upstream URLs, response headers, the routing cache and every log line.
MAX_MODEL_NAME = 256
# Levels of arrays and objects a request may nest: real ones (tool schemas
# included) stay under 30; translators recurse once per level, and orjson
# writes no deeper (255 levels in 3.8, 254 in 3.13; test_json_door.py holds it).
MAX_DEPTH = 255
# A JSON escape of a UTF-16 surrogate (\ud800-\udfff): a hint, not proof, of a lone one.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# orjson reads integers beyond 64 bits as floats; the strict parser keeps them exact.
INTEGER_RANGE = 2.0**63


def parse_object(raw: bytes) -> dict:
    """The request body as a JSON object, or a 400 that says what is wrong with it.

    The one door for every client body: what passes is JSON any API takes.
    Python's parser is laxer than the APIs (NaN, Infinity, duplicate keys,
    UTF-16 and UTF-32 bodies, any depth); the raw body may be forwarded as
    received, so an upstream must never see what localgate read differently.
    """
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


def check_model(model: str) -> str:
    """`model` when it may travel on (URLs, headers, log lines); a 400 naming the field if not.

    A CR/LF in a name would split the response (it is echoed in x-model-used)
    and forge log lines; a megabyte name would fill the routing cache and the log.
    """
    if not model:
        raise InvalidRequest("model: must not be empty", param="model")
    if len(model) > MAX_MODEL_NAME:
        raise InvalidRequest(
            f"model: a name of {len(model)} characters is longer than the "
            f"{MAX_MODEL_NAME} localgate accepts",
            param="model",
        )
    if not model.isprintable():
        raise InvalidRequest(
            "model: the name holds control or other unprintable characters", param="model"
        )
    return model


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


def field(body: dict, name: str, kind: type | tuple[type, ...], *, required: bool = False):
    """body[name] checked against `kind` (bools are not numbers here)."""
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name}: field required", param=name)
        return None
    if isinstance(value, bool) and bool not in _as_tuple(kind):
        raise InvalidRequest(f"{name}: expected {_names(kind)}, got a boolean", param=name)
    if not isinstance(value, kind):
        raise InvalidRequest(
            f"{name}: expected {_names(kind)}, got {type(value).__name__}", param=name
        )
    return value


def _as_tuple(kind) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


# How the type of a parsed JSON value reads in an error message.
JSON_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def _names(kind) -> str:
    return " or ".join(JSON_TYPE_NAMES.get(k, k.__name__) for k in _as_tuple(kind))


@dataclass(frozen=True, slots=True)
class Inspected:
    """What the gateway needs from a client request: model, stream flag, session."""

    model: str
    stream: bool
    session: str | None


def error_message(body: bytes, limit: int = 300) -> str:
    """The human message inside an upstream error body.

    Anthropic, OpenAI and Google all nest it as `error.message`; anything else
    (HTML from a proxy, plain text) is shown as a short printable excerpt.
    """
    try:
        parsed = jsonwire.loads(body)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"][:limit]
        if isinstance(error, str):
            return error[:limit]
    text = body[:limit].decode("utf-8", errors="replace")
    return " ".join(text.split()) or "(empty body)"


def rename_in_events(
    events: bytes,
    needle: bytes,
    holder: Callable[[dict], dict],
    model: str,
    key: str = "model",
) -> bytes:
    """`events` (whole SSE events) with `holder(payload)[key]` set to `model` in every
    `data:` line holding `needle`; lines that do not parse as expected are kept as is.

    An alias's answer names the model the client asked for, on every path.
    """
    if needle not in events:
        return events
    lines = events.split(b"\n")
    for i, line in enumerate(lines):
        if not line.startswith(b"data:") or needle not in line:
            continue
        try:
            payload = jsonwire.loads(line[5:])
            target = holder(payload)
            if key not in target:
                continue
            target[key] = model
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        cr = b"\r" if line.endswith(b"\r") else b""
        encoded = jsonwire.dumps(payload)
        lines[i] = b"data: " + encoded + cr
    return b"\n".join(lines)


class UsageTap:
    """Reads usage from a passing stream without altering it.

    `read(event, tap)` is the dialect's reader: it updates `tap.usage` and
    `tap.error` from the events that carry them. `complete` turns true when the
    dialect's terminal event goes by, so a cut stream can be told from a whole one.
    """

    __slots__ = ("_read", "_is_terminal", "usage", "error", "complete")

    def __init__(
        self,
        read: Callable[[sse.Event, UsageTap], None],
        is_terminal: Callable[[sse.Event], bool],
    ) -> None:
        self._read = read
        self._is_terminal = is_terminal
        self.usage = Usage()
        self.error: str | None = None  # an error the upstream sent after its 200
        self.complete = False

    def feed(self, whole: bytes) -> None:
        """Read the events in `whole`, which holds whole events only (the relay cuts them)."""
        for event in sse.parse_whole(whole):
            if self._is_terminal(event):
                self.complete = True
            self._read(event, self)


def redact(body: bytes, secrets: str | Iterable[str] | None) -> bytes:
    """`body` with the account's secrets, and every long piece of them, masked.

    Some upstreams echo the key they were sent ("Incorrect API key provided:
    sk-…"), and error text travels on into logs, /account-limits and the
    client's error; the gateway knows the account's secrets, so it masks every
    run of key characters that shares eight in a row with one of them.
    """
    if isinstance(secrets, str):
        secrets = (secrets,)
    keys = [s.encode() for s in secrets or () if s]
    if not keys or not body:
        return body
    size = min(8, *(len(key) for key in keys))
    pieces = {key[i : i + size] for key in keys for i in range(len(key) - size + 1)}

    def mask(found: re.Match) -> bytes:
        run = found[0]
        if any(run[i : i + size] in pieces for i in range(len(run) - size + 1)):
            return REDACTED
        return run

    return KEYLIKE.sub(mask, body)
