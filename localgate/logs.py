"""Where the daemon's log goes: stderr and a rotating file, as text or JSON lines.

Records are queued on the event loop (no syscall on the request path) and
written in batches by one background thread. `stop()` drains the queue, so
nothing is lost at shutdown, whether stderr is a terminal, a pipe or a file.
A record made once per request can be queued unmade (`DaemonLog.defer`): the
writer thread makes it, its text included, in the same order as the rest.

Every record may carry `request_id` and `fields` (extra=…: a dict, or a
function making one when the line is written); the text form shows the
request id, the JSON form every field.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import orjson

from localgate import sharing
from localgate.files import identity

LOG_FORMATS = ("text", "json")
MAX_LOG_BYTES = 5 * 1024 * 1024  # one log file, before it rotates
LOG_BACKUPS = 3  # localgate.log.1 … .3 are kept
BATCH_WAIT = 0.05  # seconds a batch of lines gathers before the writer writes it
_COLORS = {"red": "31", "yellow": "33", "green": "32", "dim": "2"}


class TextFormatter(logging.Formatter):
    """`HH:MM:SS [LEVEL] req_… message`; the level only when it is not INFO."""

    def __init__(self, *, dated: bool, color: bool = False):
        super().__init__()
        self.datefmt = "%Y-%m-%d %H:%M:%S" if dated else "%H:%M:%S"
        self.color = color
        self._stamped: tuple[int, str] = (-1, "")  # a second, and its stamp

    def stamp(self, created: float) -> str:
        """The time a line starts with; made once per second, not once per line
        (localtime and strftime were half of what formatting a line cost)."""
        second, stamp = self._stamped
        if int(created) != second:
            second = int(created)
            stamp = time.strftime(self.datefmt, time.localtime(second))
            self._stamped = (second, stamp)  # one assignment: no thread sees half of it
        return stamp

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.stamp(record.created)} {_once(record, _TEXT, self._text)}"
        style = getattr(record, "style", None)
        if self.color and style in _COLORS:
            line = f"\x1b[{_COLORS[style]}m{line}\x1b[0m"
        return line

    def _text(self, record: logging.LogRecord) -> str:
        """The line after its time: the same for the file and the console."""
        parts = []
        if record.levelno != logging.INFO:
            parts.append(record.levelname)
        request_id = getattr(record, "request_id", None)
        if request_id:
            parts.append(request_id)
        parts.append(record.getMessage())
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, fields."""

    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str, str] = (-1, "", "")  # a second, its time, its UTC offset

    def format(self, record: logging.LogRecord) -> str:
        return _once(record, _JSON, self._json)

    def _json(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.stamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None) or {}
        entry.update(fields() if callable(fields) else fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        try:
            # A tenth of json.dumps's time: a request's line cost ~6 µs to write, twice.
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # what orjson refuses (an integer past 64 bits, a lone surrogate)
            return json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":"))

    def stamp(self, created: float) -> str:
        """ISO 8601, to the millisecond, with the local UTC offset, as datetime writes
        it; what only changes with the second is made once a second (made each line,
        it cost ~2.6 µs)."""
        fraction, whole = math.modf(created)
        second, micro = int(whole), round(fraction * 1e6)  # as datetime rounds it
        if micro >= 1_000_000:
            second, micro = second + 1, micro - 1_000_000
        made, clock, offset = self._second
        if second != made:
            from datetime import datetime

            local = datetime.fromtimestamp(second).astimezone()
            clock, offset = local.strftime("%Y-%m-%dT%H:%M:%S"), local.isoformat()[19:]
            self._second = (second, clock, offset)  # one assignment: no thread sees half of it
        return f"{clock}.{micro // 1000:03d}{offset}"


# A record's text, or JSON, as the first of the daemon's handlers (file, console)
# formatted it: the second only puts its own time (or colour) around it.
_TEXT, _JSON = "_localgate_text", "_localgate_json"


def _once(record: logging.LogRecord, key: str, make) -> str:
    made = record.__dict__.get(key)
    if made is None:
        made = record.__dict__[key] = make(record)
    return made


class PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files are 0600, whatever the umask, and which
    counts what it wrote instead of asking the file (no stat, seek or second
    formatting per line) and leaves flushing to the writer, once per batch."""

    _size = 0
    _retired = None  # the stream `reopen` replaced, closed by the writer thread

    def reopen(self) -> None:
        """Write to a new file at the path from now on (the open one was deleted).

        Called off the writer thread, so the old stream is swapped out, not
        closed: the writer may be writing to it this moment; it closes it itself.
        """
        self._retired, self.stream = self.stream, self._open()

    def opened(self) -> tuple[int, int] | None:
        """Which file the handler writes to; None when it cannot tell (mid-rotation)."""
        try:
            return identity(self.stream.fileno())
        except (AttributeError, OSError, ValueError):
            return None

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(fd).st_size
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._retired is not None:
                retired, self._retired = self._retired, None
                retired.close()
            line = self.format(record) + self.terminator
            if self.stream is None:
                self.stream = self._open()
            # Characters, not bytes: near enough to rotate at about maxBytes.
            if self._size and self._size + len(line) >= self.maxBytes:
                self.doRollover()  # closes, renames, and opens anew (which counts 0)
            self.stream.write(line)
            self._size += len(line)
        except Exception:
            self.handleError(record)


class BatchStream(logging.StreamHandler):
    """A StreamHandler that writes the lines of a chunk at once, when the writer
    flushes: sys.stderr writes through (no buffer), so each line written alone
    was a write(2) of its own, once per request."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            self.stream.write("".join(lines))
        super().flush()


class DaemonLog:
    """The daemon's logging, set up by `start` and drained by `stop`."""

    def __init__(self, log_file: Path | None, *, fmt: str = "text", stderr: bool = True):
        handlers: list[logging.Handler] = []
        if stderr:
            console = BatchStream(sys.stderr)
            # Lines the daemon also printed to stdout go to the file only.
            console.addFilter(lambda record: getattr(record, "console", True))
            console.setFormatter(
                JsonFormatter()
                if fmt == "json"
                else TextFormatter(dated=False, color=_isatty(sys.stderr))
            )
            handlers.append(console)
        if log_file is not None:
            from localgate.files import private_dir

            private_dir(Path(log_file).parent)
            file = PrivateRotatingFile(
                log_file, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
            )
            file.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(dated=True))
            handlers.append(file)
        self.file = file if log_file is not None else None  # the log file's handler
        self._handoff = _Handoff(handlers)
        self._handlers = handlers

    def start(self) -> DaemonLog:
        """Route the root logger through the writer thread; quiet aiohttp's access log."""
        root = logging.getLogger()
        root.handlers[:] = [self._handoff]
        root.setLevel(logging.INFO)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        self._handoff.thread.start()
        return self

    def defer(self, make: Callable[[], logging.LogRecord]) -> None:
        """Queue a record that the writer thread makes (`make()`) and writes in turn.

        For the request log, checked against its logger's level when queued; it
        goes to the daemon's handlers as a record propagated to the root would.
        """
        self._handoff.defer(make)

    def stop(self) -> None:
        """Write out everything queued, then close the handlers."""
        self._handoff.stop()  # writes what is queued before it returns
        logging.getLogger().removeHandler(self._handoff)
        for handler in self._handlers:
            handler.flush()
            handler.close()


class _Handoff(logging.Handler):
    """Hands records to one writer thread, which writes them in batches.

    On the event loop a record is only appended to a deque (no lock, no
    syscall); the thread is woken by the first record of a batch, lets the batch
    gather for BATCH_WAIT, then makes the deferred records, formats and writes
    them `sharing.STRETCH` lines at a time, one flush per handler and chunk, and
    steps aside after each chunk unless the loop is saturated
    (`sharing.yield_core`). One wake-up per batch instead of one per line keeps
    the writer from contending with the loop for the GIL on every request; the
    yields keep a request that arrives meanwhile from waiting for the whole batch.
    """

    def __init__(self, handlers: list[logging.Handler]):
        super().__init__()
        self.handlers = handlers
        # Records, and functions making one (`defer`), in the order they came.
        self.records: deque[logging.LogRecord | Callable[[], logging.LogRecord]] = deque()
        self.wake = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="localgate-log", daemon=True)

    def handle(self, record: logging.LogRecord) -> bool:
        self.defer(record)  # no filters: the daemon's handlers have their own
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.handle(record)

    def defer(self, item: logging.LogRecord | Callable[[], logging.LogRecord]) -> None:
        """Queue a record, or a function making one. No lock: deque.append is atomic."""
        self.records.append(item)
        if not self.wake.is_set():
            self.wake.set()

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()
        if self.thread.is_alive():
            self.thread.join()
        self._write()  # a thread never started (or records after it ended)

    def _run(self) -> None:
        while not self.stopping:
            self.wake.wait()
            if not self.stopping:
                time.sleep(BATCH_WAIT)
            self.wake.clear()
            self._write()
        self._write()

    def _write(self) -> None:
        records = self.records
        while records:
            chunk = [records.popleft() for _ in range(min(len(records), sharing.STRETCH))]
            chunk = [record for record in map(self._made, chunk) if record is not None]
            for handler in self.handlers:
                for record in chunk:
                    if handler.filter(record):
                        handler.emit(record)
                try:
                    handler.flush()
                except Exception:  # a closed or broken stream: the records are lost
                    pass
            # Without it a request came about 1 ms late every batch (round six: c=1,
            # the loop and this thread on one core).
            sharing.yield_core()

    def _made(self, item) -> logging.LogRecord | None:
        """`item` itself, or the record the function `item` makes; None (reported as
        logging reports a handler's error) when making it failed."""
        if isinstance(item, logging.LogRecord):
            return item
        try:
            return item()
        except Exception:
            self.handleError(logging.makeLogRecord({"msg": f"making a log record: {item!r}"}))
            return None


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
