"""Relaying one upstream answer that the gateway has committed to.

Two kinds of stream relay share one loop: `Passthrough` forwards the
upstream's bytes untouched (same dialect on both sides) while a tap reads usage
from them; `Translated` turns each upstream event into the client's events at
once. Both forward whole events only, so a stream cut mid-event ends with a
clean error event instead of half a JSON object, and both say afterwards
(`error`) whether the answer was cut short or failed inside its stream.

Before either begins, `StreamHead` reads the upstream's opening events
(message_start, role chunk…) until the first content: an error or an empty
answer there is a failure like a 5xx, and another account can still serve.
"""

from __future__ import annotations

from aiohttp import web

from localgate import dialects, sse
from localgate.dialects.common import redact
from localgate.dialects.usage import Usage
from localgate.errors import (
    ConnectionFailed,
    EventTooLarge,
    GatewayError,
    UpstreamError,
    UpstreamTimeout,
)
from localgate.httpclient import Response

# The fields an SSE stream can open with (a comment line starts with a colon).
SSE_FIELDS = (b"data:", b"event:", b"id:", b"retry:", b":")
UTF8_BOM = b"\xef\xbb\xbf"


def is_event_stream(content_type: str, first: bytes) -> bool:
    """Whether a 2xx answer to a stream request is a stream at all.

    A captive portal or a misrouted proxy answers 200 with an HTML page or a
    JSON body; committing to it would end the client's stream in an error that
    another account could have spared it. The declared type settles it; without
    it the first bytes must open an SSE field (or be a prefix of one).
    """
    if "event-stream" in content_type.lower():
        return True
    head = first.removeprefix(UTF8_BOM).lstrip(b"\r\n")[:8]
    return bool(head) and any(f.startswith(head) or head.startswith(f) for f in SSE_FIELDS)


class ClientGone(Exception):
    """The client closed its connection while we were writing to it."""


INCOMPLETE = "the upstream ended the stream before it was complete"


class StreamHead:
    """The opening of an upstream stream, held until it shows what it is.

    Feed it chunks until `decided`: `failure` (the status of an error event
    before any content), `content` (the first content event arrived), or
    `ended` (the stream ended with nothing but its head: an empty answer when
    its terminal event came, `cut` short when the connection just closed).
    `held` is every byte fed, for the relay to send on. The dialect module
    says what a head event is (`is_head`) and what an error looks like
    (`stream_failure`); content is never held: it decides at once.
    """

    __slots__ = (
        "_dialect",
        "_parser",
        "_limit",
        "held",
        "failure",
        "failure_body",
        "content",
        "ended",
        "cut",
    )

    def __init__(self, dialect: str, limit: int | None = None) -> None:
        self._dialect = dialects.get(dialect)
        self._parser = sse.SSEParser(limit)  # raises EventTooLarge past `limit` bytes
        self._limit = limit
        self.held = b""
        self.failure: int | None = None
        self.failure_body = b""
        self.content = False
        self.ended = False
        self.cut = False

    @property
    def decided(self) -> bool:
        return self.failure is not None or self.content or self.ended

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk of the stream (b"" when it ended)."""
        self.held += chunk
        events = self._parser.feed(chunk) if chunk else self._parser.flush()
        for event in events:
            status = self._dialect.stream_failure(event)
            if status is not None:
                self.failure, self.failure_body = status, event.data.encode()
                return
            if not self._dialect.is_head(event):
                self.content = True
                return
            if self._dialect.is_terminal(event):
                self.ended = True
        if not chunk and not self.ended:
            self.ended = self.cut = True
        if self._limit is not None and len(self.held) > self._limit and not self.decided:
            raise EventTooLarge(f"the stream's opening went past {self._limit} bytes")


class Passthrough:
    """Same dialect: bytes out as they came in, cut at event boundaries."""

    __slots__ = (
        "_dialect",
        "_tap",
        "_cutter",
        "_rename",
        "_hide_usage",
        "_masked",
        "_account",
        "_seal",
        "error",
    )

    def __init__(
        self,
        dialect: str,
        client_model: str | None = None,
        hide_usage: bool = False,
        account: str | None = None,
        masked: tuple[str, ...] = (),
        max_event: int | None = None,
    ):
        self._dialect = dialects.get(dialect)
        self._tap = self._dialect.usage_tap()
        self._cutter = sse.EventCutter(max_event)  # bytes of one event, at most
        self._rename = client_model  # the model name the answer must carry (see gateway)
        self._hide_usage = hide_usage  # asked for our accounting, not by the client
        self._masked = masked  # the account's secrets, should an error event echo one
        # Dialects that hand out state only the serving account can read back
        # (Responses reasoning) tag it with the account (dialects/responses.py).
        self._account = account
        self._seal = dialects.optional(dialect, "seal_events") if account else None
        self.error: str | None = None  # what cut the answer short, once it ended

    @property
    def usage(self):
        return self._tap.usage

    @property
    def answer(self) -> dict | None:
        """The whole answer, for dialects whose tap keeps it (Responses)."""
        return getattr(self._tap, "answer", None)

    def feed(self, chunk: bytes) -> bytes:
        """The whole events `chunk` completes (raises EventTooLarge past the limit)."""
        whole = self._cutter.feed(chunk)
        if not whole:  # no complete event yet
            return b""
        if self._rename:
            whole = self._dialect.rename_stream_model(whole, self._rename)
        if self._seal is not None:
            whole = self._seal(whole, self._account)
        self._tap.feed(whole)
        if self._tap.error is not None:  # an error event went by: its text may echo the key
            whole = redact(whole, self._masked)
        if self._hide_usage:
            whole = self._dialect.drop_usage_chunks(whole)
        return whole

    def finish(self) -> bytes:
        if self._tap.error:  # the upstream's own error event went by: the answer failed
            self.error = _said(self._tap.error, self._masked)
        if self._tap.complete:
            return self._cutter.take_tail()
        return self.fail(UpstreamError(INCOMPLETE))

    def fail(self, error: GatewayError) -> bytes:
        self.error = self.error or error.message
        # The tap knows what the error event must continue (Responses: id, sequence).
        return self._dialect.stream_error(error, self._tap)


class Verbatim:
    """Bytes out exactly as they came: audio, a text transcript, an upstream's own events.

    An event stream's usage is read on the way by `tap` (the client dialect's).
    Nothing can be said inside audio when the upstream breaks off, so `fail`
    answers None and the client's connection is cut instead of ended cleanly.
    """

    __slots__ = ("_tap", "_cutter", "error")

    def __init__(self, tap=None, max_event: int | None = None):
        self._tap = tap
        self.error: str | None = None  # bytes as they came: nothing to say after them
        # The tap reads whole events; the client gets the chunks as they came.
        self._cutter = sse.EventCutter(max_event) if tap is not None else None

    @property
    def usage(self):
        return self._tap.usage if self._tap is not None else Usage()

    def feed(self, chunk: bytes) -> bytes:
        if self._cutter is not None:
            whole = self._cutter.feed(chunk)
            if whole:
                self._tap.feed(whole)
        return chunk

    def finish(self) -> bytes:
        return b""

    def fail(self, error: GatewayError) -> None:
        return None


class Translated:
    """Another dialect upstream: each upstream event becomes client events at once."""

    __slots__ = ("_parser", "_stream", "_upstream", "_complete", "_masked", "error")

    def __init__(
        self,
        translator,
        upstream_dialect: str,
        masked: tuple[str, ...] = (),
        max_event: int | None = None,
    ):
        self._parser = sse.SSEParser(max_event)  # bytes of one event, at most
        self._stream = translator.stream()
        self._upstream = dialects.get(upstream_dialect)
        self._complete = False
        self._masked = masked  # the account's secrets, should an error event echo one
        self.error: str | None = None  # what cut the answer short, once it ended

    @property
    def usage(self) -> Usage:
        """The tokens as the record holds them (the translation counts in its own shape)."""
        u = self._stream.usage
        return Usage(u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_creation_tokens)

    @property
    def answer(self) -> dict | None:
        """The whole answer, for client dialects whose encoder keeps it (Responses)."""
        return getattr(self._stream.encoder, "answer", None)

    def feed(self, chunk: bytes) -> bytes:
        out = []
        for event in self._parser.feed(chunk):
            if self._upstream.is_terminal(event):
                self._complete = True
            out.append(self._stream.feed(event))
        if self._stream.failed:  # the upstream's error became ours: its text may echo the key
            return redact(b"".join(out), self._masked)
        return b"".join(out)

    def finish(self) -> bytes:
        tail = b"".join(self._stream.feed(e) for e in self._parser.flush())
        if self._stream.failure:  # the upstream's own error event, already relayed
            self.error = _said(self._stream.failure, self._masked)
            return tail
        if not self._complete:
            return tail + self.fail(UpstreamError(INCOMPLETE))
        return tail + self._stream.finish()

    def fail(self, error: GatewayError) -> bytes:
        self.error = self.error or error.message
        return self._stream.fail(error)


def _said(message: str, masked) -> str:
    """The record's words for an upstream's in-stream error (never a secret in them)."""
    text = f"the upstream failed mid-stream: {message}"
    return redact(text.encode(), masked).decode("utf-8", errors="replace")


async def relay_stream(
    upstream: Response,
    first: bytes,
    relay: Passthrough | Translated | Verbatim,
    response: web.StreamResponse,
    request: web.Request,
    record,
) -> None:
    """Send `first` and everything after it to the client as it arrives.

    Never retries: once bytes reached the client, an upstream failure ends the
    stream with the dialect's error event. Fills `record` (usage, error, client_gone).
    """
    finished = False
    try:
        try:
            await response.prepare(request)
        except ConnectionResetError as exc:  # gone before the headers: not our error
            raise ClientGone from exc
        try:
            await _write(response, relay.feed(first))
            async for chunk in upstream.content.iter_any():
                await _write(response, relay.feed(chunk))
            tail = relay.finish()
            finished = True
        except TimeoutError:
            record.error = "the upstream stalled mid-stream"
            tail = relay.fail(UpstreamTimeout(record.error + "; the answer is incomplete"))
        except ConnectionFailed as exc:
            record.error = f"the upstream stream broke: {exc}"
            tail = relay.fail(UpstreamError(record.error + "; the answer is incomplete"))
        except GatewayError as exc:  # an event past max_event_mb, a shutdown: say so
            record.error = exc.message
            tail = relay.fail(exc)
        if tail is None:  # no way to say it inside the answer: cut it so it reads as cut
            if request.transport is not None:
                request.transport.abort()
            return
        await _write(response, tail)
        await response.write_eof()
    except ClientGone:
        record.client_gone = True
    finally:
        record.usage = relay.usage
        record.error = record.error or relay.error
        if finished:
            upstream.release()
        else:
            upstream.close()  # drop the connection: the upstream stops generating


async def _write(response: web.StreamResponse, data: bytes) -> None:
    if not data:
        return
    try:
        await response.write(data)
    except ConnectionResetError as exc:  # aiohttp's ClientConnectionResetError included
        raise ClientGone from exc
