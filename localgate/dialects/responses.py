"""The OpenAI Responses wire (Codex CLI, the Agents SDK): requests, errors, streams, usage.

Reasoning an OpenAI account returns (`encrypted_content`) can be decrypted
only by that account's organisation, and Codex replays it word for word on
every turn, whichever account serves the next one. So on the way out to the
client every blob is tagged with the account that made it
(`localgate:responses@<account>:<item id>:<blob>`, translate/seal.py), and on
the way back to an OpenAI account only that account's own blobs are untagged
and kept; the other reasoning items are left out (other accounts would answer
400 `invalid_encrypted_content`). Blobs localgate never tagged (from a session
that began without it) go as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from localgate import jsonwire, sse
from localgate.dialects.common import Inspected, UsageTap, field, rename_in_events
from localgate.dialects.openai import error_body, error_payload  # noqa: F401 (OpenAI's shape)
from localgate.dialects.usage import Usage
from localgate.door import holds, json_type
from localgate.errors import KINDS, GatewayError, InvalidRequest
from localgate.translate import seal
from localgate.translate.compaction import as_history
from localgate.translate.responses import usage_to_ir

NAME = "responses"
MODEL_IN_BODY = True
MODEL_FIELD = "model"  # where a whole answer names its model
STREAM_CONTENT_TYPE = "text/event-stream; charset=utf-8"
TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})


def inspect(op: str, body: Mapping, headers: Mapping[str, str]) -> Inspected:
    """Check the fields the gateway relies on; the translators check the rest."""
    model = field(body, "model", str, required=True)
    if json_type(body, "input") not in (str, list, type(None)):
        raise InvalidRequest("input: expected a string or an array of items", param="input")
    stream = bool(field(body, "stream", bool))
    field(body, "previous_response_id", str)
    return Inspected(model, stream and op == "responses", session_key(body, headers))


def session_key(body: Mapping, headers: Mapping[str, str]) -> str | None:
    """Codex names its thread in `prompt_cache_key` and the `session-id` header."""
    for value in (body.get("prompt_cache_key"), headers.get("session-id"), body.get("user")):
        if isinstance(value, str) and value:
            return value
    return None


# The bytes a body or event holds when it carries a reasoning blob: without them
# there is nothing to seal or unseal, and no walk over the JSON is made.
SEALED = b'"encrypted_content"'
# And when it carries a compaction localgate sealed (`seal.seal_compaction`).
SEALED_COMPACTION = f'"{seal.PREFIX}{seal.COMPACTION}:'.encode()


def outbound(body: Mapping, raw: bytes, account: str = "") -> dict:
    """The members a relay to the OpenAI account `account` must change (none: the
    body goes as received): only its own reasoning goes back, untagged. Other
    accounts' and providers' would be refused, and so may blobs localgate never
    tagged (a session begun elsewhere: whose organisation made them is unknown), so
    those items are left out. The byte check keeps the first turn free of any walk
    over the body."""
    items = body.get("input") if holds(body, raw, "input", SEALED) else None
    if not isinstance(items, list):
        return {}
    own = seal.responses_origin(account)
    kept = []
    for item in items:
        content = item.get("encrypted_content") if isinstance(item, dict) else None
        tagged = seal.unwrap(content)
        if content is None or (tagged is None and item.get("type") != "reasoning"):
            kept.append(item)  # OpenAI's own compactions go back as they came
        elif item.get("type") == "reasoning" and tagged is not None and tagged[0] == own:
            kept.append({**item, "encrypted_content": tagged[1].partition(":")[2]})
        # Anything else tagged is localgate's own state that OpenAI cannot read.
    return {"input": kept}


def open_compactions(body: dict, key: bytes) -> dict:
    """`body` with the compaction items localgate sealed opened into the summary they
    hold (user text every provider reads, OpenAI included); returns `body` itself
    when there are none."""
    items = body.get("input")
    if not isinstance(items, list) or not any(_is_ours(i) for i in items):
        return body
    opened = []
    for item in items:
        summary = (
            seal.open_compaction(item.get("encrypted_content"), key) if _is_ours(item) else None
        )
        if summary is not None:
            text = {"type": "input_text", "text": as_history(summary)}
            opened.append({"type": "message", "role": "user", "content": [text]})
        else:  # not ours, or it does not verify: the translator leaves it out and says so
            opened.append(item)
    return {**body, "input": opened}


def _is_ours(item) -> bool:
    return (
        isinstance(item, dict)
        and item.get("type") in ("compaction", "compaction_summary")
        and seal.unwrap(item.get("encrypted_content")) is not None
    )


def hides_usage(body: Mapping) -> bool:
    """Streams of this dialect always end with their usage: nothing to hide."""
    return False


def stream_error(err: GatewayError, tap: ResponsesTap | None = None) -> bytes:
    """`response.failed`, the event Codex and the SDK read as the end of a failed answer;
    it continues the relayed stream (`tap`): the same response id, the next sequence number."""
    kind = KINDS[err.kind]
    failed = {
        "type": "response.failed",
        "sequence_number": tap.events if tap is not None else 0,
        "response": {
            "id": tap.response_id if tap is not None else None,
            "object": "response",
            "status": "failed",
            "error": {"code": kind.openai_code or "server_error", "message": err.message},
            "output": [],
        },
    }
    return sse.encode(failed, "response.failed")


def response_usage(body: dict) -> Usage:
    usage = read_usage(body.get("usage"))
    usage.images = images_made(body)
    return usage


def images_made(response: dict) -> int:
    """The pictures the `image_generation` tool made in a whole `response`: one per
    completed call holding its image, as the images routes count theirs (the
    tokens they cost are in `usage` already)."""
    output = response.get("output")
    if not isinstance(output, list):
        return 0
    return sum(
        1
        for item in output
        if isinstance(item, dict)
        and item.get("type") == "image_generation_call"
        and item.get("status") == "completed"
        and item.get("result")
    )


def read_usage(usage) -> Usage:
    """Responses' input_tokens include cached ones; split them the Anthropic way."""
    u = usage_to_ir(usage)
    return Usage(u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_creation_tokens)


def is_terminal(event: sse.Event) -> bool:
    return _kind(event) in TERMINAL


def rename_stream_model(events: bytes, model: str) -> bytes:
    """`events` with the response object of each lifecycle event naming `model`."""
    return rename_in_events(events, b'"response"', lambda data: data["response"], model)


# What a stream opens with before it says anything (held back until the first content).
HEAD_EVENTS = frozenset({"response.created", "response.in_progress", "response.queued"})


def is_head(event: sse.Event) -> bool:
    """True for an event that carries nothing of the answer: the lifecycle events
    before any output, and a `response.completed` whose output is empty."""
    kind = _kind(event)
    if kind in HEAD_EVENTS:
        return True
    if kind != "response.completed":
        return False
    try:
        response = event.json().get("response") or {}
    except (ValueError, AttributeError):
        return False
    return not response.get("output")


# Error codes of `error` and `response.failed` events → the HTTP status they stand for.
ERROR_STATUSES = {
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "server_is_overloaded": 503,
    "overloaded": 503,
    "slow_down": 503,
}


def is_empty_answer(body: dict) -> bool:
    """A whole response that completed with no output at all."""
    return not body.get("output") and body.get("status") in (None, "completed")


def stream_failure(event: sse.Event) -> int | None:
    """The HTTP status of an `error` or `response.failed` event; None for others."""
    kind = _kind(event)
    if kind not in ("error", "response.failed"):
        return None
    try:
        data = event.json()
    except ValueError:
        return 500
    error = data.get("error") or (data.get("response") or {}).get("error") or data
    code = error.get("code") if isinstance(error, dict) else None
    return ERROR_STATUSES.get(code, 500)


def _kind(event: sse.Event) -> str | None:
    if event.event:
        return event.event
    found = _TYPE.search(event.data)
    return found[1] if found else None


_TYPE = re.compile(r'"type"\s*:\s*"([^"]+)"')
_ID = re.compile(r'"id"\s*:\s*"(resp_[^"]+)"')


class ResponsesTap(UsageTap):
    """A usage tap that also keeps the final response object (for the response store),
    and the response id and event count a failure event must continue with."""

    __slots__ = ("answer", "response_id", "events")

    def __init__(self) -> None:
        super().__init__(_read_event, is_terminal)
        self.answer: dict | None = None
        self.response_id: str | None = None
        self.events = 0


def usage_tap() -> ResponsesTap:
    return ResponsesTap()


def _read_event(event: sse.Event, tap: ResponsesTap) -> None:
    tap.events += 1
    kind = _kind(event)
    if kind == "response.created" and tap.response_id is None:
        found = _ID.search(event.data)
        tap.response_id = found[1] if found else None
    if kind not in TERMINAL:
        return
    try:
        data = event.json()
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    response = data.get("response") if isinstance(data.get("response"), dict) else {}
    tap.usage = response_usage(response)
    if data.get("type") in ("response.completed", "response.incomplete"):
        tap.answer = response
    else:
        error = response.get("error") or data.get("error") or data
        tap.error = str(error.get("message") if isinstance(error, dict) else error)


def seal_events(events: bytes, account: str) -> bytes:
    """Whole SSE events with the reasoning blobs in them tagged with `account`."""
    if SEALED not in events:
        return events
    out = []
    for line in events.split(b"\n"):
        if line.startswith(b"data:") and SEALED in line:
            try:
                data = jsonwire.loads(line[5:])
            except ValueError:
                out.append(line)
                continue
            cr = b"\r" if line.endswith(b"\r") else b""
            line = b"data: " + jsonwire.dumps(seal_answer(data, account)) + cr
        out.append(line)
    return b"\n".join(out)


def seal_answer(data, account: str):
    """A response (or event) with every reasoning item's blob tagged with `account`."""
    if isinstance(data, dict):
        if data.get("type") == "reasoning" and isinstance(data.get("encrypted_content"), str):
            blob = data["encrypted_content"]
            if seal.unwrap(blob) is None:
                value = f"{data.get('id', '')}:{blob}"
                return {
                    **data,
                    "encrypted_content": seal.wrap(seal.responses_origin(account), value),
                }
            return data
        return {k: seal_answer(v, account) for k, v in data.items()}
    if isinstance(data, list):
        return [seal_answer(v, account) for v in data]
    return data


def models_list(ids: list[str]) -> dict:
    from localgate.dialects.openai import models_list as openai_models

    return openai_models(ids)
