"""The Gemini generateContent wire (Gemini API and Vertex): requests, errors, streams, usage.

The model and the stream flag travel in the URL
(`/v1beta/models/{model}:streamGenerateContent?alt=sse`), not in the body.
"""

from __future__ import annotations

import json

from localgate import sse
from localgate.dialects.common import Inspected, UsageTap, field
from localgate.dialects.usage import Usage, as_int
from localgate.errors import KINDS, GatewayError

NAME = "gemini"
ECHO_CLIENT_MODEL = False  # answers keep the upstream's (often versioned) name
MODEL_IN_BODY = False  # the model is in the URL
STREAM_CONTENT_TYPE = "text/event-stream"


def inspect(model: str, stream: bool, body: dict) -> Inspected:
    field(body, "contents", list, required=True)
    return Inspected(model, stream, None)


def outbound(body: dict, raw: bytes, account: str = "") -> dict:
    """What a same-dialect relay must change before the body goes upstream: nothing."""
    return body


def hides_usage(body: dict) -> bool:
    """Streams of this dialect always carry their usage: nothing to hide."""
    return False


def error_payload(err: GatewayError) -> dict:
    return {
        "error": {
            "code": err.status,
            "message": err.message,
            "status": KINDS[err.kind].google_status,
        }
    }


def error_body(err: GatewayError, request_id: str | None = None) -> bytes:
    return json.dumps(error_payload(err)).encode()


def stream_error(err: GatewayError, tap=None) -> bytes:
    return sse.encode(error_payload(err))


def response_usage(body: dict) -> Usage:
    return read_usage(body.get("usageMetadata"))


def read_usage(meta) -> Usage:
    """promptTokenCount includes cached tokens; output is candidates plus thoughts."""
    if not isinstance(meta, dict):
        return Usage()
    cached = as_int(meta.get("cachedContentTokenCount"))
    return Usage(
        max(as_int(meta.get("promptTokenCount")) - cached, 0),
        as_int(meta.get("candidatesTokenCount")) + as_int(meta.get("thoughtsTokenCount")),
        cached,
        0,
    )


def is_terminal(event: sse.Event) -> bool:
    """Gemini sends no terminator: the chunk with a finishReason is the last one."""
    return '"finishReason"' in event.data or event.data.startswith('{"error"')


def usage_tap() -> UsageTap:
    """A tap that reads usageMetadata from a passing Gemini stream; the last one wins."""
    return UsageTap(_read_event, is_terminal)


def _read_event(event: sse.Event, tap: UsageTap) -> None:
    if '"usageMetadata"' not in event.data and '"error"' not in event.data:
        return
    try:
        parsed = json.loads(event.data)
    except ValueError:
        return
    if not isinstance(parsed, dict):
        return
    if "usageMetadata" in parsed:
        tap.usage = read_usage(parsed["usageMetadata"])
    if isinstance(parsed.get("error"), dict):
        tap.error = str(parsed["error"].get("message") or "error event")


def models_list(ids: list[str]) -> dict:
    """GET /v1beta/models in Gemini's shape."""
    return {
        "models": [
            {
                "name": f"models/{i}",
                "displayName": i,
                "supportedGenerationMethods": ["generateContent"],
            }
            for i in ids
        ]
    }
