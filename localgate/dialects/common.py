"""Request checks shared by every dialect (typed fields, model names), and what the
dialects share to read answers: errors, usage, streams."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from localgate import jsonwire, sse
from localgate.dialects.usage import Usage
from localgate.door import json_type
from localgate.errors import InvalidRequest

# A run of characters keys are made of; shorter pieces of a key betray little.
KEYLIKE = re.compile(rb"[A-Za-z0-9_+/-]{8,}")
REDACTED = b"[redacted]"
# Longer than any real model id (Bedrock ARNs stay under 200); it travels into
# upstream URLs, response headers, the routing cache and every log line.
MAX_MODEL_NAME = 256


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


def field(
    body: Mapping[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = False
):
    """body[name] checked against `kind` (bools are not numbers here)."""
    value = body.get(name)
    _check_type(name, type(value), kind, required)
    return value


def check_field(
    body: Mapping[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = False
) -> None:
    """As `field`, for a value the gateway does not need: not read where the body can
    tell its type unread (history and contents are most of a relayed request)."""
    _check_type(name, json_type(body, name), kind, required)


def _check_type(name: str, actual: type, kind, required: bool) -> None:
    if actual is type(None):
        if required:
            raise InvalidRequest(f"{name}: field required", param=name)
        return
    if actual is bool and bool not in _as_tuple(kind):
        raise InvalidRequest(f"{name}: expected {_names(kind)}, got a boolean", param=name)
    if not issubclass(actual, kind):
        raise InvalidRequest(f"{name}: expected {_names(kind)}, got {_names(actual)}", param=name)


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
