"""Request checks shared by every dialect: JSON object bodies and typed fields."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from localgate import sse
from localgate.dialects.usage import Usage
from localgate.errors import InvalidRequest


def parse_object(raw: bytes) -> dict:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    if not raw:
        raise InvalidRequest("the request body is empty; send a JSON object")
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidRequest("the request body is not valid UTF-8") from None
    except ValueError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return body


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


def _names(kind) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "an array",
        dict: "an object",
    }
    return " or ".join(names.get(k, k.__name__) for k in _as_tuple(kind))


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
        parsed = json.loads(body)
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


class UsageTap:
    """Reads usage from a passing stream without altering it.

    `read(event, tap)` is the dialect's reader: it updates `tap.usage` and
    `tap.error` from the events that carry them. `complete` turns true when the
    dialect's terminal event goes by, so a cut stream can be told from a whole one.
    """

    __slots__ = ("_parser", "_read", "_is_terminal", "usage", "error", "complete")

    def __init__(
        self,
        read: Callable[[sse.Event, UsageTap], None],
        is_terminal: Callable[[sse.Event], bool],
    ) -> None:
        self._parser = sse.SSEParser()
        self._read = read
        self._is_terminal = is_terminal
        self.usage = Usage()
        self.error: str | None = None  # an error the upstream sent after its 200
        self.complete = False

    def feed(self, chunk: bytes) -> None:
        for event in self._parser.feed(chunk):
            if self._is_terminal(event):
                self.complete = True
            self._read(event, self)
