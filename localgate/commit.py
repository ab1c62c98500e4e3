"""Committing an account's answer to the client: the step after the attempt loop chose it.

A stream is relayed event by event (passed through or translated), media bytes
as they come, a whole answer checked, its usage read and translated when
needed. Past this point nothing fails over: the client has (or is about to
have) the answer.
"""

from __future__ import annotations

import time

from aiohttp import web

from localgate import dialects, jsonwire
from localgate.dialects import media
from localgate.drain import Drain
from localgate.pool.failures import Failure, FailureKind
from localgate.relay import Passthrough, Translated, Verbatim, relay_stream


async def commit_stream(
    req, resp, first, translator, upstream, headers, record, http_request, echoed, masked,
    *, max_event: int, drain: Drain,
) -> web.StreamResponse:  # fmt: skip
    """A 2xx event stream whose head was read (`first`): relayed to the end."""
    if translator:
        relay = Translated(translator, upstream, masked=masked, max_event=max_event)
    else:
        hidden = dialects.get(upstream).hides_usage(req.body)
        relay = Passthrough(
            upstream,
            echoed,
            hide_usage=hidden,
            account=record.account,
            masked=masked,
            max_event=max_event,
        )
    response = web.StreamResponse(status=200, headers=headers)
    response.content_type = (
        dialects.get(req.dialect).STREAM_CONTENT_TYPE
        if translator
        else resp.content_type or "text/event-stream"
    )
    record.ttfb = time.monotonic() - req.received
    with drain.stream(resp):
        await relay_stream(resp, first, relay, response, http_request, record)
    req.answer = relay.answer
    return response


async def commit_media(req, resp, first, headers, record, http_request, *, max_event: int):
    """Audio, a text transcript or an event stream of the upstream's own: its bytes
    go to the client as they arrive, never decoded; usage is read from events."""
    kind = resp.headers.get("content-type", "application/octet-stream")
    tap = media.usage_tap() if "event-stream" in kind else None
    response = web.StreamResponse(status=resp.status, headers=headers)
    response.headers["content-type"] = kind
    record.ttfb = time.monotonic() - req.received
    relay = Verbatim(tap, max_event)
    await relay_stream(resp, first, relay, response, http_request, record)
    return response


def commit_body(
    req,
    resp,
    payload,
    translator,
    upstream,
    headers,
    record,
    renamed,
    reshape=None,
    *,
    accept_empty=True,
):
    """A whole answer: checked to be JSON and (unless `accept_empty`) not empty,
    usage read, translated when needed. A Failure when another account should try.

    `payload` (a bytearray from read_bounded) is emptied once parsed when the
    answer is translated, so a large one is not held three times over.
    """
    resp.release()
    try:
        data = jsonwire.loads(payload)
        if translator is not None:
            payload.clear()
        if not isinstance(data, dict):
            raise ValueError("not an object")
        if reshape is not None:  # the provider's own answer shape, made its dialect's
            reshaped = reshape(data)
            if reshaped is not data:
                data, payload = reshaped, jsonwire.dumps(reshaped)
        dialect = dialects.get(upstream)
        record.usage = dialect.response_usage(data)
        if not accept_empty and dialect.is_empty_answer(data):
            reason = "answered with nothing (no content, no tool call, no refusal)"
            return Failure(FailureKind.EMPTY, reason)
        if translator:
            req.answer = translator.response(data)
            payload = jsonwire.dumps(req.answer)
        else:
            req.answer = _passthrough_answer(data, payload, upstream, record.account, renamed)
            if req.answer is not data:
                payload = jsonwire.dumps(req.answer)
    except ValueError:  # UnicodeDecodeError included
        return Failure(FailureKind.SERVER_ERROR, "answered with a body that is not JSON")
    return web.Response(body=payload, status=200, headers=headers, content_type="application/json")


def is_json(resp) -> bool:
    return resp.headers.get("content-type", "").lower().startswith("application/json")


def _passthrough_answer(
    data: dict, payload, upstream: str, account: str, renamed: str | None
) -> dict:
    """A relayed whole answer as the client gets it: renamed when an alias served it,
    with account-bound state tagged (dialects that hand some out define `seal_answer`,
    and SEALED, the bytes an answer holds when it has some: without them the answer
    goes on as it came, not rebuilt and written again)."""
    dialect = dialects.get(upstream)
    if renamed and (key := dialect.MODEL_FIELD) in data:
        data = {**data, key: renamed}
    seal = dialects.optional(upstream, "seal_answer")
    if seal is None or dialect.SEALED not in payload:
        return data
    return seal(data, account)
