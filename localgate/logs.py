"""Where the daemon's log goes: stderr and a rotating file, as text or JSON lines.

Records are queued on the event loop (no syscall on the request path) and
written by one background thread (`logging.handlers.QueueListener`). `stop()`
drains the queue, so nothing is lost at shutdown, whether stderr is a
terminal, a pipe or a file.

Every record may carry `request_id` and `fields` (extra=…); the text form
shows the request id, the JSON form every field.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import queue
import sys
import time
from pathlib import Path

LOG_FORMATS = ("text", "json")
MAX_LOG_BYTES = 5 * 1024 * 1024  # one log file, before it rotates
LOG_BACKUPS = 3  # localgate.log.1 … .3 are kept
_COLORS = {"red": "31", "yellow": "33", "green": "32", "dim": "2"}


class TextFormatter(logging.Formatter):
    """`HH:MM:SS [LEVEL] req_… message`; the level only when it is not INFO."""

    def __init__(self, *, dated: bool, color: bool = False):
        super().__init__()
        self.datefmt = "%Y-%m-%d %H:%M:%S" if dated else "%H:%M:%S"
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        parts = [time.strftime(self.datefmt, time.localtime(record.created))]
        if record.levelno != logging.INFO:
            parts.append(record.levelname)
        request_id = getattr(record, "request_id", None)
        if request_id:
            parts.append(request_id)
        parts.append(record.getMessage())
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        style = getattr(record, "style", None)
        if self.color and style in _COLORS:
            line = f"\x1b[{_COLORS[style]}m{line}\x1b[0m"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": _iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files are 0600, whatever the umask."""

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


class DaemonLog:
    """The daemon's logging, set up by `start` and drained by `stop`."""

    def __init__(self, log_file: Path | None, *, fmt: str = "text", stderr: bool = True):
        handlers: list[logging.Handler] = []
        if stderr:
            console = logging.StreamHandler(sys.stderr)
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
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._listener = logging.handlers.QueueListener(
            self._queue, *handlers, respect_handler_level=False
        )
        self._handler = _Handoff(self._queue)
        self._handlers = handlers

    def start(self) -> DaemonLog:
        """Route the root logger through the queue; quiet aiohttp's access log."""
        root = logging.getLogger()
        root.handlers[:] = [self._handler]
        root.setLevel(logging.INFO)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        self._listener.start()
        return self

    def stop(self) -> None:
        """Write out everything queued, then close the handlers."""
        self._listener.stop()  # processes what is queued before it returns
        logging.getLogger().removeHandler(self._handler)
        for handler in self._handlers:
            handler.flush()
            handler.close()


class _Handoff(logging.handlers.QueueHandler):
    """Hands records to the writer thread as they are: QueueHandler.prepare would
    format and copy each one on the event loop (it is meant for queues between
    processes); the formatters run on the writer thread instead."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


def _iso(epoch: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="milliseconds")


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
