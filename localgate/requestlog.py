"""One console line per request (and per failed attempt), rich-coloured on a terminal."""

from __future__ import annotations

import asyncio
import logging
import sys
import time

from localgate.events import AttemptFailed, RequestDone
from localgate.providers.base import CHAT, GENERATE, MESSAGES

log = logging.getLogger("localgate.requests")
CHAT_OPS = frozenset((MESSAGES, CHAT, GENERATE))  # the usual: their lines name no op
FLUSH_DELAY = 0.05  # seconds a request line may wait to share a flush
MAX_VALUE = 200  # characters of one value (a model, an error) a log line shows


class RequestLog:
    """An observer of gateway events that prints them as they happen."""

    def __init__(self, stream=None, *, color: bool | None = None):
        self.stream = stream or sys.stderr
        self.color = self.stream.isatty() if color is None else color
        self._console = None
        self._pending: list[str] = []  # lines waiting for the next write
        if self.color:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False)

    def __call__(self, event: object) -> None:
        if isinstance(event, RequestDone):
            self._print(self._request_line(event), _status_style(event.status))
        elif isinstance(event, AttemptFailed):
            if event.kind == "resend":
                line = (
                    f"{_clock()}   ↳ {event.account} on {_cut(event.model)}: {_cut(event.reason)}"
                )
            else:
                wait = "invalid" if event.cooldown is None else f"cooling {event.cooldown:.0f}s"
                line = (
                    f"{_clock()}   ↳ {event.account} failed on {_cut(event.model)}: "
                    f"{_cut(event.reason)} ({wait}); moving on"
                )
            self._print(line, "yellow")

    def _request_line(self, e: RequestDone) -> str:
        served = e.account or "-"
        if e.model_used and e.model_used != e.model:
            served += f" as {_cut(e.model_used)}"
        usage = e.usage
        tokens = f"in={usage.input_tokens} out={usage.output_tokens}"
        if usage.cache_read_tokens or usage.cache_creation_tokens:
            tokens += f" cache={usage.cache_read_tokens}r/{usage.cache_creation_tokens}w"
        status = "gone" if e.client_gone else str(e.status)
        line = (
            f"{_clock()} {e.dialect:<9} {_cut(e.model)} → {served} {status} "
            f"{e.latency * 1000:.0f}ms {tokens}"
        )
        if e.op not in CHAT_OPS:  # embeddings, audio, images… say which
            line += f" op={e.op}"
        if e.stream:
            line += " stream"
        if e.dropped:
            line += f" dropped={_cut(','.join(e.dropped))}"
        if e.error:
            line += f" | {_cut(e.error)}"
        return line

    def _print(self, line: str, style: str | None) -> None:
        if self._console is not None:
            self._console.print(line, style=style, markup=False)
            return
        # stderr writes through at every line, a syscall per request (it showed in
        # the benchmark's profile): lines of one loop tick go out in one write.
        self._pending.append(line)
        if len(self._pending) > 1:
            return  # a flush is already due
        try:
            asyncio.get_running_loop().call_later(FLUSH_DELAY, self._flush)
        except RuntimeError:  # no loop (a CLI or a test): write now
            self._flush()

    def _flush(self) -> None:
        lines, self._pending = self._pending, []
        try:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # the log's reader went away; keep serving
            pass


def _cut(value: str, limit: int = MAX_VALUE) -> str:
    """`value` on one line and at most `limit` characters: values may come from clients
    and upstreams, and a newline in one would forge the next log line."""
    if len(value) > limit:
        value = value[:limit] + f"…(+{len(value) - limit})"
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)


def _clock() -> str:
    return time.strftime("%H:%M:%S")


def _status_style(status: int) -> str | None:
    if status >= 500:
        return "red"
    if status >= 400:
        return "yellow"
    return None
