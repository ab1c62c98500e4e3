"""The Gemini generateContent wire (Gemini API and Vertex): requests, errors, streams, usage.

The model and the stream flag travel in the URL
(`/v1beta/models/{model}:streamGenerateContent?alt=sse`), not in the body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from localgate import jsonwire, sse
from localgate.dialects.common import (
    Inspected,
    UsageTap,
    check_field,
    rename_in_events,
)
from localgate.dialects.usage import Usage, as_int
from localgate.door import holds
from localgate.errors import KINDS, GatewayError

NAME = "gemini"
MODEL_IN_BODY = False  # the model is in the URL
MODEL_FIELD = "modelVersion"  # where a whole answer names its model
STREAM_CONTENT_TYPE = "text/event-stream"


def inspect(model: str, stream: bool, body: Mapping) -> Inspected:
    check_field(body, "contents", list, required=True)
    return Inspected(model, stream, None)


# How a thoughtSignature carrying Claude's thinking begins: base64 of its tag
# (translate/gemini_parts.CARRIED; a test holds the two together).
CARRIED_THINKING = b'"bG9jYWxnYXRlOmFudGhyb3BpYy10aG91Z2h0'


def outbound(body: Mapping, raw: bytes, account: str = "") -> dict:
    """The members a same-dialect relay must change before the body goes upstream
    (none: it goes as received).

    Claude's thinking carried in a call's thoughtSignature (after a fallback from
    a Claude account) is nothing Google could verify: drop it. The byte check
    keeps the common case free of any walk over the body.
    """
    contents = body.get("contents") if holds(body, raw, "contents", CARRIED_THINKING) else None
    if not isinstance(contents, list):
        return {}
    from localgate.translate.gemini_parts import drop_carried

    return {"contents": drop_carried(contents)}


def hides_usage(body: Mapping) -> bool:
    """Streams of this dialect always carry their usage: nothing to hide."""
    return False


def rename_stream_model(events: bytes, model: str) -> bytes:
    """`events` with every chunk's `modelVersion` naming `model`."""
    return rename_in_events(events, b'"modelVersion"', lambda data: data, model, "modelVersion")


# Finish reasons that are an answer of their own, even with no content before them.
ANSWERING_FINISHES = frozenset(
    {
        "MAX_TOKENS",
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "MALFORMED_FUNCTION_CALL",
        "OTHER",
        "LANGUAGE",
    }
)


def _chunk(event: sse.Event):
    try:
        chunk = jsonwire.loads(event.data)
    except ValueError:
        return None
    if isinstance(chunk, list):  # a JSON-array framing of one chunk
        chunk = chunk[0] if chunk else {}
    return chunk if isinstance(chunk, dict) else None


def is_head(event: sse.Event) -> bool:
    """True for a chunk that carries nothing of the answer (may be held back)."""
    chunk = _chunk(event) if event.data else {}
    return chunk is not None and "error" not in chunk and is_empty_answer(chunk)


def is_empty_answer(body: dict) -> bool:
    """A response (or chunk) with no content, no call and no block.

    A `promptFeedback.blockReason` without candidates is a whole answer: a refusal.
    """
    if (body.get("promptFeedback") or {}).get("blockReason"):
        return False
    for candidate in body.get("candidates") or []:
        if candidate.get("finishReason") in ANSWERING_FINISHES:
            return False
        for part in (candidate.get("content") or {}).get("parts") or []:
            if part.get("text") or any(k in part for k in ANSWER_PARTS):
                return False
    return True


ANSWER_PARTS = ("functionCall", "inlineData", "executableCode", "fileData")


def stream_failure(event: sse.Event) -> int | None:
    """The HTTP status of an in-stream error chunk (`{"error": {"code": …}}`); None for others."""
    if '"error"' not in event.data:
        return None
    chunk = _chunk(event)
    if chunk is None or not isinstance(chunk.get("error"), dict):
        return None
    code = chunk["error"].get("code")
    return code if isinstance(code, int) and 400 <= code < 600 else 500


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
    """Gemini sends no terminator: the chunk with a finishReason is the last one, or
    the one with `promptFeedback.blockReason` (a blocked prompt, a whole answer)."""
    data = event.data
    return '"finishReason"' in data or '"blockReason"' in data or data.startswith('{"error"')


def usage_tap() -> UsageTap:
    """A tap that reads usageMetadata from a passing Gemini stream; the last one wins."""
    return UsageTap(_read_event, is_terminal)


def _read_event(event: sse.Event, tap: UsageTap) -> None:
    if '"usageMetadata"' not in event.data and '"error"' not in event.data:
        return
    try:
        parsed = jsonwire.loads(event.data)
    except ValueError:
        return
    if not isinstance(parsed, dict):
        return
    if "usageMetadata" in parsed:
        tap.usage = read_usage(parsed["usageMetadata"])
    if isinstance(parsed.get("error"), dict):
        tap.error = str(parsed["error"].get("message") or "error event")


GENERATION_METHODS = ("generateContent", "streamGenerateContent", "countTokens")
EMBEDDING_METHODS = ("embedContent", "batchEmbedContents")


def model_entry(model: str) -> dict:
    """A Gemini `Model` for `model`; what it supports follows from its kind."""
    methods = EMBEDDING_METHODS if "embed" in model else GENERATION_METHODS
    return {
        "name": f"models/{model}",
        "baseModelId": model,
        "displayName": model,
        "description": f"{model}, served by localgate",
        "supportedGenerationMethods": list(methods),
    }


def models_list(ids: list[str]) -> dict:
    """GET /v1beta/models in Gemini's shape (one page of it)."""
    return {"models": [model_entry(i) for i in ids]}
