"""One log line per request, followed by one per failed attempt of that request.

Lines go through `logging` (see localgate.logs: queued on the loop, written
by a background thread, as text or JSON). Each carries the request id, and
the failed attempts of a request are held back until the request ends, so
they follow its line instead of interleaving with other requests' lines.

In the daemon a line is not even made on the loop: the record and its text
are made by the log's writer thread (`DaemonLog.defer`), many in a row. Made
once per request amid the request's own work, they cost the loop several
times what they cost there: deferred, small chat at c=32 served 3.5-8.6% more
requests a second in an A/B, and c=1 answered ~15 µs sooner
(docs/benchmarks.md, round fifteen).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

from localgate.events import AttemptFailed, RequestDone
from localgate.providers.base import CHAT, GENERATE, MESSAGES

CHAT_OPS = frozenset((MESSAGES, CHAT, GENERATE))  # the usual: their lines name no op
MAX_HELD = 10_000  # requests whose failed attempts wait for their end line, at most
MAX_VALUE = 200  # characters of one value (a model, an error) a log line shows


class RequestLog:
    """An observer of gateway events that logs them to `localgate.requests`.

    With `defer` (the daemon's `DaemonLog.defer`), each record is handed over
    as a function that makes it, called off the loop; the logger's level still
    decides at once whether there is a line at all.
    """

    def __init__(
        self,
        logger: logging.Logger | None = None,
        *,
        defer: Callable[[Callable[[], logging.LogRecord]], None] | None = None,
    ):
        self.log = logger or logging.getLogger("localgate.requests")
        self._defer = defer
        self._held: dict[str, list[AttemptFailed]] = {}  # request id → its failed attempts
        self._blank: dict | None = None  # a record's attributes that never change

    def __call__(self, event: object) -> None:
        if isinstance(event, AttemptFailed):
            if len(self._held) >= MAX_HELD:  # a request that never ended: log its attempts now
                oldest = next(iter(self._held))
                for attempt in self._held.pop(oldest):
                    self._attempt(attempt)
            self._held.setdefault(event.request_id, []).append(event)
        elif isinstance(event, RequestDone):
            self._emit(
                functools.partial(request_line, event),
                {
                    "request_id": event.request_id,
                    "style": _status_style(event),
                    # Made by the JSON formatter, on the writer thread, when it runs.
                    "fields": functools.partial(request_fields, event),
                },
            )
            for attempt in self._held.pop(event.request_id, ()):
                self._attempt(attempt)

    def _attempt(self, e: AttemptFailed) -> None:
        if e.kind == "resend":
            line = f"  ↳ {e.account} on {_cut(e.model)}: {_cut(e.reason)}"
        else:
            wait = "invalid" if e.cooldown is None else f"cooling {e.cooldown:.0f}s"
            line = f"  ↳ {e.account} failed on {_cut(e.model)}: {_cut(e.reason)} ({wait}); moved on"
        fields = {
            "event": "attempt_failed",
            "account": e.account,
            "model": e.model,
            "kind": e.kind,
            "reason": e.reason,
            "cooldown": e.cooldown,
        }
        self._emit(line, {"request_id": e.request_id, "style": "yellow", "fields": fields})

    def _emit(self, line: str | Callable[[], str], extra: dict) -> None:
        """Log `line` (or what the function `line` makes) now, or hand it to `defer`."""
        if not self.log.isEnabledFor(logging.INFO):
            return
        make = functools.partial(self._record, line, extra, time.time_ns())
        if self._defer is None:
            self.log.handle(make())
        else:
            self._defer(make)

    def _record(self, line: str | Callable[[], str], extra: dict, now: int) -> logging.LogRecord:
        # What logger.info makes, less its walk up the stack for the caller's file and
        # line, and less LogRecord.__init__: a record's thread, process and source
        # never change here, so they are made once and copied (a quarter of the cost).
        if self._blank is None:
            made = self.log.makeRecord(self.log.name, logging.INFO, "", 0, "", None, None)
            self._blank = vars(made)
        record = logging.LogRecord.__new__(logging.LogRecord)
        attributes = vars(record)
        attributes.update(self._blank)
        attributes["created"] = now / 1e9
        attributes["msecs"] = (now % 1_000_000_000) // 1_000_000
        attributes["relativeCreated"] = (now - logging._startTime * 1e9) / 1e6
        attributes["msg"] = line if isinstance(line, str) else line()
        attributes.update(extra)
        return record


def request_line(e: RequestDone) -> str:
    """`anthropic claude-x → work 200 412ms in=10 out=20 stream` (no time, no id); media
    operations add what they made or heard: `images=2`, `audio=12.5s`, `speech=140ch`."""
    served = e.account or "-"
    if e.model_used and e.model_used != e.model:
        served += f" as {_cut(e.model_used)}"
    usage = e.usage
    tokens = f"in={usage.input_tokens} out={usage.output_tokens}"
    if usage.cache_read_tokens or usage.cache_creation_tokens:
        tokens += f" cache={usage.cache_read_tokens}r/{usage.cache_creation_tokens}w"
    if usage.images:  # media operations: what the ledger counts beside tokens
        tokens += f" images={usage.images}"
    if usage.audio_seconds:
        tokens += f" audio={usage.audio_seconds:g}s"
    if usage.speech_characters:
        tokens += f" speech={usage.speech_characters}ch"
    status = "gone" if e.client_gone else str(e.status)
    line = f"{e.dialect:<9} {_cut(e.model)} → {served} {status} {e.latency * 1000:.0f}ms {tokens}"
    if e.op not in CHAT_OPS:  # embeddings, audio, images… say which
        line += f" op={e.op}"
    if e.stream:
        line += " stream"
    if e.dropped:
        line += f" dropped={_cut(','.join(e.dropped))}"
    if e.error:
        line += f" | {_cut(e.error)}"
    return line


def request_fields(e: RequestDone) -> dict:
    """The request as JSON-able fields, for `serve --log-format json`."""
    return {"event": "request", **e.fields()}


def _cut(value: str, limit: int = MAX_VALUE) -> str:
    """`value` on one line and at most `limit` characters: values may come from clients
    and upstreams, and a newline in one would forge the next log line. (The JSON
    format escapes on its own; its fields keep the values whole.)"""
    if len(value) > limit:
        value = value[:limit] + f"…(+{len(value) - limit})"
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)


def _status_style(e: RequestDone) -> str | None:
    if e.status >= 500 or e.error:
        return "red"
    if e.status >= 400:
        return "yellow"
    return None
